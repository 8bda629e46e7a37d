import crypto from 'node:crypto'
import os from 'node:os'
import type { Clock, TimerHandle } from '../core/clock.ts'
import type { Metrics } from '../core/metrics.ts'
import { type Db, migrate } from '../store/db.ts'
import type { SqliteDb } from '../store/sqlite.ts'
import type { Logger } from '../util/logger.ts'
import { accepted, buildRequest, channelsFor, type Message } from './channels.ts'
import type { ChannelConfig, ChannelType } from './config.ts'
import { OUTBOUND_DEFAULTS, OutboundError, sendOutbound } from './outbound.ts'
import type { Delivery, NotificationPurpose } from './types.ts'

/**
 * The durable notification outbox. A notification is a row written in the same transaction as the
 * work-order change that caused it, so a crash or restart never loses one; a worker sends due rows,
 * retries with exponential backoff and jitter, and falls back to the member's next channel after
 * `attemptsPerChannel` failures (wrapping round to the first until `maxAgeMs`). Every attempt is
 * logged in `deliveries`. At-least-once: a crash between the receiver's 2xx and our commit resends,
 * with the same idempotency key, so the receiver can drop the duplicate.
 *
 * Secrets stay out of the store: a row keeps only the types of its member's channels, and the
 * channel itself (URL with a robot token, HMAC key, SMS bearer token) is looked up in the current
 * configuration at send time by member and position (`ChannelDirectory`). A channel that is no
 * longer there, or is now of another type, fails the notification with ZHIAN_ERR_CHANNEL_GONE.
 * Rows written by earlier versions still hold whole channel configs: they are sent with what they
 * hold (that is what was promised when they were queued) and are redacted once they settle.
 *
 * Several workers may work one table (the nodes of a cluster on one PostgreSQL store). A worker
 * claims due rows before sending them — `claimed_by`, `claimed_until` set in the statement that picks
 * them, with `FOR UPDATE SKIP LOCKED` on PostgreSQL so two workers picking at once take different
 * rows — and clears the claim when it records the attempt. A claim lasts a lease of twice the attempt
 * timeout: a worker that dies mid-send leaves its rows claimed until then, and another worker sends
 * them again with the same idempotency key (still at-least-once). SQLite has one process, one worker:
 * the same statement without the row lock.
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
  // Several workers on one PostgreSQL store: the claim of the worker sending a row, and whether the
  // leader's worker still has to announce a row a follower settled (0).
  `ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
   ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
   ALTER TABLE outbox ADD COLUMN announced INTEGER NOT NULL DEFAULT 1;
   CREATE INDEX outbox_unannounced ON outbox(announced);`,
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
  /** Who it is for, as the directory knows them (`<team>/<member>`, or the caller's own reference). */
  member: string
  purpose: NotificationPurpose
  /** The member's channels now, in fallback order; only their types are stored. */
  channels: readonly ChannelConfig[]
  message: Message
}

/**
 * The member's channels in the current configuration (`source` is the row's `work_order_id`, e.g.
 * `report:<schedule>`), or undefined when this directory does not know the member.
 */
export type ChannelDirectory = (member: string, source: string) => readonly ChannelConfig[] | undefined

/** What a row stores of a channel. Older rows hold a whole ChannelConfig (see the class comment). */
type StoredChannel = { type: ChannelType } | ChannelConfig

const storedForm = (channels: readonly { type: ChannelType }[]): string =>
  JSON.stringify(channels.map((c) => ({ type: c.type })))

const parseChannels = (text: string) => JSON.parse(text) as StoredChannel[]

const isLegacy = (channels: StoredChannel[]) => channels.some((c) => 'url' in c)

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
  claimed_by: string | null
  claimed_until: number | null
  announced: number
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
  /** Where channels are looked up at send time; more can be added with addDirectory(). */
  directory?: ChannelDirectory | undefined
  /** This worker's name in the rows it claims (default: host, process and a random part). */
  worker?: string | undefined
  /**
   * How often an idle worker looks for rows other nodes queued (a named `worker` on PostgreSQL: a cluster node; otherwise this
   * process queues every row and wakes its worker itself). Default 1 s.
   */
  pollMs?: number | undefined
}

export interface WorkerOptions {
  /**
   * A cluster's follower helping the leader's worker. It leaves rows whose member none of its
   * directories knows to the leader instead of failing them (a follower knows the teams, not
   * scheduled reports' inline recipients), and it does not announce what it settles (`onSettled`
   * writes the work order's note, which the leader alone changes): the leader's worker announces
   * those rows, once.
   */
  follower?: boolean
}

export class Outbox {
  readonly retry: RetryPolicy
  readonly worker: string
  private timer: TimerHandle | undefined
  private running = false
  private follower = false
  /** Rows this worker left to others (member unknown here), with when to look at them again. */
  private readonly left = new Map<string, number>()
  private readonly inFlight = new Map<string, Promise<void>>()
  private readonly random: () => number
  private readonly directories = new Set<ChannelDirectory>()

  constructor(private readonly opts: OutboxOptions) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry }
    this.random = opts.random ?? Math.random
    if (opts.directory) this.directories.add(opts.directory)
    this.worker = opts.worker ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`
  }

  /** How long a claim keeps other workers off a row: the attempt's time limit, twice. */
  get leaseMs(): number {
    return 2 * this.retry.timeoutMs
  }

  /** Another source of channels (scheduled reports' inline recipients); the first that knows a member answers. */
  addDirectory(directory: ChannelDirectory): void {
    this.directories.add(directory)
  }

  /** Tables only; call before anything enqueues (the dispatcher opens it before its own start). */
  open(): void {
    migrate(this.opts.db, 'outbox', OUTBOX_MIGRATIONS)
    this.redactSettled()
  }

  /** Start working due rows (again: a follower that becomes leader calls it with other options). */
  start(options: WorkerOptions = {}): void {
    this.follower = options.follower ?? false
    this.left.clear()
    if (!this.running) this.releaseStaleClaims()
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
          `INSERT INTO outbox (key, work_order_id, member, purpose, channels, message, status, next_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING`,
        )
        .run(
          n.key,
          n.work_order_id,
          n.member,
          n.purpose,
          storedForm(channelsFor(n.purpose, n.channels)),
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
    const skip = this.skipped()
    // A row another worker holds is due here when its claim runs out.
    const row = this.opts.db
      .prepare(
        `SELECT MIN(CASE WHEN claimed_until > next_at THEN claimed_until ELSE next_at END) AS due
         FROM outbox WHERE status = 'pending'${notIn(skip)}`,
      )
      .get(...skip) as { due: number | null }
    this.opts.metrics?.outboxPending.set(this.pending())
    // Only a cluster's workers poll: other nodes queue rows this one hears nothing of. A single hub on
    // PostgreSQL is woken by its own enqueue, as on SQLite (a poll on a moved clock, the demo's recorded
    // week, would run once per simulated second).
    const poll =
      this.opts.db.dialect === 'postgres' && this.opts.worker !== undefined
        ? this.opts.clock.now() + (this.opts.pollMs ?? 1000)
        : undefined
    const due = row.due === null ? poll : poll === undefined ? row.due : Math.min(row.due, poll)
    if (due === undefined) return
    if (this.timer && this.timer.due <= due) return
    this.opts.clock.clearTimer(this.timer)
    this.timer = this.opts.clock.setTimer(due, () => {
      this.timer = undefined
      if (!this.follower) this.announce()
      this.runDue()
    })
  }

  private runDue(): void {
    if (!this.running) return
    const free = this.retry.concurrency - this.inFlight.size
    if (free > 0) {
      for (const row of this.claim(free)) {
        const p = this.send(row).finally(() => {
          this.inFlight.delete(row.key)
          this.schedule()
        })
        this.inFlight.set(row.key, p)
      }
    }
    this.schedule()
  }

  /**
   * Claims of an earlier run of this worker died with it: send those rows now, not after the lease.
   * On SQLite this process is the only worker, so every claim in the file is such a one.
   */
  private releaseStaleClaims(): void {
    const sqlite = this.opts.db.dialect === 'sqlite'
    this.opts.db
      .prepare(
        `UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE status = 'pending' AND ${
          sqlite ? 'claimed_by IS NOT NULL' : 'claimed_by = ?'
        }`,
      )
      .run(...(sqlite ? [] : [this.worker]))
  }

  /** Keys this worker does not take now: those it is sending, those it left to others. */
  private skipped(): string[] {
    const now = this.opts.clock.now()
    for (const [key, until] of this.left) if (until <= now) this.left.delete(key)
    return [...this.inFlight.keys(), ...this.left.keys()]
  }

  /**
   * Take up to `limit` due rows that no live claim holds, and mark them as this worker's, in one
   * transaction. PostgreSQL: `FOR UPDATE SKIP LOCKED` passes over rows another worker is claiming
   * right now, and a row claimed and committed meanwhile is re-checked on its newest version (read
   * committed), so no two workers hold one row. SQLite has a single writer: the transaction is enough.
   */
  private claim(limit: number): OutboxRow[] {
    const db = this.opts.db
    const now = this.opts.clock.now()
    const skip = this.skipped()
    const lock = db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''
    const rows = db.transaction(() => {
      const keys = (
        db
          .prepare(
            `SELECT key FROM outbox
             WHERE status = 'pending' AND next_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)${notIn(skip)}
             ORDER BY next_at LIMIT ?${lock}`,
          )
          .all(now, now, ...skip, limit) as { key: string }[]
      ).map((r) => r.key)
      if (keys.length === 0) return []
      return db
        .prepare(
          `UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE key IN (${keys.map(() => '?').join(',')}) RETURNING *`,
        )
        .all(this.worker, now + this.leaseMs, ...keys) as OutboxRow[]
    })()
    return rows.sort((a, b) => a.next_at - b.next_at || a.created_at - b.created_at)
  }

  /** Give a claimed row back untouched: another worker knows its member. */
  private leave(row: OutboxRow): void {
    this.left.set(row.key, this.opts.clock.now() + this.leaseMs)
    this.opts.db
      .prepare('UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE key = ? AND claimed_by = ?')
      .run(row.key, this.worker)
  }

  /** Whether any directory of this worker knows the row's member (old rows carry their channels). */
  private knows(row: OutboxRow, channels: StoredChannel[]): boolean {
    const at = channels[row.channel_index]
    if (!at || 'url' in at) return true
    for (const directory of this.directories) if (directory(row.member, row.work_order_id)) return true
    return false
  }

  /** The channel to use now: the row's own config if it is an old row, else the directory's. */
  private resolve(row: OutboxRow, channels: StoredChannel[]): ChannelConfig | undefined {
    const at = channels[row.channel_index]
    if (!at || 'url' in at) return at
    for (const directory of this.directories) {
      const list = directory(row.member, row.work_order_id)
      if (!list) continue
      const channel = channelsFor(row.purpose, list)[row.channel_index]
      return channel?.type === at.type ? channel : undefined
    }
    return undefined
  }

  private async send(row: OutboxRow): Promise<void> {
    const channels = parseChannels(row.channels)
    const message = JSON.parse(row.message) as Message
    const now = this.opts.clock.now()
    if (!channels[row.channel_index]) {
      this.finish(row, 'failed', 'no channel configured for this member', null)
      return
    }
    if (this.follower && !this.knows(row, channels)) {
      this.leave(row)
      return
    }
    const channel = this.resolve(row, channels)
    if (!channel) {
      const what = `${row.member} channel ${row.channel_index + 1} (${channels[row.channel_index]!.type})`
      this.finish(row, 'failed', `ZHIAN_ERR_CHANNEL_GONE: ${what} is no longer configured`, null)
      return
    }
    let error: string | undefined
    try {
      const req = buildRequest(channel, message, now)
      const res = await sendOutbound(req, { ...OUTBOUND_DEFAULTS, timeoutMs: this.retry.timeoutMs })
      const verdict = accepted(channel, res.status, res.body)
      if (!verdict.ok) error = verdict.error
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      error = err instanceof OutboundError ? e.message : (e.cause?.code ?? e.message)
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
        `UPDATE outbox SET attempts = ?, channel_index = ?, channel_attempts = ?, next_at = ?, last_error = ?,
                           claimed_by = NULL, claimed_until = NULL
         WHERE key = ? AND status = 'pending' AND claimed_by = ?`,
      )
      // Not when another worker took the row over after this one's lease ran out: its attempt counts.
      .run(attempts, index, channelAttempts, at + delay, error, row.key, this.worker)
  }

  /**
   * Rows of earlier versions that settled still hold channel secrets: keep only the types. On SQLite
   * the freed space is overwritten and the WAL emptied (scrubbed).
   */
  private redactSettled(): void {
    const db = this.opts.db
    const rows = db
      .prepare(`SELECT key, channels FROM outbox WHERE status != 'pending' AND channels LIKE '%"url"%'`)
      .all() as { key: string; channels: string }[]
    if (rows.length === 0) return
    const update = db.prepare('UPDATE outbox SET channels = ? WHERE key = ?')
    const redact = db.transaction(() => {
      for (const r of rows) update.run(storedForm(parseChannels(r.channels)), r.key)
    })
    if (db.dialect === 'sqlite') scrubbed(db as SqliteDb, redact)
    else {
      redact()
      // PostgreSQL keeps old row versions in the table's file: a full vacuum writes a new file without them.
      db.exec('VACUUM FULL outbox')
    }
    this.opts.log.info({ rows: rows.length }, 'channel secrets removed from settled outbox rows')
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
    const changed = this.opts.db
      .prepare(
        `UPDATE outbox SET status = ?, attempts = ?, last_error = ?, delivered_at = ?, claimed_by = NULL, claimed_until = NULL,
                           announced = ?
         WHERE key = ? AND status = 'pending'`,
      )
      .run(
        status,
        row.attempts + (status === 'delivered' ? 1 : 0),
        error,
        at,
        this.follower ? 0 : 1,
        row.key,
      ).changes
    // Settled once, by the worker that settled it (another may have finished the row first).
    if (changed === 0) return
    const channels = parseChannels(row.channels)
    if (isLegacy(channels)) this.redactSettled()
    if (status === 'failed') {
      this.opts.metrics?.notifications.inc({
        channel: channels[row.channel_index]?.type ?? 'none',
        result: 'failed',
      })
    }
    if (this.follower) return
    this.settled(this.opts.db.prepare('SELECT * FROM outbox WHERE key = ?').get(row.key) as OutboxRow)
  }

  private settled(row: OutboxRow): void {
    try {
      this.opts.onSettled?.(toDelivery(row), row.work_order_id)
    } catch (err) {
      this.opts.log.error({ err, key: row.key }, 'delivery listener failed')
    }
  }

  /**
   * Announce rows that followers settled (the leader's worker, at each wake-up): each is taken and
   * marked in one transaction, skipping rows another worker is taking, so it is announced once.
   */
  private announce(): void {
    const db = this.opts.db
    if (db.dialect !== 'postgres') return
    const rows = db.transaction(() => {
      const keys = (
        db
          .prepare('SELECT key FROM outbox WHERE announced = 0 ORDER BY key LIMIT 100 FOR UPDATE SKIP LOCKED')
          .all() as { key: string }[]
      ).map((r) => r.key)
      if (keys.length === 0) return []
      return db
        .prepare(
          `UPDATE outbox SET announced = 1 WHERE key IN (${keys.map(() => '?').join(',')}) RETURNING *`,
        )
        .all(...keys) as OutboxRow[]
    })()
    for (const row of rows.sort((a, b) => (a.delivered_at ?? 0) - (b.delivered_at ?? 0))) this.settled(row)
  }
}

function notIn(keys: string[]): string {
  return keys.length ? ` AND key NOT IN (${keys.map(() => '?').join(',')})` : ''
}

function toDelivery(r: OutboxRow): Delivery {
  const channels = parseChannels(r.channels)
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

/** `write` with SQLite's secure_delete on, then the WAL emptied: the old text is not left in the files. */
function scrubbed(db: SqliteDb, write: () => void): void {
  const was = db.pragma('secure_delete', { simple: true }) as number
  db.pragma('secure_delete = ON')
  try {
    write()
    db.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    db.pragma(`secure_delete = ${was ? 'ON' : 'OFF'}`)
  }
}
