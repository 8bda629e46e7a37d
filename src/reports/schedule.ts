import crypto from 'node:crypto'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { SEVERITY_NAMES } from '../core/vocabulary.ts'
import type { Message } from '../dispatch/channels.ts'
import type { ChannelConfig, TeamConfig } from '../dispatch/config.ts'
import type { Outbox } from '../dispatch/outbox.ts'
import type { NotificationPurpose } from '../dispatch/types.ts'
import { ZhianError } from '../errors.ts'
import type { Logger } from '../util/logger.ts'
import type { ReportRequest } from './build.ts'
import type { ReportsConfig, ScheduleConfig } from './config.ts'
import { WEEKDAYS } from './config.ts'
import type { Report } from './model.ts'
import { localParts, localToUtc, resolvePeriod } from './period.ts'

/**
 * Scheduled reports: each schedule fires at its local time (daily, weekly on a weekday, monthly on a
 * day), builds the report of the last complete day / week / month and queues one message per
 * recipient in the dispatch outbox (durable, retried, channel fallback). The outbox key is
 * `report:<schedule>:<period>:<recipient>`, so a period is sent once however often the hub restarts;
 * a send time missed while the hub was down is made up at start within `catch_up`.
 */

export interface SchedulerOptions {
  config: ReportsConfig
  tz: string
  clock: Clock
  /** Builds a report (the report service, which owns the scheduler). */
  reports: { build(req: ReportRequest): Promise<Report> }
  outbox: Outbox
  teams: () => TeamConfig[]
  linkBase: () => string
  log: Logger
}

export interface Recipient {
  /** `<team>/<member>`, or `inline-<hash of the name>` (ASCII: it goes into the idempotency header) */
  ref: string
  channels: ChannelConfig[]
}

/** Outbox `purpose` of report messages (the outbox stores it as text). */
export const REPORT_PURPOSE = 'report' as NotificationPurpose

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

export class ReportScheduler {
  private readonly timers = new Map<string, TimerHandle>()
  private running = false
  /** Sends in flight (tests and stop() wait for them). */
  private readonly inFlight = new Set<Promise<void>>()
  /** Last period each schedule queued (for /api and tests). */
  readonly sent = new Map<string, string>()

  constructor(private readonly opts: SchedulerOptions) {}

  start(): void {
    this.running = true
    const teams = new Map(this.opts.teams().map((t) => [t.id, t]))
    for (const s of this.opts.config.schedules) {
      for (const r of s.recipients) {
        if ('team' in r) {
          const team = teams.get(r.team)
          if (!team) {
            throw new ZhianError(
              'ZHIAN_ERR_CONFIG_INVALID',
              `reports.schedules.${s.id}: unknown team "${r.team}"`,
            )
          }
          if (r.member && !team.members.some((m) => m.id === r.member)) {
            throw new ZhianError(
              'ZHIAN_ERR_CONFIG_INVALID',
              `reports.schedules.${s.id}: team "${r.team}" has no member "${r.member}"`,
            )
          }
        }
      }
    }
    // Inline recipients' channels for the outbox, which stores no secrets and looks them up at send
    // time. Kept after stop(): rows queued before it may still be due while the hub shuts down.
    this.opts.outbox.addDirectory((member, source) => {
      const s = this.opts.config.schedules.find((x) => `report:${x.id}` === source)
      return s ? this.recipients(s).find((r) => r.ref === member)?.channels : undefined
    })
    const now = this.opts.clock.now()
    const m = /^(\d+)([smhd])$/.exec(this.opts.config.catch_up)!
    const catchUp = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
    for (const s of this.opts.config.schedules) {
      const last = this.previous(s, now)
      if (last !== undefined && now - last <= catchUp) this.track(this.fire(s, last))
      this.arm(s, now)
    }
  }

  stop(): void {
    this.running = false
    for (const t of this.timers.values()) this.opts.clock.clearTimer(t)
    this.timers.clear()
  }

  /** Wait for sends already started (the outbox then delivers on its own). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight])
  }

  get schedules(): ScheduleConfig[] {
    return this.opts.config.schedules
  }

  /** When each schedule fires next (epoch ms). */
  nextDue(): Record<string, number> {
    return Object.fromEntries([...this.timers].map(([id, t]) => [id, t.due]))
  }

  /** The first send time strictly after `after`. */
  next(s: ScheduleConfig, after: number): number {
    const [hh, mm] = s.at.split(':').map(Number) as [number, number]
    const p = localParts(after, this.opts.tz)
    for (let i = 0; i < 70; i++) {
      const day = new Date(Date.UTC(p.y, p.m - 1, p.d + i))
      const date = { y: day.getUTCFullYear(), m: day.getUTCMonth() + 1, d: day.getUTCDate() }
      const weekday = (day.getUTCDay() + 6) % 7
      const matches =
        s.every === 'day' ||
        (s.every === 'week' && WEEKDAYS[weekday] === s.weekday) ||
        (s.every === 'month' && date.d === s.day)
      if (!matches) continue
      const at = localToUtc(date, this.opts.tz, hh * 60 + mm)
      if (at > after) return at
    }
    throw new Error(`schedule ${s.id}: no send time within 70 days`)
  }

  /** The last send time at or before `now`. */
  previous(s: ScheduleConfig, now: number): number | undefined {
    const span = s.every === 'day' ? 2 : s.every === 'week' ? 8 : 32
    let t = this.next(s, now - span * 86_400_000)
    if (t > now) return undefined
    for (;;) {
      const n = this.next(s, t)
      if (n > now) return t
      t = n
    }
  }

  private arm(s: ScheduleConfig, after: number): void {
    if (!this.running) return
    const due = this.next(s, after)
    this.timers.set(
      s.id,
      this.opts.clock.setTimer(due, () => {
        this.timers.delete(s.id)
        this.track(this.fire(s, due))
        this.arm(s, due)
      }),
    )
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p))
  }

  /** Build the report due at `at` and queue it for every recipient. */
  async fire(s: ScheduleConfig, at: number): Promise<void> {
    const period = resolvePeriod(s.every, at, this.opts.tz)
    try {
      const report = await this.opts.reports.build({ scope: s.scope, period: period.id, tz: this.opts.tz })
      const link = `${this.opts.linkBase()}/#/reports?scope=${encodeURIComponent(s.scope)}&period=${encodeURIComponent(period.id)}&lang=${s.lang}`
      for (const r of this.recipients(s)) {
        const key = `report:${s.id}:${period.id}:${r.ref}`
        this.opts.outbox.enqueue({
          key,
          work_order_id: `report:${s.id}`,
          member: r.ref,
          purpose: REPORT_PURPOSE,
          channels: r.channels,
          message: reportMessage(report, key, link),
        })
      }
      this.sent.set(s.id, period.id)
      this.opts.log.info({ schedule: s.id, scope: s.scope, period: period.id }, 'scheduled report queued')
    } catch (err) {
      this.opts.log.error({ schedule: s.id, err: (err as Error).message }, 'scheduled report failed')
    }
  }

  recipients(s: ScheduleConfig): Recipient[] {
    const teams = new Map(this.opts.teams().map((t) => [t.id, t]))
    const out: Recipient[] = []
    for (const r of s.recipients) {
      if ('team' in r) {
        for (const m of teams.get(r.team)?.members ?? []) {
          if (r.member && m.id !== r.member) continue
          out.push({ ref: `${r.team}/${m.id}`, channels: m.channels })
        }
      } else {
        const hash = crypto.createHash('sha256').update(r.name).digest('hex').slice(0, 12)
        out.push({ ref: `inline-${hash}`, channels: r.channels })
      }
    }
    return out
  }
}

/** The message: title, a few summary lines (zh, then en) and the link to the printable page. */
export function reportMessage(report: Report, key: string, link: string): Message {
  const s = report.summary
  const lines = [
    `告警 ${s.alerts} 起(上期 ${s.alerts_prev}),${SEVERITY_NAMES.critical.zh} ${s.critical};新开工单 ${s.work_orders_opened},完成 ${s.work_orders_resolved};期末未处理告警 ${s.open_alerts_at_end},未完成工单 ${s.open_work_orders_at_end};黑名单电梯 ${s.lifts_blacklisted} 台`,
    `Alerts ${s.alerts} (previous ${s.alerts_prev}), ${SEVERITY_NAMES.critical.en.toLowerCase()} ${s.critical}; work orders opened ${s.work_orders_opened}, resolved ${s.work_orders_resolved}; open at period end: ${s.open_alerts_at_end} alerts, ${s.open_work_orders_at_end} work orders; black-listed lifts ${s.lifts_blacklisted}`,
  ]
  const top = report.lifts.rows[0]
  if (top) lines.push(`故障最多电梯 / Most faults: ${top.name} ×${top.faults}`)
  return {
    key,
    event: 'report.scheduled',
    title: `${report.title.zh} / ${report.title.en}`,
    lines,
    link,
    data: {
      report: {
        scope: report.scope.id,
        period: {
          id: report.period.id,
          from: report.period.from,
          to: report.period.to,
          tz: report.period.tz,
        },
        summary: report.summary,
        alerts: report.alerts.map((a) => ({ type: a.type, count: a.count, prev: a.prev })),
        lifts: report.lifts.rows.slice(0, 10).map((l) => ({
          device_id: l.device_id,
          faults: l.faults,
          trapped: l.trapped,
          blacklisted: l.blacklisted,
        })),
      },
    },
  }
}
