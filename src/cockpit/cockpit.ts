import { AlertQueries } from '../alerts/store.ts'
import { SEVERITIES } from '../alerts/types.ts'
import type { Principal } from '../auth/principal.ts'
import type { EstateFile } from '../config/estate-file.ts'
import { CREW_NAMES } from '../core/vocabulary.ts'
import type { TeamConfig } from '../dispatch/config.ts'
import { WorkOrderQueries } from '../dispatch/store.ts'
import { ZhianError } from '../errors.ts'
import type { LiveState, SeverityCounts } from '../live/live-state.ts'
import type { Registry, Site } from '../registry/registry.ts'
import { ReportBuilder } from '../reports/build.ts'
import type { LiftRow, PassageRow, Report, SlaStat } from '../reports/model.ts'
import { DEFAULT_TZ, localParts, localToUtc, ymd } from '../reports/period.ts'
import type { Db } from '../store/db.ts'

/**
 * The street cockpit (街道数字驾驶舱): what a street officer reads off a wall screen. Live counts
 * come from the live state at every call; the week's figures (response times, SLA, the lift black
 * list, repeat fire-passage offenders, the daily trend) from the reports' own builder over the last
 * seven local days, so the cockpit and the reports never disagree. Those are kept for CACHE_MS.
 */

const DAY = 86_400_000
const CACHE_MS = 30_000

export interface CockpitEstate {
  id: string
  name: string
  community: string | null
  open: SeverityCounts
  open_total: number
  devices: number
  offline: number
  /** Alerts raised over the seven days (suppressed ones not counted). */
  alerts_week: number
  critical_week: number
  /** Median minutes from an alert to its acknowledgement, over the seven days; null = none acknowledged. */
  ack_median_min: number | null
  /** Median minutes from a work order's opening to the crew on site. */
  arrive_median_min: number | null
  /** Work orders whose accept + arrive limits fell due, and how many were met. */
  sla: SlaStat
  lifts_blacklisted: number
}

export interface Cockpit {
  at: number
  scope: { id: string; name: string; type: string }
  period: { from: number; to: number; days: string[] }
  estates: CockpitEstate[]
  /** Estate ids, most open critical alerts first (then major, then all open). */
  by_critical: string[]
  /** Estate ids, slowest median acknowledgement first; estates without one last. */
  by_response: string[]
  lifts: (LiftRow & { estate_name: string })[]
  passages: (PassageRow & { estate_name: string })[]
  contractors: {
    team: string
    name: string
    crew: string | null
    orders: number
    accept: SlaStat
    arrive: SlaStat
    accept_median_min: number | null
  }[]
  /** Alerts raised per local day per estate (`days` order), and all critical ones per day. */
  trend: { estate: string; name: string; counts: number[] }[]
  trend_critical: number[]
}

export interface CockpitOptions {
  db: Db
  registry: Registry
  live: LiveState
  overrides: () => EstateFile['overrides']
  teams: () => TeamConfig[]
  tz: string | undefined
  now: () => number
}

interface Week {
  at: number
  street: Report
  estates: Map<string, Report>
  /** Local midnights: the seven days' starts and the end of the last. */
  starts: number[]
  period: Cockpit['period']
}

export class CockpitService {
  private readonly builder: ReportBuilder
  private readonly alerts: AlertQueries
  private readonly cache = new Map<string, Week>()

  constructor(private readonly opts: CockpitOptions) {
    this.alerts = new AlertQueries(opts.db)
    // No InfluxDB: the cockpit shows no telemetry, and a slow history must not hold up the wall screen.
    this.builder = new ReportBuilder({
      alerts: this.alerts,
      workOrders: new WorkOrderQueries(opts.db),
      registry: opts.registry,
      overrides: opts.overrides,
      history: undefined,
      teams: () => opts.teams(),
      now: opts.now,
    })
  }

  /** The cockpit of `scope` (default: the caller's own; an unscoped caller: the first street). */
  async build(p: Principal, requested?: string): Promise<Cockpit> {
    if (p.role === 'crew')
      throw new ZhianError('ZHIAN_ERR_FORBIDDEN', 'the cockpit is for managers and officers')
    const scope = this.scopeOf(p, requested)
    const week = await this.week(scope)
    const { registry } = this.opts
    const rollup = new Map(this.opts.live.rollup(p).map((r) => [r.id, r]))
    const estateSites = this.estatesUnder(scope.id)
    const estates: CockpitEstate[] = estateSites.map((e) => {
      const live = rollup.get(e.id)
      const report = week.estates.get(e.id)
      const response = (team: string) => report?.response.find((r) => r.team === team)
      const all = response('*')
      const open = live?.open ?? { critical: 0, major: 0, minor: 0, warning: 0, info: 0 }
      const community = e.parent && registry.site(e.parent)?.type === 'community' ? e.parent : null
      return {
        id: e.id,
        name: e.name,
        community: community ? (registry.site(community)?.name ?? null) : null,
        open,
        open_total: SEVERITIES.reduce((n, s) => n + open[s], 0),
        devices: live?.devices ?? 0,
        offline: live?.offline ?? 0,
        alerts_week: report?.summary.alerts ?? 0,
        critical_week: report?.summary.critical ?? 0,
        ack_median_min: minutes(response('alerts')?.acknowledge.median_s ?? null),
        arrive_median_min: minutes(all?.arrive.median_s ?? null),
        sla: all ? sum(all.sla.accept, all.sla.arrive) : { due: 0, met: 0, attainment: null },
        lifts_blacklisted: report?.summary.lifts_blacklisted ?? 0,
      }
    })
    const byCritical = [...estates].sort(
      (a, b) =>
        b.open.critical - a.open.critical ||
        b.open.major - a.open.major ||
        b.open_total - a.open_total ||
        b.critical_week - a.critical_week ||
        a.name.localeCompare(b.name, 'zh'),
    )
    const byResponse = [...estates].sort(
      (a, b) =>
        (b.ack_median_min ?? -1) - (a.ack_median_min ?? -1) ||
        (a.sla.attainment ?? 101) - (b.sla.attainment ?? 101) ||
        a.name.localeCompare(b.name, 'zh'),
    )
    const estateName = new Map(estateSites.map((e) => [e.id, e.name]))
    const teams = new Map(this.opts.teams().map((t) => [t.id, t]))
    return {
      at: this.opts.now(),
      scope: { id: scope.id, name: scope.name, type: scope.type },
      period: week.period,
      estates,
      by_critical: byCritical.map((e) => e.id),
      by_response: byResponse.map((e) => e.id),
      lifts: week.street.lifts.rows
        .filter((r) => r.blacklisted)
        .map((r) => ({ ...r, estate_name: estateName.get(r.estate) ?? r.estate })),
      passages: week.street.fire_passages.rows
        .filter((r) => r.repeat_offender)
        .sort((a, b) => b.blocked + b.occupied - (a.blocked + a.occupied))
        .map((r) => ({ ...r, estate_name: estateName.get(r.estate) ?? r.estate })),
      contractors: week.street.response
        .filter((r) => r.team !== '*' && r.team !== 'alerts')
        .map((r) => ({
          team: r.team,
          // A team the estate file lacks is the catalogue's crew of that name: its word, not its id.
          name: teams.get(r.team)?.name ?? CREW_NAMES[r.team]?.zh ?? r.name,
          crew: teams.get(r.team)?.crew ?? null,
          orders: r.orders,
          accept: r.sla.accept,
          arrive: r.sla.arrive,
          accept_median_min: minutes(r.accept.median_s),
        }))
        .sort((a, b) => (a.accept.attainment ?? 101) - (b.accept.attainment ?? 101) || b.orders - a.orders),
      ...this.trend(scope.id, week),
    }
  }

  /** Alerts raised per day and estate: one read, at every call (a new alert shows at once). */
  private trend(scope: string, week: Week): Pick<Cockpit, 'trend' | 'trend_critical'> {
    const { starts } = week
    const dayOf = (t: number) => starts.findIndex((s, i) => i < 7 && t >= s && t < starts[i + 1]!)
    const rows = this.alerts
      .touching(scope, starts[0]!, starts[7]!)
      .filter((r) => r.suppressed === 0 && r.first_at >= starts[0]!)
    const trend = this.estatesUnder(scope).map((e) => ({
      estate: e.id,
      name: e.name,
      counts: starts.slice(1).map(() => 0),
    }))
    const index = new Map(trend.map((t) => [t.estate, t]))
    const critical = starts.slice(1).map(() => 0)
    for (const r of rows) {
      const d = dayOf(r.first_at)
      if (d < 0) continue
      const line = r.estate ? index.get(r.estate) : undefined
      if (line) line.counts[d]!++
      if (r.severity === 'critical') critical[d]!++
    }
    return { trend, trend_critical: critical }
  }

  private scopeOf(p: Principal, requested: string | undefined): Site {
    const { registry } = this.opts
    const id = requested || p.scope || registry.sites().find((s) => s.type === 'street')?.id
    const site = id ? registry.site(id) : undefined
    // A scoped caller asking outside its scope hears the same as for a site that does not exist.
    if (!site || (p.scope !== null && !registry.subtree(p.scope).has(site.id)))
      throw new ZhianError('ZHIAN_ERR_UNKNOWN_SITE', id ?? '')
    if (site.type === 'building')
      throw new ZhianError('ZHIAN_ERR_UNKNOWN_SITE', `${site.id}: a street, community or estate`)
    return site
  }

  private estatesUnder(id: string): Site[] {
    const below = this.opts.registry.subtree(id)
    return this.opts.registry.sites().filter((s) => s.type === 'estate' && below.has(s.id))
  }

  /** The last seven local days (today included) of `scope`: reports and the daily trend, cached. */
  private async week(scope: Site): Promise<Week> {
    const now = this.opts.now()
    const cached = this.cache.get(scope.id)
    if (cached && now - cached.at < CACHE_MS && now >= cached.at) return cached
    const tz = this.opts.tz ?? DEFAULT_TZ
    const today = localParts(now, tz)
    const first = localParts(localToUtc(today, tz) - 6 * DAY + DAY / 2, tz)
    const range = `${ymd(first)}..${ymd(today)}`
    const street = await this.builder.build({ scope: scope.id, period: range, tz })
    const estates = new Map<string, Report>()
    for (const e of this.estatesUnder(scope.id))
      estates.set(e.id, await this.builder.build({ scope: e.id, period: range, tz }))
    const starts = Array.from({ length: 8 }, (_, i) =>
      localToUtc(localParts(localToUtc(first, tz) + i * DAY + DAY / 2, tz), tz),
    )
    const days = starts.slice(0, 7).map((t) => ymd(localParts(t, tz)))
    const week: Week = {
      at: now,
      street,
      estates,
      starts,
      period: { from: starts[0]!, to: starts[7]!, days },
    }
    this.cache.set(scope.id, week)
    return week
  }
}

function minutes(seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds / 6) / 10
}

function sum(a: SlaStat, b: SlaStat): SlaStat {
  const due = a.due + b.due
  const met = a.met + b.met
  return { due, met, attainment: due ? Math.round((met / due) * 1000) / 10 : null }
}
