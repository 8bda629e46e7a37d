import { Redis } from 'ioredis'
import type { ClusterConfig } from '../config/env.ts'
import type { Bus } from '../core/bus.ts'
import type { Metrics } from '../core/metrics.ts'
import type { Position } from '../journal/journal.ts'
import { hasTable, migrate } from '../store/db.ts'
import type { Db } from '../store/types.ts'
import type { Logger } from '../util/logger.ts'
import type { SharedLog } from './log.ts'

/**
 * A node of a cluster: its row in the store's node table (heartbeat once a second), the leadership
 * and the replication of alert and work-order changes to the other nodes.
 *
 * Leadership is a PostgreSQL advisory lock held by this node's store session (the one connection
 * every store write of the node goes through). The leader runs what must run once: the rules of
 * every estate, dispatch (work orders, escalation, the outbox), report schedules and history shipping.
 * The lock ends with the session: a node that dies, or is cut off from PostgreSQL long enough for the
 * server's TCP keep-alives to end its session, loses it, and a node that lost its session cannot write
 * stale state through it — it stops (`onLost`) and its supervisor restarts it as a follower. Another
 * node takes the lock within a heartbeat, resumes the rules from their persisted state and the log
 * position (cluster/tail.ts, rules/service.ts catchUp), and the alert store drops what the dead leader
 * had already stored, so every alert is raised once.
 */

/** Advisory lock keys of our own (any 64-bit numbers); the migrations' is in store/types.ts. */
export const LEADER_LOCK = 0x7a68690001
const HEARTBEAT_MS = 1000
/** A node not seen for this long is listed as gone. */
export const ALIVE_MS = 5000
const EVENTS_KEY = 'zhian:events'
const EVENTS_MAXLEN = 100_000

export const MIGRATIONS = [
  `CREATE TABLE cluster_nodes (
     node_id TEXT PRIMARY KEY,
     http_url TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     seen_at INTEGER NOT NULL,
     leader INTEGER NOT NULL DEFAULT 0
   );`,
] as const

export interface NodeStatus {
  node_id: string
  http_url: string
  started_at: number
  seen_at: number
  leader: boolean
  alive: boolean
}

/** The node table as stored (`zhian cluster status` reads it through this, not by its own SQL). */
export interface NodeRow {
  node_id: string
  http_url: string
  started_at: number
  seen_at: number
  leader: number
}

export function nodeRows(db: Db): NodeRow[] {
  if (!hasTable(db, 'cluster_nodes')) return []
  return db
    .prepare('SELECT node_id, http_url, started_at, seen_at, leader FROM cluster_nodes ORDER BY node_id')
    .all() as NodeRow[]
}

export interface ClusterStatus {
  node: string
  leader: boolean
  nodes: NodeStatus[]
  log: { entries: number }
}

export interface ClusterOptions {
  config: ClusterConfig
  db: Db
  bus: Bus
  log: Logger
  shared: SharedLog
  /** This node's HTTP base URL as the other nodes reach it (requests forwarded to the leader). */
  httpUrl: () => string
  metrics: Metrics
  /** Where this node's reading of the shared log is (cluster/tail.ts), for the lag gauge. */
  position: () => Position
  /** This node holds the lock now: start what only the leader runs. */
  onLeader: () => Promise<void>
  /** The store session ended under a leader: it must stop, or it would act without the lock. */
  onLost: (err: Error) => void
}

export class ClusterNode {
  private leader = false
  private timer: NodeJS.Timeout | undefined
  private becoming: Promise<void> | undefined
  private pub: Redis | undefined
  private sub: Redis | undefined
  private tailing = false
  private eventsLoop: Promise<void> | undefined
  private readonly off: (() => void)[] = []

  constructor(private readonly opts: ClusterOptions) {}

  get id(): string {
    return this.opts.config.nodeId
  }

  get isLeader(): boolean {
    return this.leader
  }

  async start(): Promise<void> {
    const { db, config } = this.opts
    migrate(db, 'cluster', MIGRATIONS)
    const now = Date.now()
    db.prepare(
      `INSERT INTO cluster_nodes (node_id, http_url, started_at, seen_at, leader) VALUES (?, ?, ?, ?, 0)
       ON CONFLICT (node_id) DO UPDATE SET http_url = excluded.http_url, started_at = excluded.started_at,
         seen_at = excluded.seen_at, leader = 0`,
    ).run(config.nodeId, this.opts.httpUrl(), now, now)
    this.pub = new Redis(config.redisUrl, { maxRetriesPerRequest: null })
    this.sub = new Redis(config.redisUrl, { maxRetriesPerRequest: null })
    for (const r of [this.pub, this.sub])
      r.on('error', (err) => this.opts.log.warn({ err: err.message }, 'redis (cluster events)'))
    await this.replicate()
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS)
    this.beat()
  }

  /** Resolves once this node leads (tests, and `zhian cluster status` after a failover). */
  async leading(): Promise<void> {
    while (!this.leader) await new Promise((r) => setTimeout(r, 50))
    await this.becoming
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.becoming?.catch(() => {})
    for (const off of this.off.splice(0)) off()
    this.tailing = false
    this.sub?.disconnect()
    await this.eventsLoop
    await this.pub?.quit().catch(() => {})
    if (this.opts.db.open) {
      try {
        this.opts.db
          .prepare('UPDATE cluster_nodes SET leader = 0, seen_at = 0 WHERE node_id = ?')
          .run(this.id)
        // A graceful stop hands the lead over at once, not when the session ends.
        if (this.leader) this.opts.db.prepare('SELECT pg_advisory_unlock(?)').get(LEADER_LOCK)
      } catch {
        // the session is gone already: so is the lock
      }
    }
    this.leader = false
  }

  /** Heartbeat; a follower tries the lock, a leader proves it still has its session. */
  private beat(): void {
    const { db } = this.opts
    try {
      db.prepare('UPDATE cluster_nodes SET seen_at = ? WHERE node_id = ?').run(Date.now(), this.id)
      this.measure()
      if (this.leader) return
      const row = db.prepare('SELECT pg_try_advisory_lock(?) AS ok').get(LEADER_LOCK) as { ok: number }
      if (row.ok !== 1) return
      db.transaction(() => {
        db.prepare('UPDATE cluster_nodes SET leader = 0 WHERE leader = 1').run()
        db.prepare('UPDATE cluster_nodes SET leader = 1 WHERE node_id = ?').run(this.id)
      })()
      this.leader = true
      this.opts.metrics.clusterLeader.set(1)
      this.opts.log.info({ node: this.id }, 'this node leads the cluster now')
      this.becoming = this.opts.onLeader().catch((err) => {
        this.opts.log.fatal({ err }, 'taking over as leader failed')
        this.opts.onLost(err as Error)
      })
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'cluster heartbeat failed (store session)')
      if (this.leader) this.opts.onLost(err as Error)
    }
  }

  /** /metrics: this node's view of the cluster. */
  private measure(): void {
    const { metrics, db, shared } = this.opts
    metrics.clusterLeader.set(this.leader ? 1 : 0)
    const alive = db
      .prepare('SELECT count(*) AS n FROM cluster_nodes WHERE seen_at > ?')
      .get(Date.now() - ALIVE_MS) as {
      n: number
    }
    metrics.clusterNodesAlive.set(alive.n)
    void Promise.all([shared.length(), shared.lastEnd()])
      .then(([entries, end]) => {
        metrics.clusterLogEntries.set(entries)
        const at = this.opts.position()
        metrics.clusterLogLag.set(end.segment > at.segment ? end.segment - at.segment : 0)
      })
      .catch(() => {})
  }

  /** The leader's HTTP base, if a live one is known. */
  leaderUrl(): string | undefined {
    const row = this.opts.db
      .prepare('SELECT http_url FROM cluster_nodes WHERE leader = 1 AND seen_at > ?')
      .get(Date.now() - ALIVE_MS) as { http_url: string } | undefined
    return row?.http_url
  }

  async status(): Promise<ClusterStatus> {
    const now = Date.now()
    const rows = nodeRows(this.opts.db)
    return {
      node: this.id,
      leader: this.leader,
      nodes: rows.map((r) => ({ ...r, leader: r.leader === 1, alive: now - r.seen_at < ALIVE_MS })),
      log: { entries: await this.opts.shared.length() },
    }
  }

  /**
   * Alert and work-order changes made on this node go to the others, which repeat them on their bus as
   * replicas (their live state follows; nothing is emitted, published or dispatched twice).
   */
  private async replicate(): Promise<void> {
    const { bus } = this.opts
    const send = (type: string, payload: unknown) =>
      void this.pub
        ?.xadd(
          EVENTS_KEY,
          'MAXLEN',
          '~',
          EVENTS_MAXLEN,
          '*',
          'n',
          this.id,
          't',
          type,
          'p',
          JSON.stringify(payload),
        )
        .catch((err: Error) => this.opts.log.warn({ err: err.message }, 'cluster event not sent'))
    this.off.push(
      bus.on('alert', (e) => {
        if (!e.replica) send('alert', { alert: e.alert, entry: e.entry })
      }),
      bus.on('work_order', (e) => {
        if (!e.replica) send('work_order', { work_order: e.work_order, event: e.event })
      }),
    )
    const last = (await this.pub!.xrevrange(EVENTS_KEY, '+', '-', 'COUNT', 1)) as [string, string[]][]
    let after = last[0]?.[0] ?? '0-0'
    this.tailing = true
    this.eventsLoop = (async () => {
      while (this.tailing) {
        let res: [string, [string, string[]][]][] | null
        try {
          res = (await this.sub!.xread(
            'COUNT',
            500,
            'BLOCK',
            500,
            'STREAMS',
            EVENTS_KEY,
            after,
          )) as typeof res
        } catch {
          if (!this.tailing) return
          await new Promise((r) => setTimeout(r, 500))
          continue
        }
        for (const [id, f] of res?.[0]?.[1] ?? []) {
          after = id
          const [, node, , type, , payload] = f
          if (node === this.id || !payload) continue
          try {
            if (type === 'alert') bus.emit('alert', { ...JSON.parse(payload), replica: true })
            else if (type === 'work_order') bus.emit('work_order', { ...JSON.parse(payload), replica: true })
          } catch (err) {
            this.opts.log.error({ err }, 'a replicated cluster event failed')
          }
        }
      }
    })()
  }
}
