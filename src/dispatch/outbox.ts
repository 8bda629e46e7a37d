import type { Metrics } from '../core/metrics.ts'
import type { Clock, TimerHandle } from '../rules/clock.ts'
import { type Db, migrate } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import { accepted, buildRequest, type Message } from './channels.ts'
import type { ChannelConfig } from './config.ts'
import type { Delivery, NotificationPurpose } from './types.ts'

/**
 * The durable notification outbox. A notification is a row written in the same transaction as the
 * work-order change that caused it, so a crash or restart never loses one; a worker sends due rows,
 * retries with exponential backoff and jitter, and falls back to the member's next channel after
 * `attemptsPerChannel` failures (wrapping round to the first until `maxAgeMs`). Every attempt is
 * logged in `deliveries`. At-least-once: a crash between the receiver's 2xx and our commit resends,
 * with the same idempotency key, so the receiver can drop the duplicate.
 */

export const OUTBOX_MIGRATIONS = [
  `CREATE TABLE outbox (
     key TEXT PRIMARY KEY,
     work_order_id TEXT NOT NULL,
     member TEXT NOT NULL,
     purpose TEXT NOT NULL,
     channels TEXT NOT NULL,
     message TEXT NOT NULL,
     status TEXT NOT NULL,
     channel_index INTEGER NOT NULL DEFAULT 0,
     channel_attempts INTEGER NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     delivered_at INTEGER
   );
   CREATE INDEX outbox_due ON outbox(status, next_at);
   CREATE INDEX outbox_work_order ON outbox(work_order_id, created_at);
   CREATE TABLE deliveries (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     key TEXT NOT NULL,
     at INTEGER NOT NULL,
     channel_index INTEGER NOT NULL,
     channel TEXT NOT NULL,
     ok INTEGER NOT NULL,
     error TEXT
   );
   CREATE INDEX deliveries_key ON deliveries(key, seq);`,
] as const

export interface RetryPolicy {
  baseMs: number
  maxMs: number
  attemptsPerChannel: number
  /** Give up (status `failed`) when a notification is older than this. */
  maxAgeMs: number
  timeoutMs: number
  concurrency: number
}

export const DEFAULT_RETRY: RetryPolicy = {
  baseMs: 1000,
  maxMs: 5 * 60_000,
  attemptsPerChannel: 2,
  maxAgeMs: 24 * 3600_000,
  timeoutMs: 10_000,
  concurrency: 8,
}

export interface Notification {
  key: string
  work_order_id: string
  member: string
  purpose: NotificationPurpose
  channels: ChannelConfig[]
  message: Message
}

interface OutboxRow {
  key: string
  work_order_id: string
  member: string
  purpose: NotificationPurpose
  channels: string
  message: string
  status: 'pending' | 'delivered' | 'failed'
  channel_index: number
  channel_attempts: number
  attempts: number
  next_at: number
  last_error: string | null
  created_at: number
  delivered_at: number | null
}

export interface OutboxOptions {
  db: Db
  clock: Clock
  log: Logger
  metrics?: Metrics | undefined
  retry?: Partial<RetryPolicy> | undefined
  /** A delivery reached its end (delivered or failed). */
  onSettled?: (d: Delivery, workOrderId: string) => void
  random?: () => number
}

export class Outbox {
  readonly retry: RetryPolicy
  private timer: TimerHandle | undefined
  private running = false
  private readonly inFlight = new Map<string, Promise<void>>()
  private readonly random: () => number

  constructor(private readonly opts: OutboxOptions) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry }
    this.random = opts.random ?? Math.random
  }

  /** Tables only; call before anything enqueues (the dispatcher opens it before its own start). */
  open(): void {
    migrate(this.opts.db, 'outbox', OUTBOX_MIGRATIONS)
  }

  start(): void {
    this.running = true
    // A restart is a good moment to retry: do not sit out a long backoff from before the stop.
    this.opts.db
      .prepare("UPDATE outbox SET next_at = ? WHERE status = 'pending' AND next_at > ?")
      .run(this.opts.clock.now(), this.opts.clock.now())
    this.schedule()
  }

  async stop(): Promise<void> {
    this.running = false
    this.opts.clock.clearTimer(this.timer)
    this.timer = undefined
    await Promise.allSettled([...this.inFlight.values()])
  }

  /** Queue a notification (call inside the transaction of the change that caused it). Same key twice = once. */
  enqueue(n: Notification): boolean {
    const now = this.opts.clock.now()
    const inserted =
      this.opts.db
        .prepare(
          `INSERT OR IGNORE INTO outbox (key, work_order_id, member, purpose, channels, message, status, next_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
        )
        .run(
          n.key,
          n.work_order_id,
          n.member,
          n.purpose,
          JSON.stringify(n.channels),
          JSON.stringify(n.message),
          now,
          now,
        ).changes > 0
    // Outside the caller's transaction is fine: the worker reads committed rows.
    if (inserted) queueMicrotask(() => this.schedule())
    return inserted
  }

  forWorkOrder(id: string): Delivery[] {
    const rows = this.opts.db
      .prepare('SELECT * FROM outbox WHERE work_order_id = ? ORDER BY created_at, key')
      .all(id) as OutboxRow[]
    return rows.map(toDelivery)
  }

  attemptsOf(key: string): { at: number; channel: string; ok: boolean; error: string | null }[] {
    return (
      this.opts.db
        .prepare('SELECT at, channel, ok, error FROM deliveries WHERE key = ? ORDER BY seq')
        .all(key) as { at: number; channel: string; ok: number; error: string | null }[]
    ).map((r) => ({ ...r, ok: r.ok === 1 }))
  }

  pending(): number {
    return (
      this.opts.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'").get() as { n: number }
    ).n
  }

  private schedule(): void {
    if (!this.running) return
    // Every slot busy: a send's `finally` schedules again. A timer now would find no free slot, arm
    // itself for the same past due time and spin.
    if (this.inFlight.size >= this.retry.concurrency) {
      this.opts.metrics?.outboxPending.set(this.pending())
      return
    }
    const busy = [...this.inFlight.keys()]
    const row = this.opts.db
      .prepare(
        `SELECT MIN(next_at) AS due FROM outbox WHERE status = 'pending'${
          busy.length ? ` AND key NOT IN (${busy.map(() => '?').join(',')})` : ''
        }`,
      )
      .get(...busy) as { due: number | null }
    this.opts.metrics?.outboxPending.set(this.pending())
    if (row.due === null) return
    if (this.timer && this.timer.due <= row.due) return
    this.opts.clock.clearTimer(this.timer)
    this.timer = this.opts.clock.setTimer(row.due, () => {
      this.timer = undefined
      this.runDue()
    })
  }

  private runDue(): void {
    if (!this.running) return
    const free = this.retry.concurrency - this.inFlight.size
    if (free > 0) {
      const rows = this.opts.db
        .prepare("SELECT * FROM outbox WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?")
        .all(this.opts.clock.now(), free + this.inFlight.size) as OutboxRow[]
      for (const row of rows.filter((r) => !this.inFlight.has(r.key)).slice(0, free)) {
        const p = this.send(row).finally(() => {
          this.inFlight.delete(row.key)
          this.schedule()
        })
        this.inFlight.set(row.key, p)
      }
    }
    this.schedule()
  }

  private async send(row: OutboxRow): Promise<void> {
    const channels = JSON.parse(row.channels) as ChannelConfig[]
    const message = JSON.parse(row.message) as Message
    const now = this.opts.clock.now()
    const channel = channels[row.channel_index]
    if (!channel) {
      this.finish(row, 'failed', 'no channel configured for this member', null)
      return
    }
    let error: string | undefined
    try {
      const req = buildRequest(channel, message, now)
      const res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(this.retry.timeoutMs),
      })
      const verdict = accepted(channel, res.status, await res.text())
      if (!verdict.ok) error = verdict.error
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      error = e.cause?.code ?? e.message
    }
    const at = this.opts.clock.now()
    this.opts.db
      .prepare(
        'INSERT INTO deliveries (key, at, channel_index, channel, ok, error) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(row.key, at, row.channel_index, channel.type, error ? 0 : 1, error ?? null)
    if (!error) {
      this.opts.metrics?.notifications.inc({ channel: channel.type, result: 'delivered' })
      this.finish(row, 'delivered', null, at)
      return
    }
    this.opts.metrics?.notifications.inc({ channel: channel.type, result: 'error' })
    this.opts.log.warn({ key: row.key, channel: channel.type, error }, 'notification attempt failed')
    const attempts = row.attempts + 1
    if (at - row.created_at >= this.retry.maxAgeMs) {
      this.finish({ ...row, attempts }, 'failed', error, null)
      return
    }
    let index = row.channel_index
    let channelAttempts = row.channel_attempts + 1
    let delay: number
    if (channelAttempts >= this.retry.attemptsPerChannel && channels.length > 1) {
      // Fall back to the next channel at once; after the last, start again from the first, with backoff.
      index = (index + 1) % channels.length
      channelAttempts = 0
      delay = index === 0 ? this.backoff(attempts) : 0
    } else delay = this.backoff(attempts)
    this.opts.db
      .prepare(
        `UPDATE outbox SET attempts = ?, channel_index = ?, channel_attempts = ?, next_at = ?, last_error = ?
         WHERE key = ? AND status = 'pending'`,
      )
      .run(attempts, index, channelAttempts, at + delay, error, row.key)
  }

  /** Exponential backoff with jitter: a random delay in [½, 1] × min(max, base × 2^(n−1)). */
  private backoff(attempts: number): number {
    const cap = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** Math.min(attempts - 1, 30))
    return Math.round(cap / 2 + (this.random() * cap) / 2)
  }

  private finish(
    row: OutboxRow,
    status: 'delivered' | 'failed',
    error: string | null,
    at: number | null,
  ): void {
    this.opts.db
      .prepare(
        `UPDATE outbox SET status = ?, attempts = ?, last_error = ?, delivered_at = ? WHERE key = ? AND status = 'pending'`,
      )
      .run(status, row.attempts + (status === 'delivered' ? 1 : 0), error, at, row.key)
    if (status === 'failed') {
      const channels = JSON.parse(row.channels) as ChannelConfig[]
      this.opts.metrics?.notifications.inc({
        channel: channels[row.channel_index]?.type ?? 'none',
        result: 'failed',
      })
    }
    const stored = this.opts.db.prepare('SELECT * FROM outbox WHERE key = ?').get(row.key) as OutboxRow
    try {
      this.opts.onSettled?.(toDelivery(stored), row.work_order_id)
    } catch (err) {
      this.opts.log.error({ err, key: row.key }, 'delivery listener failed')
    }
  }
}

function toDelivery(r: OutboxRow): Delivery {
  const channels = JSON.parse(r.channels) as ChannelConfig[]
  return {
    key: r.key,
    member: r.member,
    purpose: r.purpose,
    status: r.status,
    channel: channels[r.channel_index]?.type ?? null,
    channel_index: r.channel_index,
    attempts: r.attempts,
    last_error: r.last_error,
    created_at: r.created_at,
    delivered_at: r.delivered_at,
  }
}
