import { KIND_IDS, KINDS, type KindId } from '../../devices/index.ts'
import type { FieldSpec, Fields } from '../../devices/types.ts'
import type { Alert, AuditEntry } from '../alerts/types.ts'
import type { Device, DeviceEvent, Reading } from '../core/bus.ts'

/**
 * The InfluxDB schema, derived from the device definitions (devices/<kind>.ts), never restated:
 *   <kind>            tags street, community, estate, building, device_id (+ string params, e.g. zone)
 *                     fields = the kind's telemetry (bool→boolean, int→integer, float→float, enum/string→string), seq
 *   <kind>_event      same tags + type; fields = the event's data + count=1i
 *   availability      same tags + kind; field online (boolean)
 *   alert_event       tags kind, type, severity, street, community, estate, building, device_id;
 *                     fields alert_id, action, actor, channel, occurrences, note, ack_s, resolve_s
 * Timestamps are nanoseconds: the reading's millisecond plus a sub-millisecond part taken from the
 * receive clock, made strictly increasing per series, so two readings of one device never collapse
 * into one point and a replay writes the very same point again (idempotent).
 */

export type FieldType = 'boolean' | 'integer' | 'float' | 'string'

/** One journal record, as written to disk and shipped. */
export interface PointRecord {
  /** measurement */
  m: string
  /** tags (absent tags are left out) */
  t: Record<string, string>
  /** fields */
  f: Record<string, unknown>
  /** nanoseconds since the epoch, as a decimal string (beyond 2^53) */
  ts: string
}

export const MEASUREMENT = {
  availability: 'availability',
  alert: 'alert_event',
  event: (kind: string) => `${kind}_event`,
} as const

export const ALERT_FIELDS: Record<string, FieldType> = {
  alert_id: 'string',
  action: 'string',
  actor: 'string',
  channel: 'string',
  occurrences: 'integer',
  note: 'string',
  ack_s: 'float',
  resolve_s: 'float',
}

function fieldType(spec: FieldSpec): FieldType {
  switch (spec.type) {
    case 'bool':
      return 'boolean'
    case 'int':
      return 'integer'
    case 'float':
      return 'float'
    default:
      return 'string'
  }
}

function typesOf(fields: Fields): Record<string, FieldType> {
  return Object.fromEntries(Object.entries(fields).map(([name, spec]) => [name, fieldType(spec)]))
}

/** Field types of every measurement the hub writes. */
export const FIELD_TYPES: Record<string, Record<string, FieldType>> = (() => {
  const out: Record<string, Record<string, FieldType>> = {
    [MEASUREMENT.availability]: { online: 'boolean' },
    [MEASUREMENT.alert]: ALERT_FIELDS,
  }
  for (const kind of KIND_IDS) {
    const def = KINDS[kind]
    out[kind] = { ...typesOf(def.state), seq: 'integer' }
    const eventFields: Record<string, FieldType> = { count: 'integer', seq: 'integer' }
    for (const spec of Object.values(def.events) as { data: Fields }[])
      Object.assign(eventFields, typesOf(spec.data))
    out[MEASUREMENT.event(kind)] = eventFields
  }
  return out
})()

/** Device params of a string type (e.g. a parking bay's zone) are grouping keys: they become tags. */
export const PARAM_TAGS: Record<KindId, string[]> = Object.fromEntries(
  KIND_IDS.map((kind) => [
    kind,
    Object.entries(KINDS[kind].params as Fields)
      .filter(([, spec]) => spec.type === 'string' || spec.type === 'enum')
      .map(([name]) => name),
  ]),
) as Record<KindId, string[]>

export const SITE_TAGS = ['street', 'community', 'estate', 'building', 'device_id'] as const

export interface TimestampPolicy {
  /** A device clock further ahead of the receive time than this is not trusted (ms). */
  maxFutureMs: number
  /** …nor one further behind (ms). */
  maxPastMs: number
}

/** Maps bus events to point records; holds the per-series tie-break state. */
export class PointMapper {
  private readonly last = new Map<string, { ms: number; sub: number }>()

  constructor(
    private readonly policy: TimestampPolicy,
    private readonly subMs: () => number = hrSubMillisecond,
  ) {}

  reading(r: Reading): PointRecord {
    const f: Record<string, unknown> = { ...r.values }
    if (r.seq !== undefined) f.seq = r.seq
    return this.point(r.device.kind, deviceTags(r.device), f, this.trusted(r.ts, r.receivedAt))
  }

  deviceEvent(e: DeviceEvent): PointRecord {
    const t = { ...deviceTags(e.device), type: e.type }
    return this.point(
      MEASUREMENT.event(e.device.kind),
      t,
      { ...e.data, count: 1 },
      this.trusted(e.ts, e.receivedAt),
    )
  }

  availability(device: Device, online: boolean, at: number): PointRecord {
    return this.point(MEASUREMENT.availability, { ...deviceTags(device), kind: device.kind }, { online }, at)
  }

  alert(alert: Alert, entry: AuditEntry): PointRecord {
    const t: Record<string, string> = { kind: alert.kind, type: alert.type, severity: alert.severity }
    for (const key of ['street', 'community', 'estate', 'building', 'device_id'] as const) {
      const value = alert[key]
      if (value) t[key] = value
    }
    const f: Record<string, unknown> = {
      alert_id: alert.id,
      action: entry.action,
      actor: entry.actor,
      channel: entry.channel,
      occurrences: alert.occurrences,
    }
    if (entry.note) f.note = entry.note
    if (entry.action === 'acknowledged') f.ack_s = Math.max(0, (entry.at - alert.first_at) / 1000)
    if (entry.action === 'resolved') f.resolve_s = Math.max(0, (entry.at - alert.first_at) / 1000)
    return this.point(MEASUREMENT.alert, t, f, entry.at)
  }

  private trusted(ts: number, receivedAt: number): number {
    if (ts > receivedAt + this.policy.maxFutureMs || ts < receivedAt - this.policy.maxPastMs)
      return receivedAt
    return ts
  }

  private point(m: string, t: Record<string, string>, f: Record<string, unknown>, ms: number): PointRecord {
    const series = `${m}\u0000${t.device_id ?? ''}\u0000${t.type ?? ''}`
    let sub = this.subMs()
    const prev = this.last.get(series)
    if (prev && prev.ms === ms && sub <= prev.sub) sub = prev.sub + 1
    if (sub > 999_999) sub = 999_999 // a million points of one series in one ms: cannot happen from MQTT
    this.last.set(series, { ms, sub })
    if (this.last.size > 1_000_000) this.last.clear()
    return { m, t, f, ts: `${Math.trunc(ms)}${String(sub).padStart(6, '0')}` }
  }
}

export function deviceTags(device: Device): Record<string, string> {
  const t: Record<string, string> = {}
  const { street, community, estate, building } = device.site
  if (street) t.street = street
  if (community) t.community = community
  t.estate = estate
  if (building) t.building = building
  t.device_id = device.id
  for (const name of PARAM_TAGS[device.kind] ?? []) {
    const value = device.params[name]
    if (typeof value === 'string' && value !== '') t[name] = value
  }
  return t
}

/** The sub-millisecond part of a monotonic clock: arbitrary but stable in the journal, hence on replay. */
function hrSubMillisecond(): number {
  return Number(process.hrtime.bigint() % 1_000_000n)
}

/** The fields of a record with their schema types; values that do not fit their type are left out. */
export function typedFields(
  p: PointRecord,
): [name: string, type: FieldType, value: boolean | number | string][] {
  const types = FIELD_TYPES[p.m] ?? {}
  const out: [string, FieldType, boolean | number | string][] = []
  for (const [name, value] of Object.entries(p.f)) {
    if (value === null || value === undefined) continue
    const type =
      types[name] ?? (typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? 'float' : 'string')
    if (type === 'boolean') out.push([name, type, Boolean(value)])
    else if (type === 'integer' || type === 'float') {
      if (typeof value === 'number' && Number.isFinite(value))
        out.push([name, type, type === 'integer' ? Math.trunc(value) : value])
    } else out.push([name, type, String(value).replace(/[\r\n]+/g, ' ')])
  }
  return out
}
