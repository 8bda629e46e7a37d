import { type Db, migrate } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'

/**
 * Which uplinks were already taken in: platform retries (CTWing re-pushes up to 3 times, OneNET up to
 * 16 times over 2 h 45 min) and MQTT redeliveries (ChirpStack's broker resends an uplink zhian had not
 * acknowledged) must not become second readings or second alerts — also after a restart.
 *
 * Why a table of the store and not the journal gate's resend memory: that memory only gives a resent
 * reading the same InfluxDB point; the rules would still see it twice. A key is written only once the
 * uplink is durable in the journal, so a crash before that lets the platform's retry through (nothing
 * is lost); a crash between the journal's commit and this table's costs one repeated reading at worst.
 * Kept for a day: far longer than any platform retries.
 */

export const MIGRATIONS = [
  `CREATE TABLE connector_seen (
     connector TEXT NOT NULL,
     key TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (connector, key)
   ) WITHOUT ROWID;
   CREATE INDEX connector_seen_at ON connector_seen(at);`,
] as const

export const SEEN_TTL_MS = 24 * 3_600_000
/**
 * Keys are written in batches this far apart: the store fsyncs each commit on the event loop's
 * thread, so one per push would stall every answer (a crash loses at most this much of them: a
 * platform retry of those uplinks becomes a repeated reading, never a lost one).
 */
const FLUSH_MS = 250
const PRUNE_EVERY_MS = 10 * 60_000

export class SeenUplinks {
  private readonly queued = new Map<string, { connector: string; key: string; at: number }>()
  private flushing: NodeJS.Timeout | undefined
  private prune: NodeJS.Timeout | undefined
  private statements:
    | {
        has: { get: (c: string, k: string, since: number) => unknown }
        put: { run: (c: string, k: string, at: number) => unknown }
        forget: { run: (c: string, length: number, prefix: string) => unknown }
        prune: { run: (before: number) => unknown }
      }
    | undefined

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    migrate(this.db, 'connectors', MIGRATIONS)
    this.statements = {
      has: this.db.prepare('SELECT 1 FROM connector_seen WHERE connector = ? AND key = ? AND at >= ?'),
      put: this.db.prepare(
        'INSERT INTO connector_seen (connector, key, at) VALUES (?, ?, ?) ON CONFLICT (connector, key) DO UPDATE SET at = excluded.at',
      ),
      forget: this.db.prepare('DELETE FROM connector_seen WHERE connector = ? AND substr(key, 1, ?) = ?'),
      prune: this.db.prepare('DELETE FROM connector_seen WHERE at < ?'),
    }
    this.statements.prune.run(this.now() - SEEN_TTL_MS)
    this.prune = setInterval(() => this.statements?.prune.run(this.now() - SEEN_TTL_MS), PRUNE_EVERY_MS)
    this.prune.unref()
  }

  stop(): void {
    clearInterval(this.prune)
    this.flush()
    this.statements = undefined
  }

  has(connector: string, key: string): boolean {
    if (this.queued.has(`${connector}\n${key}`)) return true
    return this.statements?.has.get(connector, key, this.now() - SEEN_TTL_MS) !== undefined
  }

  /** Remember keys of a durable uplink; written with the others of the next FLUSH_MS in one transaction. */
  add(connector: string, keys: readonly string[]): void {
    const at = this.now()
    for (const key of keys) this.queued.set(`${connector}\n${key}`, { connector, key, at })
    this.flushing ??= setTimeout(() => this.flush(), FLUSH_MS)
  }

  /** Forget the keys starting with `prefix` (a LoRaWAN device joined again: its frame counter restarted). */
  forget(connector: string, prefix: string): void {
    this.flush()
    this.statements?.forget.run(connector, prefix.length, prefix)
  }

  private flush(): void {
    clearTimeout(this.flushing)
    this.flushing = undefined
    const rows = [...this.queued.values()]
    this.queued.clear()
    const put = this.statements?.put
    if (!put || rows.length === 0) return
    try {
      this.db.transaction(() => {
        for (const r of rows) put.run(r.connector, r.key, r.at)
      })()
    } catch (err) {
      // The uplinks are durable already; only their retries may now be taken in a second time.
      this.log.warn({ err: (err as Error).message, keys: rows.length }, 'could not remember uplink keys')
    }
  }
}
