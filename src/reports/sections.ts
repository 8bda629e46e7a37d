import { KIND_IDS, KINDS } from '../../devices/index.ts'
import type { CountsReport, KindDefinition, Text } from '../../devices/types.ts'
import type { Device } from '../core/bus.ts'
import type { KindSection } from './model.ts'

/**
 * The report sections the kinds declare (`report` in devices/<kind>.ts) that are alert counts per
 * device — the manholes' opened / loose / water high / water rising, or for a kind that declares none,
 * each of its alerts but offline and low battery — built and rendered the same way for every kind.
 * Kinds with a named section (the lift ranking, fire passages, parking) are written by build.ts.
 */

/** The named sections build.ts writes, which a kind may choose (`report: { section }`). */
export const NAMED_SECTIONS = ['lifts', 'fire_passages', 'parking'] as const

/** A kind's counts section, declared or derived; undefined when it has a named section. */
export function countsReportOf(def: KindDefinition): CountsReport | undefined {
  if (def.report) return 'section' in def.report ? undefined : def.report
  const counts = Object.entries(def.alerts)
    .filter(([type]) => type !== 'offline' && type !== 'low_battery')
    .map(([alert, a]) => ({ alert, header: a.title }))
  return { title: def.names, device: def.names, counts }
}

/** The raises of the period, one row per alert: type, device and (for sightings) its occurrences. */
export interface RaisedAlert {
  type: string
  device_id: string | null
  occurrences?: number
}

/** Every counts section of a kind: its `report` (declared or derived) and its `extraReports`. */
export function countsReportsOf(def: KindDefinition): CountsReport[] {
  const main = countsReportOf(def)
  return [...(main ? [main] : []), ...(def.extraReports ?? [])]
}

export function kindSections(
  devices: Device[],
  byDevice: (id: string) => RaisedAlert[],
  kinds: Record<string, KindDefinition> = KINDS,
  ids: readonly string[] = KIND_IDS,
  siteName: (id: string) => string = (id) => id,
): KindSection[] {
  const out: KindSection[] = []
  for (const kind of ids) {
    const all = devices.filter((d) => d.kind === kind)
    // A kind the scope has no device of has nothing to say (an estate without hydrants gets no hydrant table).
    if (all.length === 0) continue
    for (const spec of countsReportsOf(kinds[kind]!)) out.push(section(kind, spec, all, byDevice, siteName))
  }
  return out
}

/** One counts section: a row per device, or per building (`by: 'building'`), with at least one count. */
function section(
  kind: string,
  spec: CountsReport,
  all: Device[],
  byDevice: (id: string) => RaisedAlert[],
  siteName: (id: string) => string,
): KindSection {
  const rank = spec.rankBy ?? spec.counts.map((c) => c.alert)
  const groups = new Map<string, { first: Device; building: string | undefined; members: Device[] }>()
  for (const d of all) {
    const building = spec.by === 'building' ? (d.building ?? undefined) : undefined
    const key = building ?? d.id
    const g = groups.get(key)
    if (g) g.members.push(d)
    else groups.set(key, { first: d, building, members: [d] })
  }
  const rows: KindSection['rows'] = []
  for (const [key, g] of groups) {
    const mine = g.members.flatMap((d) => byDevice(d.id))
    const counts: Record<string, number> = {}
    for (const c of spec.counts) {
      let n = 0
      for (const r of mine)
        if (r.type === `${kind}.${c.alert}`) n += spec.occurrences ? (r.occurrences ?? 1) : 1
      counts[c.alert] = n
    }
    if (!Object.values(counts).some((n) => n > 0)) continue
    const d = g.first
    rows.push({
      device_id: key,
      name: g.building ? siteName(g.building) : (d.name ?? d.id),
      estate: d.estate,
      location: g.building ? null : (d.location ?? null),
      counts,
    })
  }
  const score = (r: (typeof rows)[number]) => rank.reduce((s, k) => s + (r.counts[k] ?? 0), 0)
  rows.sort((a, b) => score(b) - score(a))
  return {
    kind,
    id: spec.id ?? kind,
    title: spec.title as Text,
    device: spec.device as Text,
    columns: spec.counts.map((c) => ({ key: c.alert, header: c.header as Text })),
    rows,
    total: groups.size,
  }
}
