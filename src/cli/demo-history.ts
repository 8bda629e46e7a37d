import type { ActionArgs } from '../../simulators/behaviours/types.ts'
import { Fleet } from '../../simulators/fleet.ts'
import type { RecordedMessage } from '../../simulators/links.ts'
import { Rng } from '../../simulators/rng.ts'
import { scheduleScenario } from '../../simulators/scenario-runner.ts'
import type { Scenario, ScenarioStep } from '../../simulators/scenarios/types.ts'
import type { Alert } from '../alerts/types.ts'
import { Hub } from '../app.ts'
import type { HubConfig } from '../config/env.ts'
import { loadEstateFile } from '../config/estate-file.ts'
import { FakeClock } from '../core/clock.ts'
import type { WorkOrder } from '../dispatch/types.ts'
import { localParts, localToUtc, resolvePeriod } from '../reports/period.ts'

/**
 * The demo's recorded past: before the live demo starts, the demo estate lives through last week and
 * this week up to now — simulated devices (the same behaviours as live, as a dry run) feeding the
 * hub's own ingest, rules, alert store and dispatcher on a clock this module moves, with people who
 * acknowledge, accept, arrive and resolve after plausible delays. So "last week's report" (上周) of a
 * fresh demo has real content, every figure made by the hub itself; the alert history shows the same
 * alerts. The live demo then goes on from the same data dir on the real clock.
 */

const DAY = 86_400_000
const MIN = 60_000
/** Simulated time fed per slice; people act and timers fire in between. */
const SLICE = 10 * MIN

export interface RecordedPast {
  from: number
  to: number
  messages: number
  alerts: number
  workOrders: number
}

/** Monday 00:00 of the week before the one containing `now`, in `tz`: the start of the reports' "week". */
export function lastWeekStart(now: number, tz: string): number {
  return resolvePeriod('week', now, tz).from
}

/**
 * What happens over the recorded days: 前新福苑's week in offsets from last Monday 00:00 (last week's
 * report tells it), the street's other estates in days before `to` (the street cockpit's last seven
 * days tell theirs, whatever the weekday).
 */
function pastScript(from: number, to: number, tz: string): ScenarioStep[] {
  const step = (day: number, hhmm: string, target: string | string[], act: string, args?: ActionArgs) => {
    const [h, m] = hhmm.split(':').map(Number)
    return { at: `+${day}d${h}h${m}m`, target, do: act, ...(args ? { with: args } : {}) }
  }
  const recent = (daysAgo: number, hhmm: string, target: string, act: string, args?: ActionArgs) => {
    const [h, m] = hhmm.split(':').map(Number)
    const at = localToUtc(localParts(to - daysAgo * DAY, tz), tz, h! * 60 + m!)
    return { at: `+${Math.round((at - from) / 1000)}s`, target, do: act, ...(args ? { with: args } : {}) }
  }
  return [
    // 2号楼2号电梯 is the lift that lands on the black list: four faults in one week.
    step(0, '10:15', 'elev_b2_2', 'door_fault', { for: '4m' }),
    step(2, '08:40', 'elev_b2_2', 'trapped', { for: '6m' }),
    step(3, '19:20', 'elev_b2_2', 'stopped_outside_zone', { for: '3m' }),
    step(5, '07:50', 'elev_b2_2', 'overspeed', { factor: 1.5, for: '6s' }),
    step(1, '18:05', 'elev_b1_2', 'trapped', { for: '4m' }),
    step(4, '09:00', 'elev_b1_1', 'mode', { mode: 'inspection', for: '2h' }),
    step(6, '12:30', 'elev_b2_3', 'moving_door_open', { for: '20s' }),
    // Fire passage segment 3 is the repeat offender; segment 1 sees a short stop.
    step(0, '20:10', 'fp_3', 'block', { for: '40m', object: 'car' }),
    step(2, '21:00', 'fp_3', 'block', { for: '25m', object: 'car' }),
    step(4, '19:45', 'fp_3', 'block', { for: '75m', object: 'car' }),
    step(3, '07:30', 'fp_1', 'block', { for: '3m', object: 'ebike' }),
    // Manholes: a lifted cover, a rainy Saturday afternoon, a battery running low.
    step(1, '14:00', 'mh_07', 'lift_cover', { for: '20m' }),
    step(5, '15:00', ['mh_01', 'mh_02', 'mh_04', 'mh_06'], 'rain', { rise_cm_per_min: 15, for: '8m' }),
    step(2, '11:00', 'mh_03', 'battery_low', { pct: 7 }),
    // Parking: a zombie car, a flapping sensor, a full ground zone on Sunday evening.
    step(0, '22:00', 'pb_033', 'occupy', { for: '80h' }),
    step(3, '18:00', 'pb_017', 'flap', { for: '12m', every: '15s' }),
    step(6, '19:00', { kind: 'parking_bay', zone: 'ground' } as never, 'occupy', { for: '90m' }),
    // 红普新村, the old estate: its retrofitted lift in 5幢 faults all week (the black list).
    recent(6, '07:40', 'hpxc_el_5_2', 'door_fault', { for: '5m' }),
    recent(5, '19:30', 'hpxc_el_5_2', 'trapped', { for: '7m' }),
    recent(3, '12:10', 'hpxc_el_5_2', 'stopped_outside_zone', { for: '4m' }),
    recent(1, '08:20', 'hpxc_el_5_2', 'door_fault', { for: '6m' }),
    recent(4, '17:00', 'hpxc_el_3_1', 'door_fault', { for: '4m' }),
    recent(2, '10:30', 'hpxc_el_3_1', 'power_loss', { for: '20m' }),
    // 天城家园: cars in the garage exit in the evenings, again and again.
    recent(6, '21:30', 'tcjy_fp_2', 'block', { for: '40m', object: 'car' }),
    recent(4, '22:00', 'tcjy_fp_2', 'block', { for: '30m', object: 'car' }),
    recent(2, '20:40', 'tcjy_fp_2', 'block', { for: '60m', object: 'car' }),
    recent(5, '13:00', 'tcjy_el_1', 'moving_door_open', { for: '20s' }),
    // 新风雅苑: a quiet small estate.
    recent(3, '10:00', 'xfya_mh_1', 'lift_cover', { for: '15m' }),
    recent(1, '18:30', 'xfya_fp_1', 'block', { for: '5m', object: 'ebike' }),
    // This week so far.
    step(7, '09:10', 'elev_b1_3', 'trapped', { for: '3m' }),
    step(7, '20:00', 'fp_2', 'block', { for: '15m', object: 'car' }),
    step(8, '10:30', 'elev_b2_2', 'door_fault', { for: '3m' }),
  ]
}

/**
 * The estates' people: each estate's manager acknowledges, crews accept, arrive and resolve — after a
 * while. The old estate's office is slow, and so is its lift contractor: the street cockpit's response
 * ranking and time limits per contractor have something to tell.
 */
class People {
  private readonly rng = new Rng('demo-people')
  private readonly users = new Map<string, string>()
  private readonly managers = new Map<string, string>()

  constructor(
    private readonly hub: Hub,
    private readonly clock: FakeClock,
    teams: { id: string; members: { id: string; user?: string | undefined }[] }[],
    users: { username: string; role: string; scope: string }[],
  ) {
    for (const t of teams) for (const m of t.members) this.users.set(`${t.id}/${m.id}`, m.user ?? m.id)
    for (const u of users) if (u.role === 'manager') this.managers.set(u.scope, u.username)
  }

  private managerOf(estate: string | null): string {
    return (estate && this.managers.get(estate)) ?? 'wuye'
  }

  raised(alert: Alert): void {
    if (alert.severity === 'info') return
    const slow = alert.estate === 'hongpu_xincun' ? 3 : 1
    this.later(this.rng.float(1, 12) * slow, () => {
      const now = this.hub.alerts.get(alert.id)
      if (now?.status !== 'active' || this.orderOf(alert.id)) return
      const actor = this.managerOf(alert.estate)
      this.hub.alerts.acknowledge(alert.id, { actor, channel: 'http', note: null })
      // A latched alert without a work order: the manager closes it once the condition has cleared
      // (a reseated cover); one still holding (a flat battery nobody replaced yet) stays open.
      if (now.latched) this.closeWhenCleared(alert.id, actor, 4)
    })
  }

  private closeWhenCleared(id: string, actor: string, tries: number): void {
    this.later(this.rng.float(20, 90), () => {
      const a = this.hub.alerts.get(id)
      if (!a || a.status === 'resolved') return
      if (a.condition === 'cleared')
        this.hub.alerts.resolve(id, { actor, channel: 'http', note: '现场已处理' })
      else if (tries > 1) this.closeWhenCleared(id, actor, tries - 1)
    })
  }

  workOrder(wo: WorkOrder, action: string): void {
    const who = { username: (wo.assignee && this.users.get(wo.assignee)) ?? this.managerOf(wo.estate) }
    const slow = wo.team === 'lift_xizi' ? 2.5 : 1
    if (action === 'dispatched')
      this.later(
        this.rng.float(1.5, 9) * slow,
        () => this.hub.dispatch.accept(wo.id, who),
        wo.id,
        'dispatched',
      )
    else if (action === 'accepted')
      this.later(this.rng.float(6, 28) * slow, () => this.hub.dispatch.arrive(wo.id, who), wo.id, 'accepted')
    else if (action === 'on_site')
      this.later(
        this.rng.float(10, 50),
        () => this.hub.dispatch.resolve(wo.id, { ...who, note: '已修复,恢复正常' }),
        wo.id,
        'on_site',
      )
  }

  private orderOf(alertId: string): boolean {
    return this.hub.dispatch.hasOrderFor(alertId)
  }

  /** Run `fn` `minutes` later on the recorded clock, if the order is still at `status` then. */
  private later(minutes: number, fn: () => void, orderId?: string, status?: string): void {
    this.clock.setTimer(this.clock.now() + Math.round(minutes * MIN), () => {
      if (orderId && this.hub.dispatch.get(orderId)?.status !== status) return
      try {
        fn()
      } catch {
        // Someone else got there first (the alert cleared and resolved itself, an escalation…).
      }
    })
  }
}

/**
 * Record the past from last Monday 00:00 to `to` into the (fresh) data dir of `config`. Returns what
 * was recorded; the hub is stopped again before this resolves.
 */
export async function recordPast(
  config: HubConfig,
  opts: { to: number; tz: string; adminPassword: string; from?: number },
): Promise<RecordedPast> {
  const { to, tz } = opts
  const from = opts.from ?? lastWeekStart(to, tz)
  const clock = new FakeClock(from)
  const hub = new Hub(
    {
      ...config,
      mqtt: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      tls: undefined,
      history: undefined,
      journal: { ...config.journal, mode: 'off' },
      deviceRate: { perSecond: 1_000_000, burst: 1_000_000 },
      // People race the rules here (a resolve as the condition clears): the refusals are expected.
      logLevel: 'error',
    },
    clock,
  )
  // The first start of the data dir creates the admin: with the password the demo prints.
  hub.adminPassword = opts.adminPassword
  const estate = loadEstateFile(config.estateFile!)
  const queue: RecordedMessage[] = []
  const fleet = new Fleet({ estate, start: from, seed: 7, faultRate: 0, record: (m) => queue.push(m) })
  const people = new People(hub, clock, estate.teams ?? [], estate.users)
  await hub.start()
  const stats = { messages: 0, alerts: 0, workOrders: 0 }
  const offAlert = hub.bus.on('alert', ({ alert, entry }) => {
    if (entry.action === 'raised') {
      stats.alerts++
      people.raised(alert)
    }
  })
  const offOrder = hub.bus.on('work_order', ({ work_order, event }) => {
    if (event.action === 'dispatched' && work_order.dispatched_at === clock.now()) stats.workOrders++
    people.workOrder(work_order, event.action)
  })
  try {
    await fleet.start()
    const script: Scenario = {
      name: 'past',
      title: 'recorded past',
      description: '',
      estate: '',
      start: '00:00',
      duration: `${Math.ceil((to - from) / DAY)}d`,
      seed: 7,
      faultRate: 0,
      expect: [],
      exact: false,
      steps: pastScript(from, to, tz),
    }
    scheduleScenario(fleet, script)
    for (let t = from; t < to; t += SLICE) {
      fleet.clock.advance(Math.min(SLICE, to - t))
      for (const m of queue) {
        if (m.t > clock.now()) clock.advance(m.t - clock.now())
        hub.ingest.handle(m.topic.split('/')[2]!, { topic: m.topic, payload: Buffer.from(m.payload) }, m.t)
        stats.messages++
      }
      queue.length = 0
      const end = Math.min(t + SLICE, to)
      if (end > clock.now()) clock.advance(end - clock.now())
      // Let the store, outbox and timers of the real event loop breathe between slices.
      await new Promise((r) => setImmediate(r))
    }
  } finally {
    offAlert()
    offOrder()
    await fleet.stop()
    await hub.stop()
  }
  return { from, to, ...stats }
}
