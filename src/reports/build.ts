import { KIND_IDS, KINDS } from '../../devices/index.ts'
import type { AlertQueries, AlertSummaryRow } from '../alerts/store.ts'
import type { Severity, Text } from '../alerts/types.ts'
import { SEVERITIES } from '../alerts/types.ts'
import type { HistoryConfig } from '../config/env.ts'
import type { EstateFile } from '../config/estate-file.ts'
import type { Device } from '../core/bus.ts'
import { CREW_NAMES, SEVERITY_NAMES } from '../core/vocabulary.ts'
import type { WorkOrderQueries } from '../dispatch/store.ts'
import { timesOf, type WorkOrder } from '../dispatch/types.ts'
import { ZhianError } from '../errors.ts'
import type { Registry } from '../registry/registry.ts'
import { buildCatalog, type Catalog, resolveOverrides } from '../rules/catalog.ts'
import type {
  AlertTypeRow,
  BatteryRow,
  CountRow,
  LiftRow,
  ManholeRow,
  OfflineRow,
  OpenAlertRow,
  OpenWorkOrderRow,
  OverstayRow,
  PassageRow,
  Report,
  ReportNames,
  ResponseRow,
  SlaStat,
  Stat,
} from './model.ts'
import { type Period, resolvePeriod } from './period.ts'
import { kindSections } from './sections.ts'
import { parkingOccupancy } from './telemetry.ts'

/**
 * Builds a report from what the alert store and the work-order store answer (exact counts, their
 * read-only queries) and from InfluxDB for telemetry aggregates. Pure reads: safe from the CLI while
 * a hub runs.
 */

export interface ReportSources {
  alerts: Pick<AlertQueries, 'touching'>
  workOrders: Pick<WorkOrderQueries, 'openedBefore'>
  registry: Registry
  overrides: () => EstateFile['overrides']
  history: HistoryConfig | undefined
  /** Dispatch teams, for their names. */
  teams?: () => { id: string; name: string }[]
  /** Display names of an estate's parking zones (the estate file's `zones`). */
  zoneNames?: (estate: string) => Record<string, string>
  now?: () => number
}

export interface ReportRequest {
  scope: string
  period: string
  tz?: string | undefined
}

type AlertRow = AlertSummaryRow

const KIND_NAMES: Record<string, Text> = {
  ...Object.fromEntries(Object.entries(KINDS).map(([id, k]) => [id, k.names as Text])),
  hub: { zh: '平台', en: 'Hub' },
}
const UNIT_NAMES: Record<Period['unit'], Text> = {
  day: { zh: '日报', en: 'Daily report' },
  week: { zh: '周报', en: 'Weekly report' },
  month: { zh: '月报', en: 'Monthly report' },
  range: { zh: '报表', en: 'Report' },
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!
}

/** The median (mean of the two middle values for an even count). */
export function median(sorted: number[]): number | null {
  const n = sorted.length
  if (n === 0) return null
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2
}

function stat(ms: (number | null)[]): Stat {
  const s = ms.filter((v): v is number => v !== null && v >= 0).sort((a, b) => a - b)
  const sec = (v: number | null) => (v === null ? null : Math.round(v / 100) / 10)
  return { n: s.length, median_s: sec(median(s)), p90_s: sec(percentile(s, 0.9)) }
}

/** A street has thousands of devices: index alert rows by device once per list. */
const indexes = new WeakMap<AlertRow[], Map<string, AlertRow[]>>()
function byDevice(rows: AlertRow[], id: string): AlertRow[] {
  let index = indexes.get(rows)
  if (!index) {
    index = new Map()
    for (const r of rows) {
      if (!r.device_id) continue
      const list = index.get(r.device_id)
      if (list) list.push(r)
      else index.set(r.device_id, [r])
    }
    indexes.set(rows, index)
  }
  return index.get(id) ?? []
}

/** Minutes of [a, b) inside [from, to). */
const overlapMin = (a: number, b: number, from: number, to: number) =>
  Math.max(0, Math.min(b, to) - Math.max(a, from)) / 60_000
const round1 = (v: number) => Math.round(v * 10) / 10

export class ReportBuilder {
  private catalog: Catalog | undefined

  constructor(private readonly src: ReportSources) {}

  private now(): number {
    return (this.src.now ?? Date.now)()
  }

  /** Site check only; who may ask is the caller's (see `authorize` in scope.ts). */
  async build(req: ReportRequest): Promise<Report> {
    const site = this.src.registry.site(req.scope)
    if (!site) throw new ZhianError('ZHIAN_ERR_UNKNOWN_SITE', req.scope)
    const now = this.now()
    const period = resolvePeriod(req.period, now, req.tz)
    const below = this.src.registry.subtree(site.id)
    const estates = this.src.registry
      .sites()
      .filter((s) => s.type === 'estate' && below.has(s.id))
      .map((s) => ({ id: s.id, name: s.name }))
    const devices = this.src.registry
      .list()
      .filter((d) => [d.site.street, d.site.community, d.site.estate, d.site.building].includes(site.id))
    const deviceById = new Map(devices.map((d) => [d.id, d]))
    const nameOf = (id: string | null) => (id ? (deviceById.get(id)?.name ?? id) : '')

    // Every alert that touches the period or the one before, in scope: one read, the rest in memory.
    const rows = this.src.alerts.touching(site.id, period.prevFrom, period.to)
    const inPeriod = rows.filter((r) => r.first_at >= period.from && r.first_at < period.to)
    const raised = inPeriod.filter((r) => r.suppressed === 0)
    const prevRaised = rows.filter(
      (r) => r.suppressed === 0 && r.first_at >= period.prevFrom && r.first_at < period.prevTo,
    )
    const end = Math.min(period.to, now)
    const endOf = (r: AlertRow) => r.cleared_at ?? r.resolved_at ?? end

    // Alerts by type, kind and severity, against the previous period.
    const byType = new Map<string, AlertTypeRow>()
    const typeRow = (r: AlertRow) => {
      let row = byType.get(r.type)
      if (!row) {
        row = {
          type: r.type,
          kind: r.kind,
          severity: r.severity,
          title: JSON.parse(r.title) as Text,
          count: 0,
          occurrences: 0,
          prev: 0,
          change: 0,
          change_pct: null,
        }
        byType.set(r.type, row)
      }
      return row
    }
    for (const r of raised) {
      const row = typeRow(r)
      row.count++
      row.occurrences += r.occurrences
    }
    for (const r of prevRaised) typeRow(r).prev++
    for (const row of byType.values()) {
      row.change = row.count - row.prev
      row.change_pct = row.prev ? Math.round(((row.count - row.prev) / row.prev) * 1000) / 10 : null
    }
    const alertRows = [...byType.values()].sort(
      (a, b) =>
        SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
        b.count - a.count ||
        a.type.localeCompare(b.type),
    )
    const countBy = (key: (r: AlertRow) => string, names: (k: string) => Text, order: string[]) => {
      const out = new Map<string, CountRow>()
      const row = (k: string) => {
        let v = out.get(k)
        if (!v) {
          v = { key: k, name: names(k), count: 0, prev: 0 }
          out.set(k, v)
        }
        return v
      }
      for (const r of raised) row(key(r)).count++
      for (const r of prevRaised) row(key(r)).prev++
      return [...out.values()].sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key))
    }
    const byKind = countBy(
      (r) => r.kind,
      (k) => KIND_NAMES[k] ?? { zh: k, en: k },
      [...Object.keys(KINDS), 'hub'],
    )
    const bySeverity = countBy(
      (r) => r.severity,
      (k) => SEVERITY_NAMES[k as Severity],
      [...SEVERITIES],
    )

    // Work orders opened in the period (response times, SLA), and those open at its end.
    const orders = this.src.workOrders.openedBefore(site.id, period.to)
    const opened = orders.filter((o) => o.opened_at >= period.from && o.opened_at < period.to)
    const response = this.response(opened, raised, end)

    const lifts = this.lifts(devices, raised, nameOf)
    const passages = this.passages(devices, raised, period.from, end, endOf)
    const kinds = kindSections(
      devices,
      (id) => byDevice(raised, id),
      KINDS,
      KIND_IDS,
      (id) => this.src.registry.site(id)?.name ?? id,
    )
    const manholeSection = kinds.find((k) => k.kind === 'manhole')
    const manholes: Report['manholes'] = {
      rows: (manholeSection?.rows ?? []).map(({ counts, ...r }) => ({ ...r, ...counts }) as ManholeRow),
      manholes_total: manholeSection?.total ?? 0,
    }
    const bays = devices.filter((d) => d.kind === 'parking_bay')
    const overstays = this.overstays(bays, rows, period.from, end, endOf)

    // Devices offline longest (offline alerts overlapping the period) and batteries to replace.
    const offline = new Map<string, OfflineRow>()
    for (const r of rows) {
      if (r.type !== `${r.kind}.offline` || !r.device_id || r.suppressed) continue
      const minutes = overlapMin(r.first_at, endOf(r), period.from, end)
      if (minutes <= 0 && !(r.first_at >= period.from && r.first_at < period.to)) continue
      let row = offline.get(r.device_id)
      if (!row) {
        row = {
          device_id: r.device_id,
          name: nameOf(r.device_id),
          kind: r.kind,
          estate: r.estate ?? '',
          episodes: 0,
          offline_minutes: 0,
          still_offline: false,
        }
        offline.set(r.device_id, row)
      }
      row.episodes++
      row.offline_minutes = round1(row.offline_minutes + minutes)
      // As at the period end: a device back online since then was still offline at that time.
      if ((r.cleared_at ?? Infinity) >= period.to && (r.resolved_at ?? Infinity) >= period.to)
        row.still_offline = true
    }
    const batteries: BatteryRow[] = rows
      .filter(
        (r) =>
          r.type === `${r.kind}.low_battery` &&
          r.device_id &&
          !r.suppressed &&
          (r.resolved_at === null || r.resolved_at >= period.to),
      )
      .map((r) => {
        const pct = (JSON.parse(r.vals) as Record<string, unknown>).battery_pct
        return {
          device_id: r.device_id!,
          name: nameOf(r.device_id),
          kind: r.kind,
          estate: r.estate ?? '',
          battery_pct: typeof pct === 'number' ? pct : null,
          since: r.first_at,
        }
      })
      .sort(
        (a, b) =>
          (a.battery_pct ?? 101) - (b.battery_pct ?? 101) ||
          a.since - b.since ||
          a.device_id.localeCompare(b.device_id),
      )

    const openAlerts: OpenAlertRow[] = rows
      .filter(
        (r) =>
          !r.suppressed && r.first_at < period.to && (r.resolved_at === null || r.resolved_at >= period.to),
      )
      .sort(
        (a, b) =>
          SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
          a.first_at - b.first_at ||
          a.id.localeCompare(b.id),
      )
      .map((r) => ({
        id: r.id,
        type: r.type,
        severity: r.severity,
        title: JSON.parse(r.title) as Text,
        device_id: r.device_id,
        device_name: r.device_id ? nameOf(r.device_id) : null,
        estate: r.estate,
        first_at: r.first_at,
        // The status it had at the period end (a later acknowledgement does not count).
        status: r.acknowledged_at !== null && r.acknowledged_at < period.to ? 'acknowledged' : 'active',
      }))
    const openOrders: OpenWorkOrderRow[] = orders
      .filter(
        (o) =>
          (o.resolved_at === null || o.resolved_at >= period.to) &&
          (o.cancelled_at === null || o.cancelled_at >= period.to),
      )
      .map((o) => ({
        id: o.id,
        alert_type: o.alert_type,
        title: o.title,
        team: o.team,
        estate: o.estate,
        // Stage reached by the period end.
        status:
          o.on_site_at !== null && o.on_site_at < period.to
            ? 'on_site'
            : o.accepted_at !== null && o.accepted_at < period.to
              ? 'accepted'
              : 'dispatched',
        opened_at: o.opened_at,
      }))
      .sort((a, b) => a.opened_at - b.opened_at)

    const scopeName = `${site.name}`
    const unit = UNIT_NAMES[period.unit]
    return {
      title: {
        zh: `${scopeName}${unit.zh}(${period.label})`,
        en: `${unit.en}: ${scopeName} (${period.label})`,
      },
      generated_at: now,
      scope: { id: site.id, type: site.type, name: site.name, estates },
      period,
      summary: {
        alerts: raised.length,
        alerts_prev: prevRaised.length,
        critical: raised.filter((r) => r.severity === 'critical').length,
        suppressed: inPeriod.length - raised.length,
        work_orders_opened: opened.length,
        work_orders_resolved: orders.filter(
          (o) => o.resolved_at !== null && o.resolved_at >= period.from && o.resolved_at < period.to,
        ).length,
        open_alerts_at_end: openAlerts.length,
        open_work_orders_at_end: openOrders.length,
        lifts_blacklisted: lifts.rows.filter((l) => l.blacklisted).length,
      },
      alerts: alertRows,
      alerts_by_kind: byKind,
      alerts_by_severity: bySeverity,
      response,
      lifts,
      fire_passages: passages,
      manholes,
      kinds,
      parking: {
        overstays,
        bays_total: bays.length,
        telemetry: await parkingOccupancy(this.src.history, site, bays, period, end),
      },
      devices: {
        offline: [...offline.values()]
          .sort(
            (a, b) =>
              b.offline_minutes - a.offline_minutes ||
              b.episodes - a.episodes ||
              a.device_id.localeCompare(b.device_id),
          )
          .slice(0, 20),
        batteries,
      },
      open_at_end: { alerts: openAlerts, work_orders: openOrders },
      names: this.names(below, estates, [...alertRows, ...openAlerts], new Set(orders.map((o) => o.team))),
    }
  }

  /** Names for every id the rows carry (see `ReportNames`). */
  private names(
    below: Set<string>,
    estates: { id: string }[],
    titled: { type: string; title: Text }[],
    teamIds: Set<string>,
  ): ReportNames {
    const sites = Object.fromEntries(
      this.src.registry
        .sites()
        .filter((s) => below.has(s.id))
        .map((s) => [s.id, s.name]),
    )
    const teams: Record<string, Text> = { ...CREW_NAMES }
    // Only the teams of this scope's work orders: another estate's contractors are not this reader's business.
    for (const t of this.src.teams?.() ?? []) if (teamIds.has(t.id)) teams[t.id] = { zh: t.name, en: t.name }
    const zones = Object.fromEntries(estates.map((e) => [e.id, this.src.zoneNames?.(e.id) ?? {}]))
    this.catalog ??= buildCatalog(KINDS)
    const alerts: Record<string, Text> = {}
    for (const [id, entry] of this.catalog) alerts[id] = entry.def.title
    for (const r of titled) alerts[r.type] ??= r.title
    return { sites, teams, zones, alerts }
  }

  /** Response times as of the period's end: what happens after it does not change its report. */
  private response(opened: WorkOrder[], raised: AlertRow[], end: number): ResponseRow[] {
    const since = (from: number, t: number | null) => (t === null || t > end ? null : t - from)
    const sla = (os: WorkOrder[], stage: 'accept' | 'arrive' | 'resolve'): SlaStat => {
      const at = { accept: 'accepted_at', arrive: 'on_site_at', resolve: 'resolved_at' } as const
      let due = 0
      let met = 0
      for (const o of os) {
        const limit = o.sla[stage]
        if (limit === null) continue
        const reached = o[at[stage]]
        if (reached !== null && reached <= end) {
          due++
          if (reached - o.opened_at <= limit) met++
        } else if ((o.cancelled_at === null || o.cancelled_at > end) && o.opened_at + limit <= end) due++
      }
      return { due, met, attainment: due ? Math.round((met / due) * 1000) / 10 : null }
    }
    const row = (team: string, name: string, os: WorkOrder[]): ResponseRow => {
      const times = os.map((o) => timesOf(o, end))
      return {
        team,
        name,
        orders: os.length,
        acknowledge: stat(times.map((t) => t.to_acknowledge_ms)),
        accept: stat(times.map((t) => t.to_accept_ms)),
        arrive: stat(times.map((t) => t.to_arrive_ms)),
        resolve: stat(times.map((t) => t.to_resolve_ms)),
        sla: { accept: sla(os, 'accept'), arrive: sla(os, 'arrive'), resolve: sla(os, 'resolve') },
      }
    }
    const teams = [...new Set(opened.map((o) => o.team))].sort()
    const names = new Map((this.src.teams?.() ?? []).map((t) => [t.id, t.name]))
    const none: Stat = { n: 0, median_s: null, p90_s: null }
    const noSla: SlaStat = { due: 0, met: 0, attainment: null }
    return [
      ...teams.map((t) =>
        row(
          t,
          names.get(t) ?? t,
          opened.filter((o) => o.team === t),
        ),
      ),
      row('*', '全部工单 / All work orders', opened),
      {
        team: 'alerts',
        name: '全部告警 / All alerts',
        orders: raised.length,
        acknowledge: stat(raised.map((r) => since(r.first_at, r.acknowledged_at))),
        accept: none,
        arrive: none,
        resolve: stat(raised.map((r) => since(r.first_at, r.resolved_at))),
        sla: { accept: noSla, arrive: noSla, resolve: noSla },
      },
    ]
  }

  /** `elevator.frequent_faults` count per estate (its overrides) and the fault types it counts. */
  private faultRule(): { faults: Set<string>; threshold: (estate: string) => number } {
    this.catalog ??= buildCatalog(KINDS)
    const entry = this.catalog.get('elevator.frequent_faults')
    const trigger = entry?.def.triggers.find((t) => t.primitive === 'count') as
      | { onRaised?: readonly string[] }
      | undefined
    const faults = new Set((trigger?.onRaised ?? []).map((t) => `elevator.${t}`))
    const resolved = resolveOverrides(this.catalog, this.src.overrides())
    const fallback = Number(entry?.defaults.count ?? 3)
    return {
      faults,
      threshold: (estate) => Number(resolved.get(estate)?.get('elevator.frequent_faults')?.count ?? fallback),
    }
  }

  private lifts(
    devices: Device[],
    raised: AlertRow[],
    nameOf: (id: string | null) => string,
  ): Report['lifts'] {
    const rule = this.faultRule()
    const lifts = devices.filter((d) => d.kind === 'elevator')
    const rows: LiftRow[] = []
    for (const d of lifts) {
      const mine = byDevice(raised, d.id)
      const faults = mine.filter((r) => rule.faults.has(r.type))
      const byType: Record<string, number> = {}
      for (const r of faults) {
        const t = r.type.slice('elevator.'.length)
        byType[t] = (byType[t] ?? 0) + 1
      }
      const threshold = rule.threshold(d.estate)
      const ff = mine.some((r) => r.type === 'elevator.frequent_faults')
      if (faults.length === 0 && !ff) continue
      rows.push({
        rank: 0,
        device_id: d.id,
        name: nameOf(d.id),
        estate: d.estate,
        building: d.building ?? null,
        faults: faults.length,
        trapped: mine.filter((r) => r.type === 'elevator.trapped').length,
        by_type: byType,
        threshold,
        blacklisted: faults.length >= threshold || ff,
        frequent_faults_alert: ff,
      })
    }
    rows.sort(
      (a, b) => b.faults - a.faults || b.trapped - a.trapped || a.device_id.localeCompare(b.device_id),
    )
    rows.forEach((r, i) => {
      r.rank = i + 1
    })
    return {
      rows,
      lifts_total: lifts.length,
      threshold_note: {
        zh: '故障 = 困人、开门走车、冲顶、蹲底、超速、非平层停梯、安全回路断开、门故障、阻止再启动、停电等告警(不含被屏蔽的);达到本小区 elevator.frequent_faults 次数阈值或触发“故障频发”即列入黑名单',
        en: 'Faults = the alerts elevator.frequent_faults counts (trapped, moving door open, overtravel, overspeed, stopped outside the door zone, safety circuit, door fault, restart blocked, power loss), suppressed ones excluded; a lift reaching its estate’s frequent_faults count in the period, or raising “frequent faults”, is on the black list',
      },
    }
  }

  private passages(
    devices: Device[],
    raised: AlertRow[],
    from: number,
    end: number,
    endOf: (r: AlertRow) => number,
  ): Report['fire_passages'] {
    const segments = devices.filter((d) => d.kind === 'fire_passage')
    const rows: PassageRow[] = []
    for (const d of segments) {
      const mine = byDevice(raised, d.id)
      const blocked = mine.filter((r) => r.type === 'fire_passage.blocked')
      const occupied = mine.filter((r) => r.type === 'fire_passage.occupied').length
      const persistent = mine.filter((r) => r.type === 'fire_passage.persistent_blockage').length
      const duringFire = mine.filter((r) => r.type === 'fire_passage.blocked_during_fire').length
      if (blocked.length === 0 && occupied === 0 && persistent === 0 && duringFire === 0) continue
      rows.push({
        device_id: d.id,
        name: d.name ?? d.id,
        estate: d.estate,
        location: d.location ?? null,
        blocked: blocked.length,
        blocked_minutes: round1(blocked.reduce((s, r) => s + overlapMin(r.first_at, endOf(r), from, end), 0)),
        occupied,
        persistent,
        during_fire: duringFire,
        repeat_offender: blocked.length >= 2 || persistent > 0,
      })
    }
    rows.sort(
      (a, b) =>
        b.during_fire - a.during_fire || b.blocked_minutes - a.blocked_minutes || b.blocked - a.blocked,
    )
    return { rows, segments_total: segments.length }
  }

  private overstays(
    bays: Device[],
    rows: AlertRow[],
    from: number,
    end: number,
    endOf: (r: AlertRow) => number,
  ): OverstayRow[] {
    const out: OverstayRow[] = []
    for (const d of bays) {
      const mine = byDevice(rows, d.id).filter(
        (r) =>
          r.type === 'parking_bay.overstay' &&
          !r.suppressed &&
          (overlapMin(r.first_at, endOf(r), from, end) > 0 || (r.first_at >= from && r.first_at < end)),
      )
      if (mine.length === 0) continue
      out.push({
        device_id: d.id,
        name: d.name ?? d.id,
        estate: d.estate,
        zone: typeof d.params.zone === 'string' ? d.params.zone : null,
        overstays: mine.length,
        overstay_hours: round1(
          mine.reduce((s, r) => s + overlapMin(r.first_at, endOf(r), from, end), 0) / 60,
        ),
      })
    }
    return out.sort((a, b) => b.overstay_hours - a.overstay_hours)
  }
}

export { KIND_NAMES }
