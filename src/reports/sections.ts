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

/** The raises of the period, one row per alert: type and device are all a section counts. */
export interface RaisedAlert {
  type: string
  device_id: string | null
}

export function kindSections(
  devices: Device[],
  byDevice: (id: string) => RaisedAlert[],
  kinds: Record<string, KindDefinition> = KINDS,
  ids: readonly string[] = KIND_IDS,
): KindSection[] {
  const out: KindSection[] = []
  for (const kind of ids) {
    const spec = countsReportOf(kinds[kind]!)
    if (!spec) continue
    const all = devices.filter((d) => d.kind === kind)
    // A kind the scope has no device of has nothing to say (an estate without hydrants gets no hydrant table).
    if (all.length === 0) continue
    const rank = spec.rankBy ?? spec.counts.map((c) => c.alert)
    const rows: KindSection['rows'] = []
    for (const d of all) {
      const mine = byDevice(d.id)
      const counts: Record<string, number> = {}
      for (const c of spec.counts)
        counts[c.alert] = mine.filter((r) => r.type === `${kind}.${c.alert}`).length
      if (Object.values(counts).some((n) => n > 0))
        rows.push({
          device_id: d.id,
          name: d.name ?? d.id,
          estate: d.estate,
          location: d.location ?? null,
          counts,
        })
    }
    const score = (r: (typeof rows)[number]) => rank.reduce((s, k) => s + (r.counts[k] ?? 0), 0)
    rows.sort((a, b) => score(b) - score(a))
    out.push({
      kind,
      id: spec.id ?? kind,
      title: spec.title as Text,
      device: spec.device as Text,
      columns: spec.counts.map((c) => ({ key: c.alert, header: c.header as Text })),
      rows,
      total: all.length,
    })
  }
  return out
}
