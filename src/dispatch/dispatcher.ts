import type { AlertStore } from '../alerts/store.ts'
import type { Alert, AuditEntry } from '../alerts/types.ts'
import type { Bus } from '../core/bus.ts'
import { type Clock, RealClock, type TimerHandle } from '../core/clock.ts'
import type { Metrics } from '../core/metrics.ts'
import { CHANNEL_NAMES, SEVERITY_NAMES, SLA_STAGE_NAMES, wordOf } from '../core/vocabulary.ts'
import { ZhianError } from '../errors.ts'
import type { Db } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import { channelsFor, type Message } from './channels.ts'
import type { DispatchConfig, MemberConfig, TeamConfig } from './config.ts'
import { Outbox, type RetryPolicy } from './outbox.ts'
import { Router } from './routing.ts'
import { type NewEvent, newWorkOrderId, WorkOrderStore } from './store.ts'
import {
  type Delivery,
  type NotificationPurpose,
  OPEN_STATUSES,
  type SlaStage,
  type WorkOrder,
  type WorkOrderStatus,
} from './types.ts'

/**
 * Dispatch as a hub feature: alerts in (bus `alert`), work orders out. Routes each alert that needs
 * one to a team, notifies the on-duty member through the outbox, runs the SLA, reminder and
 * escalation timers on an injected clock, and keeps the alert and its work order in step (resolving
 * one resolves the other). Timers are derived from the stored order, so a restart loses none.
 */

export interface DispatcherOptions {
  db: Db
  bus: Bus
  alerts: AlertStore
  log: Logger
  metrics?: Metrics | undefined
  /** Work-order timers (SLA, reminders, escalation). */
  clock?: Clock | undefined
  /** The outbox worker's clock (default: the same). */
  outboxClock?: Clock | undefined
  /** The outbox worker's name in the rows it claims: a cluster node's id (default: a random one). */
  worker?: string | undefined
  retry?: Partial<RetryPolicy> | undefined
  /** Base URL of the dashboard, for links in messages. */
  linkBase: () => string
  /** Display names of sites and devices, for what a voice call says (absent: the ids). */
  names?: { site(id: string): string | undefined; device(id: string): string | undefined } | undefined
}

/** Who acts on a work order (an HTTP principal, or `dispatch` / `rule` for the hub itself). */
export interface WorkOrderActor {
  username: string
  note?: string | null | undefined
}

const STAGE_DONE: Record<SlaStage, keyof WorkOrder> = {
  accept: 'accepted_at',
  arrive: 'on_site_at',
  resolve: 'resolved_at',
}
const PURPOSE_TEXT: Record<NotificationPurpose, { zh: string; en: string }> = {
  dispatch: { zh: '派单通知', en: 'dispatch' },
  reminder: { zh: '提醒', en: 'reminder' },
  escalation: { zh: '升级通知', en: 'escalation' },
  closed: { zh: '关闭通知', en: 'closing notice' },
  call: { zh: '语音呼叫', en: 'voice call' },
}
const SYSTEM = 'dispatch'

const ref = (team: string, member: string) => `${team}/${member}`

/** A note the dashboard shows in the reader's language (one side of " / "), a person's words in both. */
const bilingual = (zh: string, en: string, said?: string | null) =>
  said ? `${zh}:${said} / ${en}: ${said}` : `${zh} / ${en}`

/**
 * When a work order's clock (report times, SLA) starts. An automatic order opens as its alert is
 * (re)raised, so it is timed from that raise — also when it is opened late, at a start after a crash.
 * An order opened by hand is timed from the moment it is opened: an old alert must not make it late
 * at birth, nor move it into a period that is already closed.
 */
function openingTime(alert: Alert, by: WorkOrderActor, now: number): number {
  return by.username === SYSTEM ? Math.min(alert.last_at, now) : now
}
const minutes = (ms: number) => `${Math.round(ms / 6000) / 10}`
/** A limit in words: minutes, or seconds (milliseconds) below a minute (a second), never "0 分钟". */
const span = (ms: number) =>
  ms >= 60_000
    ? { zh: `${minutes(ms)} 分钟`, en: `${minutes(ms)} min` }
    : ms >= 1000
      ? { zh: `${Math.round(ms / 1000)} 秒`, en: `${Math.round(ms / 1000)} s` }
      : { zh: `${ms} 毫秒`, en: `${ms} ms` }

export class Dispatcher {
  readonly store: WorkOrderStore
  readonly outbox: Outbox
  router = new Router({ teams: [], roster: [], routing: [] })
  private readonly clock: Clock
  private readonly timers = new Map<string, TimerHandle>()
  private off: (() => void) | undefined
  private running = false

  constructor(private readonly opts: DispatcherOptions) {
    this.clock = opts.clock ?? new RealClock()
    this.store = new WorkOrderStore(opts.db, opts.bus, opts.log)
    this.outbox = new Outbox({
      db: opts.db,
      clock: opts.outboxClock ?? this.clock,
      worker: opts.worker,
      log: opts.log,
      metrics: opts.metrics,
      retry: opts.retry,
      onSettled: (d, id) => this.settled(d, id),
      // Team members' channels, from the configuration of this start (the outbox stores no secrets).
      directory: (member) => {
        const [teamId, memberId] = member.split('/')
        return this.router.team(teamId ?? '')?.members.find((m) => m.id === memberId)?.channels
      },
    })
  }

  /** After the alert store started (work orders follow alerts). */
  /** Teams and routing only (a cluster's followers: who is in which team, for the dashboards). */
  configure(config: DispatchConfig): void {
    this.router = new Router(config)
  }

  start(config: DispatchConfig): void {
    this.configure(config)
    this.store.open()
    this.outbox.open()
    this.running = true
    this.off = this.opts.bus.on('alert', (change) => {
      // After every listener saw this transition: changing the alert from inside its own event would
      // reorder what the dashboard and history see.
      queueMicrotask(() => this.onAlert(change.alert, change.entry))
    })
    for (const wo of this.store.openOrders()) this.arm(wo)
    // Alerts raised while the hub was down between the alert and its order (crash): dispatch them now.
    for (const alert of this.opts.alerts.openAlerts()) this.maybeOpen(alert)
    this.outbox.start()
  }

  async stop(): Promise<void> {
    this.running = false
    this.off?.()
    for (const t of this.timers.values()) this.clock.clearTimer(t)
    this.timers.clear()
    await this.outbox.stop()
  }

  get(id: string): WorkOrder | undefined {
    return this.store.get(id)
  }

  /** Whether a work order (open or closed) was ever made for this alert. */
  hasOrderFor(alertId: string): boolean {
    return this.store.anyFor(alertId)
  }

  /** The order with its event log, delivery status per recipient and report times. */
  deliveries(id: string): Delivery[] {
    return this.outbox.forWorkOrder(id)
  }

  /** `<team>/<member>` refs of the members a dashboard user is (teams' `user:`). */
  membersOf(username: string): string[] {
    const refs: string[] = []
    for (const t of this.router.config.teams)
      for (const m of t.members) if (m.user === username) refs.push(ref(t.id, m.id))
    return refs
  }

  // ───────────────────────────── opening ─────────────────────────────

  /**
   * The configured team `teamId`, if it serves the alert's place: the one rule for opening a work
   * order for a team and for assigning an alert to one. A team serving another estate would get this
   * estate's alert, names and addresses.
   */
  servingTeam(
    teamId: string,
    alert: Pick<Alert, 'street' | 'community' | 'estate' | 'building'>,
  ): TeamConfig {
    const team = this.router.team(teamId)
    if (!team) throw new ZhianError('ZHIAN_ERR_UNKNOWN_TEAM', teamId)
    if (!this.router.serves(team, alert))
      throw new ZhianError('ZHIAN_ERR_TEAM_NOT_SERVING', `${teamId} does not serve ${alert.estate}`)
    return team
  }

  /** Open a work order for an alert: by hand (`by` a user, optionally to another team) or automatically. */
  open(alert: Alert, by: WorkOrderActor, teamId?: string): WorkOrder {
    if (alert.status === 'resolved')
      throw new ZhianError('ZHIAN_ERR_ALERT_STATE', `alert ${alert.id} is resolved`)
    if (this.store.openFor(alert.id))
      throw new ZhianError('ZHIAN_ERR_WORK_ORDER_STATE', `alert ${alert.id} already has an open work order`)
    const route = this.router.route(alert)
    let team = route.team
    if (teamId) team = this.servingTeam(teamId, alert)
    const now = this.clock.now()
    const openedAt = openingTime(alert, by, now)
    const onDuty = team ? this.router.onDuty(team, alert, now) : []
    const first = onDuty[0]
    const wo: WorkOrder = {
      id: newWorkOrderId(now),
      alert_id: alert.id,
      alert_type: alert.type,
      kind: alert.kind,
      severity: alert.severity,
      street: alert.street,
      community: alert.community,
      estate: alert.estate,
      building: alert.building,
      device_id: alert.device_id,
      title: alert.title,
      message: alert.message,
      team: team?.id ?? teamId ?? route.teamId,
      assignee: first && team ? ref(team.id, first.id) : null,
      participants: first && team ? [ref(team.id, first.id)] : [],
      status: 'dispatched',
      created_by: by.username,
      opened_at: openedAt,
      dispatched_at: now,
      // Acknowledged before a hand-opened order existed: it was never waiting for that.
      acknowledged_at: alert.acknowledged_at === null ? null : Math.max(alert.acknowledged_at, openedAt),
      accepted_at: null,
      on_site_at: null,
      resolved_at: null,
      cancelled_at: null,
      sla: route.sla,
      breaches: [],
      escalation: {
        steps: route.escalation.steps,
        remind_every: route.escalation.remindEvery,
        remind_max: route.escalation.remindMax,
      },
      escalation_level: 0,
      reminders_sent: 0,
    }
    const teamName = team?.name ?? wo.team
    const [zh, en] =
      first && team
        ? [`派给 ${teamName} ${first.name}`, `dispatched to ${teamName}: ${first.name}`]
        : team
          ? [`${teamName} 当前无人值班`, `nobody of ${teamName} is on duty`]
          : [`未配置班组 ${wo.team}`, `no team ${wo.team} configured`]
    // "<zh> / <en>": the crew app shows the half in the reader's language, so a note by hand goes in both.
    const note = by.note ? `${zh}; ${by.note} / ${en}; ${by.note}` : `${zh} / ${en}`
    const events: NewEvent[] = [{ action: 'dispatched', actor: by.username, note, at: now }]
    this.store.save(
      wo,
      events,
      () => {
        if (first && team) this.notify(wo, team, first, 'dispatch', 0)
      },
      true,
    )
    this.opts.metrics?.workOrdersOpened.inc({
      type: wo.alert_type,
      via: by.username === SYSTEM ? 'auto' : 'manual',
    })
    if (alert.assigned_team !== wo.team) {
      this.onAlertStore(() =>
        this.opts.alerts.assign(alert.id, wo.team, {
          actor: SYSTEM,
          channel: 'dispatch',
          note: '已开工单 / work order opened',
        }),
      )
    }
    this.arm(wo)
    return wo
  }

  private maybeOpen(alert: Alert): void {
    if (alert.suppressed || alert.status === 'resolved' || alert.condition !== 'raised') return
    if (!this.router.route(alert).autoWorkOrder || this.store.anyFor(alert.id)) return
    try {
      this.open(alert, { username: SYSTEM })
    } catch (err) {
      this.opts.log.error({ err, alert: alert.id }, 'work order not opened')
    }
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  accept(id: string, by: WorkOrderActor): WorkOrder {
    const wo = this.mustGet(id, ['dispatched'])
    const now = this.clock.now()
    const member = this.memberRef(wo, by.username)
    wo.status = 'accepted'
    wo.accepted_at = now
    if (member) {
      wo.assignee = member
      if (!wo.participants.includes(member)) wo.participants.push(member)
    }
    const events = [...this.lateBreaches(wo, now), this.event('accepted', by, now)]
    this.store.save(wo, events)
    this.arm(wo)
    // Accepting the order acknowledges the alert (time to acknowledge).
    const alert = wo.alert_id ? this.opts.alerts.get(wo.alert_id) : undefined
    if (alert?.status === 'active') {
      const acked = this.onAlertStore(() =>
        this.opts.alerts.acknowledge(alert.id, {
          actor: by.username,
          channel: 'dispatch',
          note: bilingual('工单已接单', 'work order accepted', by.note),
        }),
      )
      if (acked && wo.acknowledged_at === null) {
        wo.acknowledged_at = acked.acknowledged_at
        this.store.save(wo, [])
      }
    }
    return wo
  }

  arrive(id: string, by: WorkOrderActor): WorkOrder {
    const wo = this.mustGet(id, ['accepted'])
    const now = this.clock.now()
    wo.status = 'on_site'
    wo.on_site_at = now
    this.store.save(wo, [...this.lateBreaches(wo, now), this.event('on_site', by, now)])
    this.arm(wo)
    return wo
  }

  /** Resolve the order, and its alert unless `fromAlert` (the alert was resolved first). */
  resolve(id: string, by: WorkOrderActor, fromAlert = false): WorkOrder {
    const wo = this.mustGet(id, OPEN_STATUSES)
    const now = this.clock.now()
    wo.status = 'resolved'
    wo.resolved_at = now
    this.store.save(wo, [...this.lateBreaches(wo, now), this.event('resolved', by, now)], () =>
      this.notifyClosed(wo, by),
    )
    this.disarm(wo.id)
    const alert = wo.alert_id ? this.opts.alerts.get(wo.alert_id) : undefined
    if (!fromAlert && alert && alert.status !== 'resolved') {
      this.onAlertStore(() =>
        this.opts.alerts.resolve(alert.id, {
          actor: by.username,
          channel: 'dispatch',
          note: bilingual('工单已完成', 'work order resolved', by.note),
        }),
      )
    }
    return wo
  }

  cancel(id: string, by: WorkOrderActor): WorkOrder {
    const wo = this.mustGet(id, OPEN_STATUSES)
    const now = this.clock.now()
    wo.status = 'cancelled'
    wo.cancelled_at = now
    this.store.save(wo, [this.event('cancelled', by, now)], () => this.notifyClosed(wo, by))
    this.disarm(wo.id)
    return wo
  }

  /** Everyone notified about an order hears that it is closed, except whoever closed it. */
  private notifyClosed(wo: WorkOrder, by: WorkOrderActor): void {
    const own = new Set(this.membersOf(by.username))
    for (const r of wo.participants) {
      if (own.has(r)) continue
      const [teamId, memberId] = r.split('/') as [string, string]
      const team = this.router.team(teamId)
      const member = team?.members.find((m) => m.id === memberId)
      if (team && member) this.notify(wo, team, member, 'closed', 0)
    }
  }

  comment(id: string, by: WorkOrderActor): WorkOrder {
    const wo = this.store.get(id)
    if (!wo) throw new ZhianError('ZHIAN_ERR_UNKNOWN_WORK_ORDER', id)
    this.store.save(wo, [this.event('commented', by, this.clock.now())])
    return wo
  }

  private event(action: NewEvent['action'], by: WorkOrderActor, at: number): NewEvent {
    return { action, actor: by.username, note: by.note ?? null, at }
  }

  private mustGet(id: string, from: readonly WorkOrderStatus[]): WorkOrder {
    const wo = this.store.get(id)
    if (!wo) throw new ZhianError('ZHIAN_ERR_UNKNOWN_WORK_ORDER', id)
    if (!from.includes(wo.status))
      throw new ZhianError('ZHIAN_ERR_WORK_ORDER_STATE', `work order ${id} is ${wo.status}`)
    return wo
  }

  /** The member a user is in this order's team, else in any team. */
  private memberRef(wo: WorkOrder, username: string): string | undefined {
    const refs = this.membersOf(username)
    return refs.find((r) => r.startsWith(`${wo.team}/`)) ?? refs[0]
  }

  // ───────────────────────────── alerts → work orders ─────────────────────────────

  private onAlert(alert: Alert, entry: AuditEntry): void {
    if (!this.running || entry.channel === 'dispatch') return
    try {
      if (entry.action === 'raised' || entry.action === 'retriggered') this.maybeOpen(alert)
      const wo = this.store.openFor(alert.id)
      if (!wo) return
      if (entry.action === 'acknowledged' && wo.acknowledged_at === null) {
        wo.acknowledged_at = entry.at
        this.store.save(wo, [])
      } else if (entry.action === 'resolved') {
        const [zh, en] =
          entry.actor === 'rule' ? ['告警已自动恢复', 'alert cleared'] : ['告警已解决', 'alert resolved']
        const note = entry.note ? `${zh}: ${entry.note} / ${en}: ${entry.note}` : `${zh} / ${en}`
        this.resolve(wo.id, { username: entry.actor, note }, true)
      }
    } catch (err) {
      this.opts.log.error({ err, alert: alert.id }, 'dispatch failed for an alert change')
    }
  }

  /** Calls into the alert store fail on a race (resolved meanwhile): log, never throw to the caller. */
  private onAlertStore<T>(fn: () => T): T | undefined {
    try {
      return fn()
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'alert store refused a dispatch change')
      return undefined
    }
  }

  // ───────────────────────────── timers: SLA, reminders, escalation ─────────────────────────────

  /** The next moment something is due for an open order. */
  private nextDue(wo: WorkOrder): number | undefined {
    const due: number[] = []
    for (const stage of ['accept', 'arrive', 'resolve'] as const) {
      const limit = wo.sla[stage]
      if (limit === null || wo[STAGE_DONE[stage]] !== null || wo.breaches.some((b) => b.stage === stage))
        continue
      due.push(wo.opened_at + limit)
    }
    if (wo.status === 'dispatched') {
      const step = this.stepDue(wo)
      if (step !== undefined) due.push(step)
      if (wo.reminders_sent < wo.escalation.remind_max && wo.escalation.remind_every > 0)
        due.push(wo.dispatched_at + wo.escalation.remind_every * (wo.reminders_sent + 1))
    }
    return due.length ? Math.min(...due) : undefined
  }

  private stepDue(wo: WorkOrder): number | undefined {
    const steps = wo.escalation.steps
    if (wo.escalation_level >= steps.length) return undefined
    return wo.dispatched_at + steps.slice(0, wo.escalation_level + 1).reduce((sum, s) => sum + s.after, 0)
  }

  private arm(wo: WorkOrder): void {
    this.disarm(wo.id)
    if (!this.running || !OPEN_STATUSES.includes(wo.status)) return
    const due = this.nextDue(wo)
    if (due === undefined) return
    this.timers.set(
      wo.id,
      this.clock.setTimer(due, () => {
        this.timers.delete(wo.id)
        try {
          this.tick(wo.id)
        } catch (err) {
          this.opts.log.error({ err, work_order: wo.id }, 'work-order timer failed')
        }
      }),
    )
  }

  private disarm(id: string): void {
    this.clock.clearTimer(this.timers.get(id))
    this.timers.delete(id)
  }

  /** Everything due now: SLA breaches, escalation steps, one reminder. */
  private tick(id: string): void {
    const wo = this.store.get(id)
    if (!wo || !OPEN_STATUSES.includes(wo.status)) return
    const now = this.clock.now()
    const events: NewEvent[] = this.lateBreaches(wo, now, true)
    const sends: (() => void)[] = []
    // Whoever an escalation just reached gets no reminder in the same breath.
    const notifiedNow = new Set<string>()
    const team = this.router.team(wo.team)
    for (let due = this.stepDue(wo); wo.status === 'dispatched' && due !== undefined && due <= now; ) {
      const step = wo.escalation.steps[wo.escalation_level]!
      wo.escalation_level++
      const waited = minutes(now - wo.dispatched_at)
      if (step.to === 'call') {
        this.callStep(wo, now, waited, events, sends)
        due = this.stepDue(wo)
        continue
      }
      const target = this.escalationTarget(wo, team, step.to)
      const stepText = this.stepText(step.to)
      if (target) {
        const r = ref(target.team.id, target.member.id)
        if (!wo.participants.includes(r)) wo.participants.push(r)
        if (step.to === 'next_on_duty') wo.assignee = r
        notifiedNow.add(r)
        const level = wo.escalation_level
        sends.push(() => this.notify(wo, target.team, target.member, 'escalation', level))
        events.push({
          action: 'escalated',
          actor: SYSTEM,
          at: now,
          note: `${waited} 分钟未接单,升级至${stepText.zh} ${target.team.name} ${target.member.name} / not accepted after ${waited} min, escalated to the ${stepText.en}: ${target.team.name}, ${target.member.name}`,
        })
        this.opts.metrics?.escalations.inc({ team: wo.team })
      } else {
        events.push({
          action: 'escalated',
          actor: SYSTEM,
          at: now,
          note: `升级至${stepText.zh}:无人可通知,跳过 / escalation to the ${stepText.en}: nobody to notify, skipped`,
        })
      }
      due = this.stepDue(wo)
    }
    if (wo.status === 'dispatched') {
      let reminded = false
      const { remind_every: every, remind_max: max } = wo.escalation
      while (
        every > 0 &&
        wo.reminders_sent < max &&
        wo.dispatched_at + every * (wo.reminders_sent + 1) <= now
      ) {
        wo.reminders_sent++
        reminded = true
      }
      if (reminded) {
        const n = wo.reminders_sent
        for (const r of wo.participants) {
          if (notifiedNow.has(r)) continue
          const [teamId, memberId] = r.split('/') as [string, string]
          const t = this.router.team(teamId)
          const m = t?.members.find((x) => x.id === memberId)
          if (t && m) sends.push(() => this.notify(wo, t, m, 'reminder', n))
        }
        events.push({
          action: 'reminded',
          actor: SYSTEM,
          at: now,
          note: `第 ${n}/${max} 次提醒 / reminder ${n} of ${max}`,
        })
      }
    }
    if (events.length > 0) {
      this.store.save(wo, events, () => {
        for (const send of sends) send()
      })
      // The alert's audit log shows escalations too.
      const alert = wo.alert_id ? this.opts.alerts.get(wo.alert_id) : undefined
      if (alert && alert.status !== 'resolved') {
        for (const e of events.filter((x) => x.action === 'escalated' || x.action === 'sla_breached')) {
          this.onAlertStore(() =>
            this.opts.alerts.comment(alert.id, {
              actor: SYSTEM,
              channel: 'dispatch',
              note: e.note,
            }),
          )
        }
      }
    }
    this.arm(wo)
  }

  /** SLA stages past due and not yet recorded; `open` = still not done (timer), else done late. */
  private lateBreaches(wo: WorkOrder, now: number, openOnly = false): NewEvent[] {
    const events: NewEvent[] = []
    for (const stage of ['accept', 'arrive', 'resolve'] as const) {
      const limit = wo.sla[stage]
      if (limit === null || wo.breaches.some((b) => b.stage === stage)) continue
      const done = wo[STAGE_DONE[stage]] as number | null
      const due = wo.opened_at + limit
      const late = openOnly ? done === null && due <= now : done !== null && done > due
      // A stage completing now (accept/arrive/resolve) is checked by the caller after it set the time.
      const completingLate = !openOnly && done === null && due <= now
      if (!late && !completingLate) continue
      wo.breaches.push({ stage, due_at: due, at: now })
      this.opts.metrics?.slaBreaches.inc({ type: wo.alert_type, stage })
      const text = SLA_STAGE_NAMES[stage]
      events.push({
        action: 'sla_breached',
        actor: SYSTEM,
        at: now,
        note: `超过${text.zh}时限 ${span(limit).zh} / ${text.en.toLowerCase()} SLA of ${span(limit).en} breached`,
      })
    }
    return events
  }

  /** The `call` step: a voice call to everyone notified so far who has a voice channel. */
  private callStep(
    wo: WorkOrder,
    now: number,
    waited: string,
    events: NewEvent[],
    sends: (() => void)[],
  ): void {
    const callees = wo.participants.flatMap((r) => {
      const [teamId, memberId] = r.split('/') as [string, string]
      const team = this.router.team(teamId)
      const member = team?.members.find((m) => m.id === memberId)
      return team && member && channelsFor('call', member.channels).length > 0 ? [{ team, member }] : []
    })
    const level = wo.escalation_level
    for (const c of callees) sends.push(() => this.notify(wo, c.team, c.member, 'call', level))
    const names = callees.map((c) => c.member.name).join('、')
    events.push({
      action: 'escalated',
      actor: SYSTEM,
      at: now,
      note: callees.length
        ? `${waited} 分钟未接单,语音呼叫 ${names} / not accepted after ${waited} min, voice call to ${callees.map((c) => c.member.name).join(', ')}`
        : '语音呼叫:已通知的人都没有语音通知渠道,跳过 / voice call: nobody notified has a voice channel, skipped',
    })
    if (callees.length) this.opts.metrics?.escalations.inc({ team: wo.team })
  }

  /** What a voice call says: Chinese only, with display names, one sentence for templates that take the whole text. */
  private speech(wo: WorkOrder, ask: string): Message['speech'] {
    const name = (id: string | null, of: 'site' | 'device') => (id ? (this.opts.names?.[of](id) ?? id) : '')
    const estate = name(wo.estate, 'site')
    const device = name(wo.device_id, 'device')
    // The alert's own sentence names the device already.
    return {
      estate,
      device,
      alert: wo.title.zh,
      text: `${estate ? `${estate},` : ''}${unspeakable(wo.message.zh)}。${ask}`,
    }
  }

  private escalationTarget(
    wo: WorkOrder,
    team: TeamConfig | undefined,
    to: string,
  ): { team: TeamConfig; member: MemberConfig } | undefined {
    const place = wo
    if (to === 'next_on_duty') {
      if (!team) return undefined
      const next = this.router
        .onDuty(team, place, this.clock.now())
        .find((m) => !wo.participants.includes(ref(team.id, m.id)))
      return next ? { team, member: next } : undefined
    }
    if (to === 'lead') {
      const lead = team?.lead ? team.members.find((m) => m.id === team.lead) : undefined
      return team && lead ? { team, member: lead } : undefined
    }
    const other = this.router.team(to.slice('team:'.length))
    if (!other || !this.router.serves(other, place)) return undefined
    // Another team (estate manager, community grid): its lead, else whoever is on duty there.
    const member =
      (other.lead ? other.members.find((m) => m.id === other.lead) : undefined) ??
      this.router.onDuty(other, place, this.clock.now())[0]
    return member ? { team: other, member } : undefined
  }

  // ───────────────────────────── notifications ─────────────────────────────

  /** Queue one notification (inside the caller's transaction). */
  private notify(
    wo: WorkOrder,
    team: TeamConfig,
    member: MemberConfig,
    purpose: NotificationPurpose,
    n: number,
  ): void {
    const who = ref(team.id, member.id)
    const key = `${wo.id}:${purpose}:${n}:${who}`
    this.outbox.enqueue({
      key,
      work_order_id: wo.id,
      member: who,
      purpose,
      channels: member.channels,
      message: this.message(wo, team, member, purpose, n, key),
    })
  }

  private message(
    wo: WorkOrder,
    team: TeamConfig,
    member: MemberConfig,
    purpose: NotificationPurpose,
    n: number,
    key: string,
  ): Message {
    const link = `${this.opts.linkBase()}/#/work-orders/${wo.id}`
    const sev = SEVERITY_NAMES[wo.severity]
    const prefix: Record<NotificationPurpose, string> = {
      dispatch: '【智安工单】',
      reminder: `【工单提醒 ${n}】`,
      escalation: '【工单升级】',
      closed: '【工单关闭】',
      call: '【紧急呼叫】',
    }
    // Where, as people name it (the hub's names of sites and devices; an id only when none is known).
    const name = (id: string | null, of: 'site' | 'device') => (id ? (this.opts.names?.[of](id) ?? id) : '')
    const place = [name(wo.estate, 'site'), name(wo.building, 'site'), name(wo.device_id, 'device')]
      .filter(Boolean)
      .join(' / ')
    const closed = wo.status === 'resolved' ? ['已完成', 'resolved'] : ['已取消', 'cancelled']
    const ask: Record<NotificationPurpose, [string, string]> = {
      dispatch: ['请尽快接单并前往现场。', 'Please accept and go on site.'],
      reminder: ['工单仍未接单,请尽快接单。', 'Still not accepted: please accept.'],
      escalation: [
        `工单 ${minutes(this.clock.now() - wo.dispatched_at)} 分钟未接单,已升级,请立即处理。`,
        'Not accepted in time: escalated to you. Please act now.',
      ],
      closed: [`工单${closed[0]},无需再处理。`, `Work order ${closed[1]}: no action needed.`],
      call: [
        `工单已 ${minutes(this.clock.now() - wo.dispatched_at)} 分钟无人接单,请立即处理。`,
        'Nobody accepted the work order: please act now.',
      ],
    }
    const lines = [
      `${wo.message.zh}`,
      `级别:${sev.zh}  位置:${place}  班组:${team.name}  接收人:${member.name}`,
      ask[purpose][0],
      `${wo.title.en}: ${wo.message.en} (severity ${sev.en.toLowerCase()}, ${place})`,
      ask[purpose][1],
    ]
    return {
      key,
      event: `work_order.${purpose === 'dispatch' ? 'dispatched' : purpose === 'escalation' ? 'escalated' : purpose}`,
      title: `${prefix[purpose]}${wo.title.zh} ${wo.title.en}`,
      lines,
      link,
      speech: this.speech(wo, ask[purpose][0]),
      data: {
        purpose,
        recipient: { team: team.id, member: member.id, name: member.name },
        work_order: {
          id: wo.id,
          status: wo.status,
          team: wo.team,
          alert_id: wo.alert_id,
          alert_type: wo.alert_type,
          severity: wo.severity,
          estate: wo.estate,
          building: wo.building,
          device_id: wo.device_id,
          title: wo.title,
          message: wo.message,
          opened_at: wo.opened_at,
          dispatched_at: wo.dispatched_at,
          sla: wo.sla,
        },
      },
    }
  }

  /** An escalation step in words, with the team's name (the history is read by people, not ids). */
  private stepText(to: string): { zh: string; en: string } {
    if (to === 'next_on_duty') return { zh: '下一位值班人员', en: 'next on duty' }
    if (to === 'lead') return { zh: '班组长', en: 'team lead' }
    const name = this.router.team(to.slice('team:'.length))?.name ?? to.slice('team:'.length)
    return { zh: `班组「${name}」`, en: `team ${name}` }
  }

  /** A notification reached its end: it is part of the work order's life. */
  private settled(d: Delivery, workOrderId: string): void {
    const wo = this.store.get(workOrderId)
    if (!wo) return
    const [teamId, memberId] = d.member.split('/')
    const name = this.router.team(teamId ?? '')?.members.find((m) => m.id === memberId)?.name ?? d.member
    const what = PURPOSE_TEXT[d.purpose]
    const channel = wordOf(CHANNEL_NAMES, d.channel ?? '')
    const note =
      d.status === 'delivered'
        ? `${what.zh}已送达 ${name}(${channel.zh}) / ${what.en} delivered to ${name} via ${channel.en}`
        : `${what.zh}发送失败 ${name} / ${what.en} to ${name} failed: ${d.last_error}`
    this.store.save(wo, [{ action: 'notified', actor: SYSTEM, note, at: this.clock.now() }])
  }
}

/**
 * A text-to-speech engine spells a link out letter by letter (a camera's snapshot): a call leaves out
 * the link with its label (",抓拍:https://…", "(抓拍:https://…)").
 */
export function unspeakable(text: string): string {
  // \uFF0C \uFF1B \uFF1A \uFF08 \uFF09: the full-width comma, semicolon, colon and parentheses of Chinese text.
  return text
    .replace(/[,;\uFF0C\uFF1B]?\s*(?:抓拍|snapshot)\s*[:\uFF1A]\s*https?:\/\/[^\s)\uFF09]+/gi, '')
    .replace(/https?:\/\/[^\s)\uFF09]+/gi, '')
    .replace(/[(\uFF08]\s*[)\uFF09]/g, '')
    .trim()
}
