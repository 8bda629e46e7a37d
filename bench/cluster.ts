import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import mqtt from 'mqtt'
import { io } from 'socket.io-client'
import { hashGeneratedSecret } from '../src/util/secrets.ts'
import { launchPostgres, launchRedis, psql, type Server } from '../test/helpers/servers.ts'
import { measureAlertLatency } from './latency.ts'
import { deviceId } from './loadgen.ts'
import { cpuSeconds, machineBusySeconds, median, percentile, waitIdle } from './proc.ts'
import { BENCH_SECRET, runGenerator, startZhian, type Target } from './targets.ts'

/**
 * Cluster mode against the embedded hub, in the same run: QoS 1 throughput and alert latency on the
 * embedded hub (SQLite, local journal) and on clusters of 1, 2 and 3 nodes (PostgreSQL store, the
 * shared log on a Redis stream) with the publishers spread over the nodes; then the failover time
 * (the leader SIGKILLed while a fire passage's `for` timer runs) and the per-message costs a capacity
 * model needs (node CPU, Redis and PostgreSQL CPU, commands and transactions per message, the XADD
 * and statement round trips, Redis memory per log entry). Every process shares the same cores: on a
 * 2-core box the nodes, Redis, PostgreSQL and the generator compete, so the figures measure the
 * overhead of cluster mode, not its scaling.
 */

const TOKEN = 'bench-api-token-0123456789'
/** Devices the load uses (the first `publishers`), then manholes for the latency triggers. */
const LATENCY_FIRST = 100
const FAILOVER_PREFIX = 'fo_fp'
/** The fire passages' hold before `fire_passage.occupied` (an entrance segment), as in the estate below. */
const HOLD_MS = 1000

export interface ClusterRow {
  config: string
  nodes: number
  acked_per_s: number
  /** acked_per_s over the embedded hub's in the same run. */
  ratio: number
  /** Acknowledged messages the leader never processed. */
  lost: number
  /** CPU of every hub node together, per acknowledged message. */
  node_cpu_us_per_msg: number
  /** The same for the leader alone and for each follower (the leader runs the rules and history). */
  leader_cpu_us_per_msg: number
  follower_cpu_us_per_msg: number[]
  redis_cpu_us_per_msg: number
  pg_cpu_us_per_msg: number
  redis_commands_per_msg: number
  /** The same by command (XADD, PUBLISH, …), those of at least 0.01 per message. */
  redis_calls_per_msg: Record<string, number>
  pg_xacts_per_1000_msg: number
  /**
   * PostgreSQL transactions per alert raised (the latency triggers), net of the background rate the
   * throughput run measured (heartbeats, rule-state flushes): the store's work per alert.
   */
  pg_xacts_per_alert: number
  machine_busy_pct: number
  alert_background_rate: number
  alert_p50_ms: number
  alert_p99_ms: number
  alert_samples: number
  alert_missed: number
}

export interface FailoverTrial {
  kill_to_leader_ms: number
  kill_to_alert_ms: number
  /** The alert seen this long after it was due (publish + hold). */
  alert_late_ms: number
}

export interface ClusterCosts {
  xadd_rtt_us_p50: number
  xadd_rtt_us_p99: number
  /** Per entry, XADDs pipelined 100 at a time (the shared log's group commit). */
  xadd_pipelined_us_per_entry: number
  pg_read_rtt_us_p50: number
  pg_read_rtt_us_p99: number
  pg_write_rtt_us_p50: number
  pg_write_rtt_us_p99: number
  /** Redis memory (MEMORY USAGE of the log stream) over its entries, and a record's own length. */
  log_bytes_per_entry: number
  log_record_bytes: number
  log_entries: number
}

export interface ClusterResult {
  rows: ClusterRow[]
  failover: {
    nodes: number
    trials: FailoverTrial[]
    leader_median_ms: number
    leader_max_ms: number
    alert_median_ms: number
    alert_max_ms: number
  }
  costs: ClusterCosts
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The bench devices (the four kinds of the load), the failover fire passages, short holds for them. */
function clusterEstate(dir: string, devices: number, fireProofs: number, secretHash: string): string {
  const lines = [
    'sites:',
    '  - { id: bench_street, type: street, name: 基准街道, children: [',
    '      { id: bench_community, type: community, name: 基准社区, children: [',
    '          { id: bench_estate, type: estate, name: 基准小区 } ] } ] }',
    'devices:',
  ]
  for (let i = 0; i < devices; i++) {
    const { id, kind } = deviceId('bench', i)
    lines.push(`  - { id: ${id}, kind: ${kind}, estate: bench_estate, secret_hash: "${secretHash}" }`)
  }
  for (let i = 0; i < fireProofs; i++)
    lines.push(
      `  - { id: ${FAILOVER_PREFIX}${i}, kind: fire_passage, estate: bench_estate, secret_hash: "${secretHash}", params: { entrance: true } }`,
    )
  lines.push(
    'overrides:',
    '  bench_estate:',
    `    fire_passage.occupied: { for_entrance: "${HOLD_MS}ms", clear_for: "300ms" }`,
    '    fire_passage.blocked: { for: "2s", clear_for: "300ms" }',
    '    fire_passage.persistent_blockage: { for: "1h", count: 100 }',
  )
  const file = path.join(dir, `cluster-estate-${devices}.yaml`)
  fs.writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

/** Direct children of a process (PostgreSQL's backends under the postmaster). */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** CPU seconds of a process and its children now alive (+ what the ended ones left in cutime/cstime). */
function treeCpu(pid: number): number {
  let sum = cpuSeconds(pid)
  for (const c of childrenOf(pid)) {
    try {
      sum += cpuSeconds(c)
    } catch {
      // ended
    }
  }
  return sum
}

interface Engines {
  pg: Server
  pgPid: () => number
  redis: Server
  redisPid: () => number
  stop: () => Promise<void>
}

async function startEngines(): Promise<Engines> {
  let pgProc: ChildProcess | undefined
  let redisProc: ChildProcess | undefined
  const pg = await launchPostgres({ onSpawn: (p) => (pgProc = p) })
  const redis = await launchRedis({ onSpawn: (p) => (redisProc = p) })
  return {
    pg,
    pgPid: () => pgProc!.pid!,
    redis,
    redisPid: () => redisProc!.pid!,
    stop: async () => {
      await redis.stop()
      await pg.stop()
      fs.rmSync(redis.dir, { recursive: true, force: true })
      fs.rmSync(pg.dir, { recursive: true, force: true })
    },
  }
}

interface Setup {
  name: string
  nodes: Target[]
  /** Node ids, for restarting a killed one under the same id. */
  ids: string[]
  database?: string
  startNode?: (id: string) => Promise<Target>
  stop: () => Promise<void>
}

let databases = 0

async function startCluster(engines: Engines, estate: string, n: number): Promise<Setup> {
  const name = `zb_${process.pid}_${++databases}`
  psql(engines.pg.url, `CREATE DATABASE ${name}`)
  const url = new URL(engines.pg.url)
  url.pathname = `/${name}`
  const database = url.toString()
  const r = new Redis(engines.redis.url)
  await r.flushall()
  r.disconnect()
  const startNode = (id: string) =>
    startZhian({
      estateFile: estate,
      name: `cluster-${n}/${id}`,
      env: { ZHIAN_DATABASE_URL: database, ZHIAN_REDIS_URL: engines.redis.url, ZHIAN_NODE_ID: id },
    })
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`)
  const nodes: Target[] = []
  for (const id of ids) nodes.push(await startNode(id))
  await leaderOf(nodes)
  return {
    name: `cluster, ${n} node${n > 1 ? 's' : ''}`,
    nodes,
    ids,
    database,
    startNode,
    stop: async () => {
      await Promise.all(nodes.map((t) => t.stop()))
    },
  }
}

async function health(t: Target): Promise<{ cluster?: { node: string; leader: boolean } } | undefined> {
  try {
    const res = await fetch(`${t.httpUrl}/healthz`, { signal: AbortSignal.timeout(1000) })
    return (await res.json()) as { cluster?: { node: string; leader: boolean } }
  } catch {
    return undefined
  }
}

async function leaderOf(nodes: Target[], timeoutMs = 30_000): Promise<Target> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    const leaders: Target[] = []
    for (const t of nodes) if ((await health(t))?.cluster?.leader) leaders.push(t)
    if (leaders.length === 1) return leaders[0]!
    await sleep(20)
  }
  throw new Error('the cluster has no single leader')
}

/** Calls per command since Redis started (INFO commandstats). */
async function redisCommands(url: string): Promise<Record<string, number>> {
  const r = new Redis(url)
  const info = await r.info('commandstats')
  r.disconnect()
  return Object.fromEntries(
    [...info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]),
  )
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0)

function pgXacts(server: string, database: string): number {
  const name = new URL(database).pathname.slice(1)
  return Number(psql(server, `SELECT xact_commit FROM pg_stat_database WHERE datname = '${name}'`))
}

/** Messages the nodes accepted (zhian_mqtt_messages_in_total of state messages, summed). */
async function accepted(setup: Setup): Promise<number> {
  let sum = 0
  for (const t of setup.nodes) sum += await t.count()
  return sum
}

/**
 * QoS 1 closed loop, `publishers` spread over the setup's nodes. The CPU is counted until the nodes
 * are quiet again: in a cluster every node reads every record from the log after its PUBACK, work
 * that may trail the load.
 */
async function throughput(
  setup: Setup,
  engines: Engines | undefined,
  opts: { publishers: number; warmup: number; seconds: number },
) {
  await waitIdle(3000)
  const before = await accepted(setup)
  const each = () => setup.nodes.map((t) => cpuSeconds(t.pid))
  const cpu = () => each().reduce((a, b) => a + b, 0)
  const leader = setup.database ? await leaderOf(setup.nodes) : setup.nodes[0]!
  const redisCpu = () => (engines ? cpuSeconds(engines.redisPid()) : 0)
  const pgCpu = () => (engines ? treeCpu(engines.pgPid()) : 0)
  const xacts = () => (engines && setup.database ? pgXacts(engines.pg.url, setup.database) : 0)
  let warm:
    | Promise<{
        count: number
        each: number[]
        cpu: number
        busy: number
        redis: number
        pg: number
        cmds: Record<string, number>
        xacts: number
      }>
    | undefined
  const gen = runGenerator(
    [
      ...['--url', setup.nodes.map((t) => t.mqttUrl).join(','), '--publishers', String(opts.publishers)],
      ...['--qos', '1', '--seconds', String(opts.seconds), '--warmup', String(opts.warmup)],
      ...['--secret', BENCH_SECRET],
    ],
    () => {
      const snap = {
        each: each(),
        cpu: cpu(),
        busy: machineBusySeconds(),
        redis: redisCpu(),
        pg: pgCpu(),
        xacts: xacts(),
      }
      warm = Promise.all([
        accepted(setup),
        engines ? redisCommands(engines.redis.url) : ({} as Record<string, number>),
      ]).then(([count, cmds]) => ({ ...snap, count, cmds }))
    },
  )
  const result = await gen.done
  if (!warm) throw new Error('the load generator never reported the end of its warm-up')
  const w = await warm
  // Quiet: the nodes together under 10 % of a core over 500 ms (30 s at most).
  const end = Date.now() + 30_000
  for (let c = cpu(); Date.now() < end; ) {
    await sleep(500)
    const now = cpu()
    if (now - c < 0.05) break
    c = now
  }
  const quietAt = Date.now()
  const total = await accepted(setup)
  const window = (result.stopped - result.measured_from) / 1000
  const acked = result.acked - result.acked_before
  const processed = Math.max(1, total - w.count)
  const per = (v: number) => Math.round((v / processed) * 1e7) / 10
  const after = engines ? await redisCommands(engines.redis.url) : {}
  const cmds = sum(after) - sum(w.cmds)
  // The commands that make up a message's cost, per message (those above 0.01 per message).
  const calls = Object.entries(after)
    .map(([c, n]) => [c, Math.round(((n - (w.cmds[c] ?? 0)) / processed) * 100) / 100] as const)
    .filter(([, v]) => v >= 0.01)
    .sort((a, b) => b[1] - a[1])
  const dx = xacts() - w.xacts
  return {
    pg_xacts_per_s: dx / ((quietAt - result.measured_from) / 1000),
    acked_per_s: Math.round(acked / window),
    lost: Math.max(0, result.acked - (total - before)),
    node_cpu_us_per_msg: per(cpu() - w.cpu),
    leader_cpu_us_per_msg: per(cpuSeconds(leader.pid) - w.each[setup.nodes.indexOf(leader)]!),
    follower_cpu_us_per_msg: setup.nodes
      .map((t, i) => (t === leader ? undefined : per(cpuSeconds(t.pid) - w.each[i]!)))
      .filter((v) => v !== undefined),
    redis_cpu_us_per_msg: per(redisCpu() - w.redis),
    pg_cpu_us_per_msg: per(pgCpu() - w.pg),
    redis_commands_per_msg: Math.round((cmds / processed) * 100) / 100,
    redis_calls_per_msg: Object.fromEntries(calls),
    pg_xacts_per_1000_msg: Math.round(((xacts() - w.xacts) / processed) * 1000 * 10) / 10,
    machine_busy_pct: Math.round(
      ((machineBusySeconds() - w.busy) / ((quietAt - result.measured_from) / 1000)) * 100,
    ),
  }
}

/** Alert latency: a manhole tilted on one node, the alert awaited on socket.io on another (the last). */
async function latency(
  setup: Setup,
  engines: Engines | undefined,
  rate: number,
  samples: number,
  publishers: number,
  xactsPerS: number,
) {
  const xacts = () => (engines && setup.database ? pgXacts(engines.pg.url, setup.database) : 0)
  const on = setup.nodes[0]!
  const watch = setup.nodes.at(-1)!
  const gen = runGenerator([
    ...['--url', setup.nodes.map((t) => t.mqttUrl).join(','), '--publishers', String(publishers)],
    ...['--qos', '1', '--seconds', String(Math.ceil(samples * 0.05) + 5)],
    ...['--rate', String(rate), '--secret', BENCH_SECRET],
  ])
  await sleep(2000)
  const [x0, t0] = [xacts(), Date.now()]
  const r = await measureAlertLatency({
    mqttUrl: on.mqttUrl,
    httpUrl: watch.httpUrl!,
    token: TOKEN,
    secret: BENCH_SECRET,
    firstIndex: LATENCY_FIRST,
    lastIndex: LATENCY_FIRST + samples * 4 + 4,
    samples,
    intervalMs: 50,
  })
  // PostgreSQL's statistics reach pg_stat_database within a second of a transaction's end.
  await sleep(1200)
  const net = xacts() - x0 - xactsPerS * ((Date.now() - t0) / 1000)
  await gen.done
  return { ...r, pg_xacts_per_alert: Math.round((Math.max(0, net) / Math.max(1, r.samples)) * 10) / 10 }
}

/**
 * Kill the leader (SIGKILL) 300 ms after a follower PUBACKed `occupied` of an entrance fire passage
 * (its 1 s hold running on the leader); time until a survivor says it leads and until the alert
 * reaches a socket.io client on a survivor. The killed node is then started again, empty, under its id.
 */
async function failoverTrial(setup: Setup, device: string): Promise<FailoverTrial> {
  const leader = await leaderOf(setup.nodes)
  const survivors = setup.nodes.filter((t) => t !== leader)
  const publishOn = survivors[0]!
  const watch = survivors.at(-1)!
  const socket = io(watch.httpUrl!, {
    auth: { token: TOKEN },
    transports: ['websocket'],
    reconnection: false,
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('hello', () => resolve())
    socket.once('connect_error', reject)
  })
  let alertAt: number | undefined
  socket.on(
    'alert',
    (c: { alert: { type: string; device_id: string | null }; entry: { action: string } }) => {
      if (
        c.alert.device_id === device &&
        c.alert.type === 'fire_passage.occupied' &&
        c.entry.action === 'raised'
      )
        alertAt ??= performance.now()
    },
  )
  const client = await mqtt.connectAsync(publishOn.mqttUrl, {
    username: device,
    password: BENCH_SECRET,
    reconnectPeriod: 0,
  })
  const sent = performance.now()
  await client.publishAsync(`zhian/fire_passage/${device}/state`, JSON.stringify({ occupied: true }), {
    qos: 1,
  })
  await client.endAsync(true)
  await sleep(300)
  const killed = performance.now()
  process.kill(leader.pid, 'SIGKILL')
  let leaderAt: number | undefined
  const end = Date.now() + 60_000
  while ((leaderAt === undefined || alertAt === undefined) && Date.now() < end) {
    if (leaderAt === undefined)
      for (const t of survivors)
        if ((await health(t))?.cluster?.leader) {
          leaderAt ??= performance.now()
          break
        }
    await sleep(10)
  }
  socket.close()
  if (leaderAt === undefined || alertAt === undefined)
    throw new Error(`failover: no ${leaderAt === undefined ? 'new leader' : 'alert'} within 60 s`)
  // The dead node comes back empty (a replacement), so the next trial again has every node.
  const i = setup.nodes.indexOf(leader)
  await leader.stop()
  setup.nodes[i] = await setup.startNode!(setup.ids[i]!)
  const round = (v: number) => Math.round(v)
  return {
    kill_to_leader_ms: round(leaderAt - killed),
    kill_to_alert_ms: round(alertAt - killed),
    alert_late_ms: round(alertAt - (sent + HOLD_MS)),
  }
}

interface PgNative {
  connectSync(url: string): void
  querySync(text: string, values?: unknown[]): unknown[]
  end(cb?: () => void): void
}

function roundTrips(n: number, f: () => unknown): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    f()
    out.push((performance.now() - t) * 1000)
  }
  return out
}

async function asyncRoundTrips(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await f()
    out.push((performance.now() - t) * 1000)
  }
  return out
}

/**
 * Round trips as the hub makes them: an XADD of a real log record (appendfsync always), alone and
 * pipelined; a PostgreSQL read and an autocommitted write through pg-native's synchronous calls (the
 * store's one connection per process). Redis memory per entry from the log the 3-node run left.
 */
async function costs(engines: Engines, database: string, quick: boolean): Promise<ClusterCosts> {
  const r = new Redis(engines.redis.url)
  const entries = Number(await r.xlen('zhian:log'))
  const usage = Number(await r.call('MEMORY', 'USAGE', 'zhian:log', 'SAMPLES', '0'))
  const sample = (await r.xrevrange('zhian:log', '+', '-', 'COUNT', 1)) as [string, string[]][]
  const record = sample[0]?.[1]?.[1] ?? '{}'
  const n = quick ? 300 : 2000
  const xadd = await asyncRoundTrips(n, () => r.xadd('bench:xadd', '*', 'r', record))
  const t = performance.now()
  for (let b = 0; b < n / 100; b++) {
    const p = r.pipeline()
    for (let i = 0; i < 100; i++) p.xadd('bench:xadd', '*', 'r', record)
    await p.exec()
  }
  const pipelined = ((performance.now() - t) * 1000) / n
  await r.del('bench:xadd')
  r.disconnect()
  const require = createRequire(import.meta.url)
  const Client = require('pg-native') as new () => PgNative
  const pg = new Client()
  pg.connectSync(database)
  const read = roundTrips(n, () =>
    pg.querySync('SELECT http_url FROM cluster_nodes WHERE leader = 1 AND seen_at > $1', [0]),
  )
  pg.querySync('CREATE TABLE bench_probe (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)')
  pg.querySync('INSERT INTO bench_probe VALUES (1, 0)')
  const write = roundTrips(n, () => pg.querySync('UPDATE bench_probe SET v = v + 1 WHERE id = $1', [1]))
  pg.end()
  const r1 = (v: number) => Math.round(v)
  return {
    xadd_rtt_us_p50: r1(percentile(xadd, 50)),
    xadd_rtt_us_p99: r1(percentile(xadd, 99)),
    xadd_pipelined_us_per_entry: Math.round(pipelined * 10) / 10,
    pg_read_rtt_us_p50: r1(percentile(read, 50)),
    pg_read_rtt_us_p99: r1(percentile(read, 99)),
    pg_write_rtt_us_p50: r1(percentile(write, 50)),
    pg_write_rtt_us_p99: r1(percentile(write, 99)),
    log_bytes_per_entry: entries > 0 ? Math.round(usage / entries) : Number.NaN,
    log_record_bytes: Buffer.byteLength(record),
    log_entries: entries,
  }
}

export async function measureCluster(opts: {
  work: string
  secretHash: string
  quick: boolean
  warmup: number
  seconds: number
}): Promise<ClusterResult> {
  const { quick } = opts
  const samples = quick ? 30 : 100
  const trials = quick ? 1 : 3
  const publishers = 12
  const estate = clusterEstate(opts.work, LATENCY_FIRST + samples * 4 + 8, trials, opts.secretHash)
  const engines = await startEngines()
  const rows: ClusterRow[] = []
  let failover: ClusterResult['failover'] | undefined
  let costsResult: ClusterCosts | undefined
  try {
    let baseline = Number.NaN
    for (const n of [0, 1, 2, 3]) {
      const setup: Setup =
        n === 0
          ? await startZhian({ estateFile: estate, name: 'embedded' }).then((t) => ({
              name: 'embedded (SQLite, local journal)',
              nodes: [t],
              ids: [],
              stop: () => t.stop(),
            }))
          : await startCluster(engines, estate, n)
      try {
        const tp = await throughput(setup, n === 0 ? undefined : engines, {
          publishers,
          warmup: opts.warmup,
          seconds: opts.seconds,
        })
        if (n === 0) baseline = tp.acked_per_s
        const rate = Math.max(200, Math.round(tp.acked_per_s / 2 / 100) * 100)
        const { pg_xacts_per_s, ...t } = tp
        const l = await latency(
          setup,
          n === 0 ? undefined : engines,
          rate,
          samples,
          LATENCY_FIRST,
          pg_xacts_per_s,
        )
        const row: ClusterRow = {
          config: setup.name,
          nodes: n,
          ...t,
          ratio: Math.round((t.acked_per_s / baseline) * 100) / 100,
          alert_background_rate: rate,
          alert_p50_ms: l.p50_ms,
          alert_p99_ms: l.p99_ms,
          alert_samples: l.samples,
          alert_missed: l.missed,
          pg_xacts_per_alert: l.pg_xacts_per_alert,
        }
        console.error(
          `${row.config}: ${row.acked_per_s} acked msg/s (×${row.ratio}), lost ${row.lost}, nodes ${row.node_cpu_us_per_msg} µs/msg, alert p50 ${row.alert_p50_ms} / p99 ${row.alert_p99_ms} ms`,
        )
        rows.push(row)
        if (n === 3) {
          costsResult = await costs(engines, setup.database!, quick)
          const done: FailoverTrial[] = []
          for (let i = 0; i < trials; i++) {
            const trial = await failoverTrial(setup, `${FAILOVER_PREFIX}${i}`)
            console.error(
              `failover ${i + 1}: kill → new leader ${trial.kill_to_leader_ms} ms, kill → alert ${trial.kill_to_alert_ms} ms (${trial.alert_late_ms} ms late)`,
            )
            done.push(trial)
          }
          const k = done.map((d) => d.kill_to_leader_ms)
          const a = done.map((d) => d.kill_to_alert_ms)
          failover = {
            nodes: n,
            trials: done,
            leader_median_ms: median(k),
            leader_max_ms: Math.max(...k),
            alert_median_ms: median(a),
            alert_max_ms: Math.max(...a),
          }
        }
      } finally {
        await setup.stop()
      }
    }
  } finally {
    await engines.stop()
  }
  return { rows, failover: failover!, costs: costsResult! }
}

export function clusterLines(c: ClusterResult | undefined): string[] {
  if (!c) return []
  const f = c.failover
  const k = c.costs
  return [
    '| configuration (QoS 1, 12 publishers spread over the nodes) | acked msg/s | × embedded | lost | nodes CPU µs/msg | Redis CPU µs/msg | PostgreSQL CPU µs/msg | Redis commands/msg | PostgreSQL xacts per 1,000 msg / per alert | machine busy % | alert p50 / p99 ms (background msg/s) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...c.rows.map(
      (r) =>
        `| ${r.config} | ${r.acked_per_s.toLocaleString('en')} | ${r.ratio} | ${r.lost} | ${r.node_cpu_us_per_msg} | ${r.nodes ? r.redis_cpu_us_per_msg : '–'} | ${r.nodes ? r.pg_cpu_us_per_msg : '–'} | ${r.nodes ? r.redis_commands_per_msg : '–'} | ${r.nodes ? `${r.pg_xacts_per_1000_msg} / ${r.pg_xacts_per_alert}` : '–'} | ${r.machine_busy_pct} | ${r.alert_p50_ms} / ${r.alert_p99_ms} (${r.alert_background_rate.toLocaleString('en')}; ${r.alert_samples} alerts, ${r.alert_missed} missed) |`,
    ),
    '',
    ...c.rows
      .filter((r) => r.nodes > 0)
      .map(
        (r) =>
          `- ${r.config}: CPU µs per message on the leader ${r.leader_cpu_us_per_msg}${r.follower_cpu_us_per_msg.length ? `, on each follower ${r.follower_cpu_us_per_msg.join(', ')}` : ''}; Redis commands per message ${Object.entries(
            r.redis_calls_per_msg,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
      ),
    '',
    `Failover (${f.nodes} nodes, leader SIGKILLed 300 ms into a 1 s \`for\` hold, ${f.trials.length} trial${f.trials.length > 1 ? 's' : ''}): kill → new leader median **${f.leader_median_ms} ms** (max ${f.leader_max_ms}), kill → the pending alert on a survivor's socket.io median **${f.alert_median_ms} ms** (max ${f.alert_max_ms}; ${f.trials.map((t) => `${t.alert_late_ms} ms`).join(', ')} after it was due)`,
    '',
    `Round trips on loopback: XADD of a log record (${k.log_record_bytes} B, appendfsync always) p50 ${k.xadd_rtt_us_p50} µs / p99 ${k.xadd_rtt_us_p99} µs alone, ${k.xadd_pipelined_us_per_entry} µs per entry pipelined by 100; PostgreSQL statement (pg-native, synchronous) read p50 ${k.pg_read_rtt_us_p50} / p99 ${k.pg_read_rtt_us_p99} µs, autocommitted write p50 ${k.pg_write_rtt_us_p50} / p99 ${k.pg_write_rtt_us_p99} µs. Redis memory of the log: ${k.log_bytes_per_entry} B per entry (${k.log_entries.toLocaleString('en')} entries)`,
    '',
  ]
}

if (process.argv[1]?.endsWith('cluster.ts')) {
  const quick = process.argv.includes('--quick')
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-bench-cluster-'))
  measureCluster({
    work,
    secretHash: hashGeneratedSecret(BENCH_SECRET),
    quick,
    warmup: quick ? 1 : 2,
    seconds: 3,
  })
    .then((c) => {
      console.log(clusterLines(c).join('\n'))
      fs.rmSync(work, { recursive: true, force: true })
      process.exit(0)
    })
    .catch((err) => {
      console.error(err)
      process.exit(1)
    })
}
