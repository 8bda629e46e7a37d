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
 * Timestamps are nanoseconds: the reading's millisecond (the device's `ts` when ingest trusted it,
 * else the receive time) plus a sub-millisecond part. A replay of the journal writes the very same
 * point again (idempotent), and so does a device's resend of a reading the hub already journalled
 * (MQTT DUP after a hub crash before the PUBACK):
 *   - with the device's `ts`: the sub-millisecond part is `seq mod 10^6`, or without `seq` a hash of
 *     the values, so the same reading always gets the same timestamp;
 *   - with receive time and a `seq`: the hub remembers, per device and stream (state, or event type),
 *     the last RESEND_PER_STREAM seqs with a hash of their values and the timestamp they got, also
 *     across a restart (restored from the journal tail); the same seq with the same values within
 *     RESEND_WINDOW_MS gets the remembered timestamp;
 *   - with neither `ts` nor `seq` nothing tells a resend from a new reading: a fresh sub-millisecond
 *     part from the monotonic clock, strictly increasing per series.
 * Two different readings of one device therefore never collapse into one point.
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
  /**
   * Values hash of a reading identified by its `seq` at receive time: lets a restarted hub recognise
   * a device's resend of it (restore()). Not written to InfluxDB.
   */
  h?: number
  /** Receive time (epoch ms) of a device's reading, event or availability: the rules replay it from here. */
  a?: number
  /** A device event's data as it arrived (`f` adds count, seq and a default `active`). */
  x?: Record<string, unknown>
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

/** Event types per kind whose data declares a bool `active` (fault begin / end). */
const BEGIN_END: Partial<Record<KindId, Set<string>>> = Object.fromEntries(
  KIND_IDS.map((kind) => [
    kind,
    new Set(
      Object.entries(KINDS[kind].events as Record<string, { data: Fields }>)
        .filter(([, spec]) => spec.data.active?.type === 'bool')
        .map(([type]) => type),
    ),
  ]),
)

export const SITE_TAGS = ['street', 'community', 'estate', 'building', 'device_id'] as const

/** A resend is recognised this long after the original (a crashed hub restarting, devices reconnecting). */
export const RESEND_WINDOW_MS = 15 * 60_000
/** Seqs remembered per device stream: far more than the QoS 1 messages a device has in flight. */
export const RESEND_PER_STREAM = 128

/**
 * The last (seq, values hash, ms, sub-ms) of one device stream, flat. It starts small and grows (up
 * to RESEND_PER_STREAM) only while the entry it would overwrite is younger than RESEND_WINDOW_MS, so
 * a device reporting every 30 s keeps ~32 entries (1 KiB), a busy one at most 4 KiB.
 */
class SeqRing {
  private slots = new Float64Array(8 * 4)
  private next = 0
  private size = 0
  /** Highest seq ever added: counters mostly rise, so a new reading skips the scan. */
  private maxSeq = -1

  private get capacity(): number {
    return this.slots.length / 4
  }

  add(seq: number, h: number, ms: number, sub: number): void {
    if (this.size === this.capacity && this.capacity < RESEND_PER_STREAM) {
      const oldestMs = this.slots[this.next * 4 + 2]!
      if (ms - oldestMs <= RESEND_WINDOW_MS) this.grow()
    }
    if (seq > this.maxSeq) this.maxSeq = seq
    const i = this.next * 4
    this.slots[i] = seq
    this.slots[i + 1] = h
    this.slots[i + 2] = ms
    this.slots[i + 3] = sub
    this.next = (this.next + 1) % this.capacity
    this.size = Math.min(this.size + 1, this.capacity)
  }

  /** Every entry, oldest first. */
  *entries(): Iterable<[seq: number, h: number, ms: number, sub: number]> {
    const cap = this.capacity
    for (let k = this.size; k >= 1; k--) {
      const i = ((this.next - k + cap) % cap) * 4
      yield [this.slots[i]!, this.slots[i + 1]!, this.slots[i + 2]!, this.slots[i + 3]!]
    }
  }

  /** The newest entry of `seq`. */
  find(seq: number): { h: number; ms: number; sub: number } | undefined {
    if (seq > this.maxSeq) return undefined
    const cap = this.capacity
    for (let k = 1; k <= this.size; k++) {
      const i = ((this.next - k + cap) % cap) * 4
      if (this.slots[i] === seq)
        return { h: this.slots[i + 1]!, ms: this.slots[i + 2]!, sub: this.slots[i + 3]! }
    }
    return undefined
  }

  /** Double, oldest entry first. */
  private grow(): void {
    const cap = this.capacity
    const bigger = new Float64Array(Math.min(cap * 2, RESEND_PER_STREAM) * 4)
    for (let k = 0; k < this.size; k++)
      bigger.set(this.slots.subarray(((this.next + k) % cap) * 4, ((this.next + k) % cap) * 4 + 4), k * 4)
    this.slots = bigger
    this.next = this.size
  }
}

/** One remembered seq: stream key, seq, values hash, millisecond and sub-millisecond of its point. */
export type RememberedSeq = [key: string, seq: number, h: number, ms: number, sub: number]

/** Per device, derived once (a device's settings change → the registry hands out a new object). */
interface DeviceSeries {
  tags: Record<string, string>
  /** The start of its readings' journal line: `{"m":"<kind>","t":{…}` */
  head: string
  /** Series / stream key of its readings. */
  key: string
}

/** Maps bus events to point records; holds the per-series tie-break and the resend memory. */
export class PointMapper {
  private readonly last = new Map<string, { ms: number; sub: number }>()
  private readonly seen = new Map<string, SeqRing>()
  private readonly devices = new WeakMap<Device, DeviceSeries>()
  /** The millisecond and sub-millisecond part next() gave last (no tuple allocated per reading). */
  private givenMs = 0
  private givenSub = 0
  /** The values hash stampOf() used last (undefined: that point is not seq-identified). */
  private givenHash: number | undefined

  constructor(private readonly subMs: () => number = hrSubMillisecond) {}

  /**
   * The journal line (a PointRecord as JSON) of a reading, written without building the record as an
   * object first: this runs for every message the hub takes in (the benchmark's profile). Timestamps
   * come from ingest: the device's `ts` inside the configured window, else receive time.
   */
  readingLine(r: Reading): string {
    const d = this.series(r.device)
    const values = JSON.stringify(r.values)
    const f =
      r.seq === undefined
        ? values
        : values === '{}'
          ? `{"seq":${r.seq}}`
          : `${values.slice(0, -1)},"seq":${r.seq}}`
    const ts = this.stampOf(d.key, r.values, r.ts, r.ownTs ?? r.ts !== r.receivedAt, r.receivedAt, r.seq)
    const h = this.givenHash
    return `${d.head},"f":${f},"ts":"${ts}"${h === undefined ? '' : `,"h":${h}`},"a":${r.receivedAt}}`
  }

  deviceEvent(e: DeviceEvent): PointRecord {
    const t = { ...this.series(e.device).tags, type: e.type }
    const f: Record<string, unknown> = { ...e.data, count: 1 }
    if (e.seq !== undefined) f.seq = e.seq
    // A begin/end event (it declares a bool `active`) sent without `active` is a begin, as the kind's
    // foldEvent reads it (GB/T 24476-2017 §11): written out, so queries can count begins.
    if (f.active === undefined && BEGIN_END[e.device.kind]?.has(e.type)) f.active = true
    const m = MEASUREMENT.event(e.device.kind)
    const own = e.ownTs ?? e.ts !== e.receivedAt
    const ts = this.stampOf(streamKey(m, t), e.data, e.ts, own, e.receivedAt, e.seq)
    const h = this.givenHash
    const p: PointRecord = { m, t, f, ts, a: e.receivedAt, x: e.data }
    if (h !== undefined) p.h = h
    return p
  }

  availability(device: Device, online: boolean, at: number): PointRecord {
    const t = { ...this.series(device).tags, kind: device.kind }
    return {
      m: MEASUREMENT.availability,
      t,
      f: { online },
      ts: this.next(streamKey(MEASUREMENT.availability, t), at),
      a: at,
    }
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
    return { m: MEASUREMENT.alert, t, f, ts: this.next(streamKey(MEASUREMENT.alert, t), entry.at) }
  }

  /**
   * Remember the seq-identified readings of the previous run (journal records, oldest first), so a
   * device resending one after a crash maps to the point already written.
   */
  restore(lines: Iterable<string>, now = Date.now()): number {
    let restored = 0
    for (const line of lines) {
      let p: PointRecord
      try {
        p = JSON.parse(line) as PointRecord
      } catch {
        continue
      }
      const seq = p.f?.seq
      if (typeof p.h !== 'number' || typeof seq !== 'number' || typeof p.ts !== 'string') continue
      const ms = Number(p.ts.slice(0, -6))
      const sub = Number(p.ts.slice(-6))
      if (!(now - ms <= RESEND_WINDOW_MS) || !Number.isFinite(sub)) continue
      this.remember(streamKey(p.m, p.t), seq, p.h, ms, sub)
      restored++
    }
    return restored
  }

  /**
   * The resend memory still inside RESEND_WINDOW_MS, oldest first per stream: written to disk at start
   * so that what was restored from a crashed run survives the next crash too (its segments may be
   * shipped and deleted by then).
   */
  remembered(now = Date.now()): RememberedSeq[] {
    const out: RememberedSeq[] = []
    for (const [key, ring] of this.seen)
      for (const [seq, h, ms, sub] of ring.entries())
        if (now - ms <= RESEND_WINDOW_MS) out.push([key, seq, h, ms, sub])
    return out
  }

  /** Take back what remembered() gave (entries outside the window are skipped); returns how many. */
  restoreRemembered(entries: unknown, now = Date.now()): number {
    if (!Array.isArray(entries)) return 0
    let restored = 0
    for (const e of entries) {
      if (!Array.isArray(e) || e.length !== 5 || typeof e[0] !== 'string') continue
      const [key, seq, h, ms, sub] = e as RememberedSeq
      if (![seq, h, ms, sub].every(Number.isFinite) || !(now - ms <= RESEND_WINDOW_MS)) continue
      this.remember(key, seq, h, ms, sub)
      restored++
    }
    return restored
  }

  private series(device: Device): DeviceSeries {
    let d = this.devices.get(device)
    if (!d) {
      const tags = deviceTags(device)
      d = {
        tags,
        head: `{"m":${JSON.stringify(device.kind)},"t":${JSON.stringify(tags)}`,
        key: streamKey(device.kind, tags),
      }
      this.devices.set(device, d)
    }
    return d
  }

  /** The timestamp of a reading or event; sets givenHash. */
  private stampOf(
    key: string,
    values: Record<string, unknown>,
    ms: number,
    ownTs: boolean,
    receivedAt: number,
    seq: number | undefined,
  ): string {
    this.givenHash = undefined
    if (ownTs) {
      // The device's clock: the reading carries its own identity.
      return stamp(ms, seq !== undefined ? seq % 1_000_000 : hashValues(values) % 1_000_000)
    }
    if (seq === undefined) return this.next(key, ms)
    const h = hashValues(values)
    this.givenHash = h
    const before = this.seen.get(key)?.find(seq)
    if (before && before.h === h && receivedAt - before.ms <= RESEND_WINDOW_MS && receivedAt >= before.ms) {
      return stamp(before.ms, before.sub)
    }
    const ts = this.next(key, ms)
    // The stamp next() gave, which may have carried into the next millisecond.
    this.remember(key, seq, h, this.givenMs, this.givenSub)
    return ts
  }

  private remember(key: string, seq: number, h: number, ms: number, sub: number): void {
    let stream = this.seen.get(key)
    if (!stream) {
      if (this.seen.size >= 100_000) this.seen.clear() // bounded memory: at worst a resend is not recognised
      stream = new SeqRing()
      this.seen.set(key, stream)
    }
    stream.add(seq, h, ms, sub)
  }

  /** A fresh timestamp in millisecond `ms`, strictly after the series' previous one; sets givenMs/givenSub. */
  private next(series: string, ms: number): string {
    let sub = this.subMs()
    const prev = this.last.get(series)
    // The sub-millisecond part starts anywhere in the millisecond (the high-resolution clock), so a
    // few readings in one millisecond can run past its end: they carry into the next millisecond
    // rather than collapse into one point.
    if (prev && (ms < prev.ms || (ms === prev.ms && sub <= prev.sub))) {
      ms = prev.ms
      sub = prev.sub + 1
      if (sub > 999_999) {
        ms += 1
        sub = 0
      }
    }
    if (prev) {
      prev.ms = ms
      prev.sub = sub
    } else {
      if (this.last.size >= 1_000_000) this.last.clear()
      this.last.set(series, { ms, sub })
    }
    this.givenMs = ms
    this.givenSub = sub
    return stamp(ms, sub)
  }
}

function stamp(ms: number, sub: number): string {
  return `${Math.trunc(ms)}${String(sub).padStart(6, '0')}`
}

function streamKey(m: string, t: Record<string, string>): string {
  return `${m}\u0000${t.device_id ?? ''}\u0000${t.type ?? ''}`
}

const F64 = new Float64Array(1)
const U32 = new Uint32Array(F64.buffer)

/**
 * FNV-1a (32 bit) over the values' keys and values, in order: a resend is byte-identical, so it
 * parses to the same keys and values. Walks the object instead of hashing JSON.stringify of it —
 * this runs for every reading (the benchmark's profile).
 */
function hashValues(values: Record<string, unknown>): number {
  let h = 0x811c9dc5
  for (const key in values) {
    h = hashText(h, key)
    const v = values[key]
    if (typeof v === 'number') {
      F64[0] = v
      h = Math.imul(h ^ U32[0]!, 0x01000193)
      h = Math.imul(h ^ U32[1]!, 0x01000193)
    } else if (typeof v === 'string') h = hashText(h, v)
    else if (typeof v === 'boolean') h = Math.imul(h ^ (v ? 0x9e37 : 0x79b9), 0x01000193)
    else h = hashText(h, JSON.stringify(v) ?? '')
  }
  return h >>> 0
}

function hashText(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h
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
  // performance.now() rather than hrtime.bigint(): no BigInt allocated per reading.
  return Math.min(999_999, Math.floor((performance.now() % 1) * 1_000_000))
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
