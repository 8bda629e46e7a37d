import { KIND_IDS, KINDS } from '../../devices/index.ts'
import type { AlertDefinition } from '../../devices/types.ts'
import type { Alert, Severity } from '../alerts/types.ts'
import type {
  DispatchConfig,
  EscalationConfig,
  MemberConfig,
  RosterEntry,
  RouteConfig,
  StepTarget,
  TeamConfig,
} from './config.ts'
import { DAYS } from './config.ts'

/**
 * Pure routing: which team gets an alert, with which SLA and escalation chain, and who of that team is
 * on duty now. Defaults come from the alert catalogue (the alert's `crew`) and domain-catalog §0.1/§0.2.
 */

const MIN = 60_000
const HOUR = 60 * MIN

/** SLA per severity (domain-catalog §0.1: critical = act within minutes, major = same day). */
export const DEFAULT_SLA: Record<Severity, Sla> = {
  critical: { accept: 5 * MIN, arrive: 30 * MIN, resolve: null },
  major: { accept: 30 * MIN, arrive: 4 * HOUR, resolve: 24 * HOUR },
  minor: { accept: 4 * HOUR, arrive: 72 * HOUR, resolve: null },
  warning: { accept: 24 * HOUR, arrive: null, resolve: null },
  info: { accept: null, arrive: null, resolve: null },
}
/** Per alert type, over the severity default: the alert's `sla` in devices/<kind>.ts (elevator.trapped: 5 min / 30 min). */
export const TYPE_SLA: Record<string, Partial<Sla>> = Object.fromEntries(
  KIND_IDS.flatMap((kind) =>
    Object.entries(KINDS[kind].alerts as Record<string, AlertDefinition>)
      .filter(([, def]) => def.sla !== undefined)
      .map(([type, def]) => [`${kind}.${type}`, def.sla!]),
  ),
)

/** Not accepted within `after` → next on-duty member → team lead → estate manager (property duty lead) → community grid. */
export const DEFAULT_ESCALATION: Escalation = {
  steps: [
    { to: 'next_on_duty', after: 5 * MIN },
    { to: 'lead', after: 5 * MIN },
    { to: 'team:property_duty', after: 5 * MIN },
    { to: 'team:community_grid', after: 5 * MIN },
  ],
  remindEvery: 2 * MIN,
  remindMax: 3,
}

export interface Sla {
  accept: number | null
  arrive: number | null
  resolve: number | null
}
export interface Escalation {
  /** `after` counts from the previous step (from dispatch for the first). */
  steps: { to: StepTarget; after: number }[]
  remindEvery: number
  remindMax: number
}

export interface Route {
  team: TeamConfig | undefined
  /** The team id (the alert's crew when no team is configured for it). */
  teamId: string
  autoWorkOrder: boolean
  sla: Sla
  escalation: Escalation
  /** The routing rule that matched (index in `routing`), or null for the catalogue default. */
  rule: number | null
}

type AlertSite = Pick<Alert, 'street' | 'community' | 'estate' | 'building'>
type Routable = AlertSite & Pick<Alert, 'type' | 'kind' | 'severity' | 'crew'>

const atOrBelow = (a: AlertSite, site: string) =>
  a.street === site || a.community === site || a.estate === site || a.building === site

const list = <T>(v: T | T[] | undefined): T[] | undefined =>
  v === undefined ? undefined : ([v].flat() as T[])

export class Router {
  /** Whether anyone has a voice channel: critical escalations then end in a voice call. */
  private readonly anyVoice: boolean

  constructor(readonly config: DispatchConfig) {
    this.anyVoice = config.teams.some((t) =>
      t.members.some((m) => m.channels.some((c) => c.type === 'voice')),
    )
  }

  team(id: string): TeamConfig | undefined {
    return this.config.teams.find((t) => t.id === id)
  }

  /** Whether a team serves the place of an alert. */
  serves(team: TeamConfig, a: AlertSite): boolean {
    return !team.estates || team.estates.some((s) => atOrBelow(a, s))
  }

  route(a: Routable): Route {
    const index = this.config.routing.findIndex((r) => matches(r, a))
    const rule = index >= 0 ? this.config.routing[index] : undefined
    let team: TeamConfig | undefined
    if (rule) team = this.team(rule.team)
    else {
      // Catalogue default: the team playing the alert's crew and serving its estate (own id first).
      const candidates = this.config.teams.filter((t) => (t.crew ?? t.id) === a.crew && this.serves(t, a))
      team = candidates.find((t) => t.id === a.crew) ?? candidates[0]
    }
    const base = { ...DEFAULT_SLA[a.severity], ...TYPE_SLA[a.type] }
    const sla: Sla = {
      accept: rule?.sla?.accept ?? base.accept,
      arrive: rule?.sla?.arrive ?? base.arrive,
      resolve: rule?.sla?.resolve ?? base.resolve,
    }
    return {
      team,
      teamId: team?.id ?? a.crew,
      autoWorkOrder: rule?.work_order ?? (a.severity === 'critical' || a.severity === 'major'),
      sla,
      escalation: escalationOf(
        rule?.escalation ?? team?.escalation,
        sla,
        a.severity === 'critical' && this.anyVoice,
      ),
      rule: index >= 0 ? index : null,
    }
  }

  /** Members of a team on duty at `at` for an alert's place, in roster order (no roster = every member). */
  onDuty(team: TeamConfig, a: AlertSite, at: number): MemberConfig[] {
    const entries = this.config.roster.filter((r) => r.team === team.id)
    if (entries.length === 0) return team.members
    const ids = new Set<string>()
    for (const r of entries) {
      if (r.estates && !r.estates.some((s) => atOrBelow(a, s))) continue
      if (onShift(r, at, team.timezone)) ids.add(r.member)
    }
    return [...ids].map((id) => team.members.find((m) => m.id === id)!).filter(Boolean)
  }
}

function matches(r: RouteConfig, a: Routable): boolean {
  const m = r.match
  const types = list(m.type)
  if (types && !types.includes(a.type)) return false
  const kinds = list(m.kind)
  if (kinds && !kinds.includes(a.kind)) return false
  const severities = list(m.severity)
  if (severities && !severities.includes(a.severity)) return false
  if (m.site && !atOrBelow(a, m.site)) return false
  return true
}

/**
 * The chain an order follows. A critical alert nobody accepts ends in a voice call (`call`) when
 * anyone has a voice channel — a chat message does not wake a fitter at 3 a.m. — unless the chain
 * already calls or says `end_with_call: false`.
 */
function escalationOf(e: EscalationConfig | undefined, sla: Sla, callLast: boolean): Escalation {
  // Without an explicit `after`, escalate when the accept SLA runs out (5 min for a critical alert).
  const after = e?.after ?? sla.accept ?? DEFAULT_ESCALATION.steps[0]!.after
  const steps = e?.chain
    ? e.chain.map((s) => (typeof s === 'string' ? { to: s, after } : { to: s.to, after: s.after }))
    : DEFAULT_ESCALATION.steps.map((s) => ({ ...s, after }))
  if (callLast && e?.end_with_call !== false && !steps.some((s) => s.to === 'call'))
    steps.push({ to: 'call', after })
  return {
    steps,
    remindEvery: e?.remind_every ?? DEFAULT_ESCALATION.remindEvery,
    remindMax: e?.remind_max ?? DEFAULT_ESCALATION.remindMax,
  }
}

/** Local weekday and minute of day of `at` in `timeZone`. */
export function localTime(at: number, timeZone: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at)
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
  const day = DAYS.indexOf(get('weekday').toLowerCase().slice(0, 3) as (typeof DAYS)[number])
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) }
}

/** Whether a roster entry covers `at`. A shift like 20:00-08:00 belongs to the day it starts. */
export function onShift(r: RosterEntry, at: number, timeZone: string): boolean {
  const { day, minute } = localTime(at, timeZone)
  const dayOk = (d: number) => !r.days || r.days.includes(DAYS[(d + 7) % 7]!)
  if (!r.hours) return dayOk(day)
  const [from, to] = r.hours.split('-').map((hm) => {
    const [h, m] = hm.split(':').map(Number)
    return h! * 60 + m!
  }) as [number, number]
  if (from < to) return dayOk(day) && minute >= from && minute < to
  // Crosses midnight: the evening part today, the morning part belongs to yesterday's shift.
  return (minute >= from && dayOk(day)) || (minute < to && dayOk(day - 1))
}
