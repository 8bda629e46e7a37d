import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { ALIVE_MS, nodeRows } from '../cluster/cluster.ts'
import { LOG_KEY } from '../cluster/log.ts'
import type { HubConfig } from '../config/env.ts'
import { persistedPosition } from '../rules/service.ts'
import { openPostgres, type PostgresDb, redact } from '../store/postgres.ts'

const USAGE = `usage: zhian cluster status [--json]
The nodes of the cluster (ZHIAN_DATABASE_URL), the leader, the shared log and the rules' lag on it
(ZHIAN_REDIS_URL). Exits 0 when a live node leads, 1 otherwise: usable as a monitoring check.`

/** The rules' lag is counted up to this many entries (one XRANGE), then shown as "≥ N". */
export const LAG_CAP = 10_000

export interface NodeRow {
  id: string
  http_url: string
  leader: boolean
  alive: boolean
  started_at: number
  /** Seconds since its last heartbeat; null once it stopped cleanly (it says so on the way out). */
  seen_s_ago: number | null
}

export interface ClusterReport {
  ok: boolean
  leader: string | null
  nodes: NodeRow[]
  log: { entries: number; rules_lag: number; rules_lag_capped: boolean } | { error: string }
}

/** `zhian cluster status [--json]`. */
export async function clusterCommand(config: HubConfig, args: string[]): Promise<number> {
  const [action, ...rest] = args
  let json: boolean | undefined
  try {
    json = parseArgs({ args: rest, options: { json: { type: 'boolean' } } }).values.json
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (action !== 'status') {
    console.error(USAGE)
    return 2
  }
  if (!config.databaseUrl || !config.cluster) {
    console.error(
      `ZHIAN_ERR_ENV_INVALID: ${config.databaseUrl ? 'ZHIAN_REDIS_URL' : 'ZHIAN_DATABASE_URL'} is not set: give the cluster's PostgreSQL and Redis as its nodes have them\n${USAGE}`,
    )
    return 2
  }
  const db = openPostgres(config.databaseUrl)
  let report: ClusterReport
  try {
    report = await clusterReport(db, config.cluster.redisUrl, Date.now())
  } finally {
    db.close()
  }
  if (json) console.log(JSON.stringify(report, null, 2))
  else console.log(text(report, redact(config.databaseUrl)))
  return report.ok ? 0 : 1
}

export async function clusterReport(db: PostgresDb, redisUrl: string, now: number): Promise<ClusterReport> {
  const rows = nodeRows(db)
  const nodes: NodeRow[] = rows.map((r) => ({
    id: r.node_id,
    http_url: r.http_url,
    leader: r.leader === 1,
    alive: r.seen_at > 0 && now - r.seen_at < ALIVE_MS,
    started_at: r.started_at,
    seen_s_ago: r.seen_at > 0 ? Math.max(0, Math.round((now - r.seen_at) / 100) / 10) : null,
  }))
  const leader = nodes.find((n) => n.leader && n.alive)?.id ?? null
  const log = await sharedLog(redisUrl, consumedId(db))
  return { ok: leader !== null && !('error' in log), leader, nodes, log }
}

/**
 * The first log entry the rules' persisted state does not hold: `consumed` is "just past" the last
 * one applied (shared log positions are stream ids, cluster/log.ts), so it is itself a stream id.
 */
function consumedId(db: PostgresDb): string {
  const pos = persistedPosition(db)
  return pos ? `${pos.segment}-${pos.offset}` : '-'
}

async function sharedLog(url: string, from: string): Promise<ClusterReport['log']> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  })
  // Reported below; without a listener ioredis prints each one to the console.
  redis.on('error', () => {})
  try {
    await redis.connect()
    const entries = await redis.xlen(LOG_KEY)
    const pending = await redis.xrange(LOG_KEY, from, '+', 'COUNT', LAG_CAP)
    return { entries, rules_lag: pending.length, rules_lag_capped: pending.length >= LAG_CAP }
  } catch (err) {
    return { error: `Redis at ${redact(url)}: ${(err as Error).message}` }
  } finally {
    redis.disconnect()
  }
}

function text(r: ClusterReport, store: string): string {
  const table = [
    ['node', 'http', 'leader', 'alive', 'last seen'],
    ...r.nodes.map((n) => [
      n.id,
      n.http_url,
      n.leader ? 'yes' : 'no',
      n.alive ? 'yes' : 'no',
      n.seen_s_ago === null ? 'stopped' : `${n.seen_s_ago} s ago`,
    ]),
  ]
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)))
  const lines = [`store ${store}`]
  if (r.nodes.length === 0) lines.push('no node has joined this cluster yet')
  else
    lines.push(
      ...table.map((row) =>
        row
          .map((v, c) => v.padEnd(widths[c]!))
          .join('  ')
          .trimEnd(),
      ),
    )
  lines.push(`leader: ${r.leader ?? 'NONE alive — no rules, dispatch or reports run'}`)
  if ('error' in r.log) lines.push(`shared log: UNREACHABLE (${r.log.error})`)
  else
    lines.push(
      `shared log: ${r.log.entries} entries; rules' lag: ${r.log.rules_lag_capped ? '≥ ' : ''}${r.log.rules_lag} entries`,
    )
  return lines.join('\n')
}
