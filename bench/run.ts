import { fork } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { DEVICE_COST, hashGeneratedSecret, hashSecret } from '../src/util/secrets.ts'
import { type ChurnResult, measureChurn } from './churn.ts'
import { type ClusterResult, clusterLines, measureCluster } from './cluster.ts'
import { type HistoryResult, measureHistory } from './history.ts'
import { type LatencyResult, measureAlertLatency } from './latency.ts'
import { CORES, cpuSeconds, machineBusySeconds, median, rssKiB, waitIdle } from './proc.ts'
import { measurePushes, type PushResult, pushLines } from './pushes.ts'
import {
  BENCH_SECRET,
  benchEstate,
  ROOT,
  runGenerator,
  startBareAedes,
  startMosquitto,
  startZhian,
  type Target,
} from './targets.ts'

/**
 * `npm run bench [-- --quick] [-- --json FILE]`: every target started fresh on loopback, driven by the
 * load generator in its own process, several reps, medians with the spread. Ratios are the figures to
 * trust on a shared 2-core box (research/baseline-perf.md).
 */

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    md: { type: 'string' },
    only: { type: 'string' },
    /** Idle-connection counts to measure, e.g. `--connections 10000,25000` (default 10,000; quick 2,000). */
    connections: { type: 'string' },
  },
})
const QUICK = opt.quick!
/** Three reps for the headline row (QoS 1, 10 publishers), two for the others: the full run stays under 10 minutes. */
const repsFor = (qos: 0 | 1, n: number) => (QUICK ? 1 : qos === 1 && n === 10 ? 3 : 2)
/**
 * Every throughput rep starts its target fresh, then loads it WARMUP s before measuring (V8 is still
 * compiling the hot path), then SECONDS: 4 s for the headline row, 3 s for the others, 3 s quick.
 */
const WARMUP = QUICK ? 1 : 2
const SECONDS = QUICK ? 3 : 4
const loadSeconds = (qos: 0 | 1, n: number) => (!QUICK && qos === 1 && n === 10 ? SECONDS : 3)
/** Seconds of load of the growth and history runs (open loop / end to end: no warm-up split). */
const RUN_SECONDS = QUICK ? 4 : 5
const TSX = ['--import', 'tsx']
/** `--only throughput,latency,history,connections,growth,churn,pushes,cluster` runs a subset (for profiling one part). */
const want = (part: string) => !opt.only || opt.only.split(',').includes(part)

export interface ThroughputRep {
  target: string
  qos: 0 | 1
  publishers: number
  received_per_s: number
  published_per_s: number
  acked: number
  received: number
  lost: number
  broker_cpu_pct: number
  /** Broker CPU per message processed: the figure that does not depend on how hard the generator pushed. */
  broker_cpu_us_per_msg: number
  gen_cpu_pct: number
  machine_busy_pct: number
  broker_rss_mib: number
}

/** Wait until the target's count stops moving (2 s unchanged, 30 s at most); returns count and when it last moved. */
async function settle(target: Target): Promise<{ count: number; at: number }> {
  let last = await target.count()
  let at = Date.now()
  const end = Date.now() + 30_000
  while (Date.now() < end && Date.now() - at < 2000) {
    await new Promise((r) => setTimeout(r, 200))
    const now = await target.count()
    if (now !== last) {
      last = now
      at = Date.now()
    }
  }
  return { count: last, at }
}

async function throughputRep(
  start: () => Promise<Target>,
  qos: 0 | 1,
  publishers: number,
  auth: boolean,
): Promise<ThroughputRep> {
  const target = await start()
  try {
    await waitIdle(QUICK ? 3000 : 5000)
    const before = await target.count()
    const seconds = loadSeconds(qos, publishers)
    let genCpu = 0
    // Snapshot when the warm-up ends: the rates are over the measured window only.
    let warm: Promise<{ count: number; cpu: number; busy: number; genCpu: number }> | undefined
    const gen = runGenerator(
      [
        ...['--url', target.mqttUrl, '--publishers', String(publishers), '--qos', String(qos)],
        ...['--seconds', String(seconds), '--warmup', String(WARMUP)],
        ...(auth ? ['--secret', BENCH_SECRET] : []),
      ],
      () => {
        const [cpu, busy, g] = [cpuSeconds(target.pid), machineBusySeconds(), genCpu]
        warm = target.count().then((count) => ({ count, cpu, busy, genCpu: g }))
      },
    )
    const sampler = setInterval(() => {
      try {
        genCpu = cpuSeconds(gen.pid)
      } catch {
        // generator exited
      }
    }, 200)
    const result = await gen.done
    clearInterval(sampler)
    if (!warm) throw new Error('the load generator never reported the end of its warm-up')
    const w = await warm
    const settled = await settle(target)
    const window = (result.stopped - result.measured_from) / 1000
    const received = settled.count - w.count
    const brokerCpu = cpuSeconds(target.pid) - w.cpu
    const busy = machineBusySeconds() - w.busy
    const elapsed = Math.max(window, (settled.at - result.measured_from) / 1000)
    const lost = Math.max(0, result.acked - (settled.count - before))
    return {
      target: target.name,
      qos,
      publishers,
      received_per_s: Math.round(received / elapsed),
      published_per_s: Math.round((result.acked - result.acked_before) / window),
      acked: result.acked,
      received: settled.count - before,
      lost,
      broker_cpu_pct: Math.round((brokerCpu / elapsed) * 100),
      broker_cpu_us_per_msg: Math.round((brokerCpu / Math.max(1, received)) * 1e7) / 10,
      gen_cpu_pct: Math.round(((genCpu - w.genCpu) / window) * 100),
      machine_busy_pct: Math.round((busy / elapsed) * 100),
      broker_rss_mib: Math.round(rssKiB(target.pid) / 1024),
    }
  } finally {
    await target.stop()
  }
}

export interface ConnectionRep {
  target: string
  connections: number
  connected: number
  failed: number
  connect_s: number
  rss_idle_mib: number
  rss_per_conn_kib: number
  idle_cpu_pct: number
  still_connected: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** N idle devices with keepalive: time to connect all, broker RSS per connection, CPU at idle. */
async function connectionRep(start: () => Promise<Target>, n: number, auth: boolean): Promise<ConnectionRep> {
  const target = await start()
  try {
    await sleep(2000)
    const rssIdle = rssKiB(target.pid)
    const child = fork(
      path.join(ROOT, 'bench/conn-clients.ts'),
      ['--url', target.mqttUrl, '--count', String(n), ...(auth ? ['--secret', BENCH_SECRET] : [])],
      {
        execArgv: TSX,
        stdio: 'inherit',
      },
    )
    const up = await new Promise<{ connected: number; failed: number; seconds: number }>((r) =>
      child.once('message', r as never),
    )
    await sleep(QUICK ? 3000 : 10_000)
    const rssSettled = rssKiB(target.pid)
    const cpu0 = cpuSeconds(target.pid)
    await sleep(5000)
    const idleCpu = ((cpuSeconds(target.pid) - cpu0) / 5) * 100
    const alive = await new Promise<number>((r) => {
      child.once('message', (m: { alive: number }) => r(m.alive))
      child.send({ type: 'alive' })
    })
    child.kill('SIGTERM')
    return {
      target: target.name,
      connections: n,
      connected: up.connected,
      failed: up.failed,
      connect_s: Math.round(up.seconds * 10) / 10,
      rss_idle_mib: Math.round(rssIdle / 1024),
      rss_per_conn_kib: Math.round(((rssSettled - rssIdle) / Math.max(1, up.connected)) * 10) / 10,
      idle_cpu_pct: Math.round(idleCpu * 10) / 10,
      still_connected: alive,
    }
  } finally {
    await target.stop()
  }
}

export interface GrowthRow {
  load: string
  rate: number
  received_per_s: number
  broker_cpu_pct: number
  cpu_us_per_msg: number
  broker_rss_mib: number
  lost: number
}

/** The same open-loop load at 1×, 2×, 4×: how zhian's cost grows with load. */
async function growthRow(start: () => Promise<Target>, factor: number, rate: number): Promise<GrowthRow> {
  const target = await start()
  try {
    const before = await target.count()
    const cpu0 = cpuSeconds(target.pid)
    const gen = runGenerator([
      ...['--url', target.mqttUrl, '--publishers', '100', '--qos', '1', '--seconds', String(RUN_SECONDS)],
      ...['--rate', String(rate), '--secret', BENCH_SECRET],
    ])
    const result = await gen.done
    const settled = await settle(target)
    const received = settled.count - before
    const elapsed = Math.max((result.stopped - result.started) / 1000, (settled.at - result.started) / 1000)
    const cpu = cpuSeconds(target.pid) - cpu0
    return {
      load: `${factor}×`,
      rate,
      received_per_s: Math.round(received / elapsed),
      broker_cpu_pct: Math.round((cpu / elapsed) * 100),
      cpu_us_per_msg: Math.round((cpu / Math.max(1, received)) * 1e6 * 10) / 10,
      broker_rss_mib: Math.round(rssKiB(target.pid) / 1024),
      lost: Math.max(0, result.acked - received),
    }
  } finally {
    await target.stop()
  }
}

/** Alert latency while a background load runs at `rate` msg/s (half the measured capacity). */
async function latencyRun(
  estate: string,
  rate: number,
  samples: number,
): Promise<LatencyResult & { background_rate: number }> {
  const target = await startZhian({ estateFile: estate })
  try {
    const gen = runGenerator([
      ...[
        '--url',
        target.mqttUrl,
        '--publishers',
        '100',
        '--qos',
        '1',
        '--seconds',
        String(Math.ceil(samples * 0.05) + 6),
      ],
      ...['--rate', String(rate), '--secret', BENCH_SECRET],
    ])
    await sleep(2000)
    const result = await measureAlertLatency({
      mqttUrl: target.mqttUrl,
      httpUrl: target.httpUrl!,
      token: 'bench-api-token-0123456789',
      secret: BENCH_SECRET,
      firstIndex: 100,
      lastIndex: 100_000,
      samples,
      intervalMs: 50,
    })
    await gen.done
    return { ...result, background_rate: rate }
  } finally {
    await target.stop()
  }
}

/**
 * A legitimate device's PUBACK latency quiet and under connection churn, on one fresh hub. The estate's
 * secrets are typed ones (scrypt, as an estate file's `secret:` gets), the expensive case.
 */
async function churnRun(work: string): Promise<ChurnResult> {
  const churners = QUICK ? 1000 : 2000
  const estate = benchEstate(work, churners + 1, await hashSecret(BENCH_SECRET, DEVICE_COST))
  const target = await startZhian({ estateFile: estate, name: 'zhian-churn' })
  try {
    await waitIdle(QUICK ? 3000 : 5000)
    return await measureChurn(target, {
      secret: BENCH_SECRET,
      churners,
      probeIndex: churners,
      seconds: QUICK ? 6 : 12,
      ratePerS: 20,
    })
  } finally {
    await target.stop()
  }
}

export interface Summary {
  machine: Record<string, unknown>
  throughput: Record<string, { median: number; min: number; max: number; reps: ThroughputRep[] }>
  ratio_qos1: number
  ratio_qos0: number
  /** Bare Aedes' broker CPU per message over zhian's (QoS 1, 10 publishers): the cost ratio. */
  cpu_ratio_qos1: number
  journal_ratio: number
  connections: ConnectionRep[]
  growth: GrowthRow[]
  latency: LatencyResult & { background_rate: number }
  history?: HistoryResult
  /** NB-IoT platform pushes (CTWing-shaped) at 1,000/s. */
  pushes?: PushResult
  churn?: ChurnResult
  /** Cluster mode (PostgreSQL + Redis) against the embedded hub, failover, per-message costs. */
  cluster?: ClusterResult
  alert_p99_ms: number
  rss_per_conn_kb: number
  lost: number
  qos0_shed: number
  goals: Record<string, { goal: string; value: number; met: boolean }>
}

function spread(reps: ThroughputRep[]) {
  const v = reps.map((r) => r.received_per_s)
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), reps }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-bench-'))
  const hash = hashGeneratedSecret(BENCH_SECRET)
  const t0 = Date.now()
  const publisherCounts = QUICK ? [10] : [10, 1000]
  const connectionCounts = opt.connections
    ? opt.connections.split(',').map(Number)
    : QUICK
      ? [2000]
      : [10_000]
  const estate = benchEstate(work, Math.max(...publisherCounts, ...connectionCounts), hash)
  const targets: [string, (qos: 0 | 1) => () => Promise<Target>, boolean][] = [
    ['zhian', () => () => startZhian({ estateFile: estate }), true],
    ['bare-aedes', () => () => startBareAedes(), false],
    ['mosquitto', (qos) => () => startMosquitto(qos), false],
  ]
  // The journal's own cost: the same hub with the durable journal off (QoS 1, 10 publishers only).
  targets.splice(1, 0, [
    'zhian-no-journal',
    () => () => startZhian({ estateFile: estate, env: { ZHIAN_JOURNAL: 'off' }, name: 'zhian-no-journal' }),
    true,
  ])
  const throughput: Summary['throughput'] = {}
  for (const qos of want('throughput') ? ([1, 0] as const) : []) {
    for (const n of publisherCounts) {
      for (const [name, factory, auth] of targets) {
        if (QUICK && name === 'mosquitto' && qos === 0) continue
        if (name === 'zhian-no-journal' && (qos !== 1 || n !== 10)) continue
        const reps: ThroughputRep[] = []
        for (let i = 0; i < repsFor(qos, n); i++) {
          const rep = await throughputRep(factory(qos), qos, n, auth)
          console.error(
            `${name} qos${qos} n=${n} rep ${i + 1}: ${rep.received_per_s} msg/s, lost ${rep.lost}, broker ${rep.broker_cpu_pct}% gen ${rep.gen_cpu_pct}%`,
          )
          reps.push(rep)
        }
        throughput[`${name}/qos${qos}/n${n}`] = spread(reps)
      }
    }
  }
  const ratio = (qos: 0 | 1, n: number) =>
    Math.round(
      ((throughput[`zhian/qos${qos}/n${n}`]?.median ?? Number.NaN) /
        (throughput[`bare-aedes/qos${qos}/n${n}`]?.median ?? Number.NaN)) *
        100,
    ) / 100
  const connections: ConnectionRep[] = []
  for (const n of want('connections') ? connectionCounts : []) {
    for (const [name, factory, auth] of targets) {
      if (name === 'mosquitto' && QUICK) continue
      // Idle connections do not touch the journal: the same hub without it adds nothing here.
      if (name === 'zhian-no-journal') continue
      const rep = await connectionRep(factory(1), n, auth)
      console.error(
        `${name} ${n} idle connections: ${rep.connect_s} s to connect, ${rep.rss_per_conn_kib} KiB each`,
      )
      connections.push(rep)
    }
  }
  const capacity = throughput['zhian/qos1/n10']?.median ?? 10_000
  const latency = want('latency')
    ? await latencyRun(estate, Math.round(capacity / 2), QUICK ? 60 : 200)
    : {
        samples: 0,
        p50_ms: Number.NaN,
        p95_ms: Number.NaN,
        p99_ms: Number.NaN,
        max_ms: Number.NaN,
        missed: 0,
        background_rate: 0,
      }
  console.error(
    `alert latency at 50% load: p50 ${latency.p50_ms} ms, p99 ${latency.p99_ms} ms (${latency.samples} samples)`,
  )
  const history = want('history')
    ? await measureHistory(estate, RUN_SECONDS, async (mqttUrl, seconds, seqBase) => {
        const gen = runGenerator([
          ...['--url', mqttUrl, '--publishers', '10', '--qos', '1', '--seconds', String(seconds)],
          ...['--secret', BENCH_SECRET, '--seq-base', String(seqBase)],
        ])
        return gen.done
      })
    : undefined
  if (history)
    console.error(
      `history: ${history.live_points_per_s} points/s live, backlog drain ${history.drain_points_per_s} points/s, lost ${history.lost}`,
    )
  const pushes = want('pushes') ? await measurePushes(work, RUN_SECONDS) : undefined
  if (pushes)
    console.error(
      `pushes: ${pushes.answered_per_s} answered/s of ${pushes.offered_per_s} offered, ${pushes.refused} refused, lost ${pushes.lost}`,
    )
  const churn = want('churn') ? await churnRun(work) : undefined
  if (churn)
    console.error(
      `churn: PUBACK p99 ${churn.quiet.p99_ms} ms quiet, ${churn.churn.p99_ms} ms under ${churn.attempts_per_s} connects/s (×${churn.p99_ratio})`,
    )
  const cluster = want('cluster')
    ? await measureCluster({ work, secretHash: hash, quick: QUICK, warmup: WARMUP, seconds: 3 })
    : undefined
  const base = Math.max(500, Math.round((capacity * 0.2) / 100) * 100)
  const growth: GrowthRow[] = []
  for (const factor of want('growth') ? (QUICK ? [1, 2] : [1, 2, 4]) : []) {
    const row = await growthRow(targets[0]![1](1), factor, base * factor)
    console.error(`growth ${factor}×: ${row.received_per_s} msg/s at ${row.broker_cpu_pct}% CPU`)
    growth.push(row)
  }
  const reps = Object.values(throughput).flatMap((t) => t.reps)
  // Acknowledged messages (QoS 1 PUBACKs, history) that never arrived: the promise is zero.
  const lost =
    reps.filter((r) => r.qos === 1).reduce((s, r) => s + r.lost, 0) +
    growth.reduce((s, r) => s + r.lost, 0) +
    (history?.lost ?? 0) +
    (pushes?.lost ?? 0) +
    (cluster?.rows.reduce((s, r) => s + r.lost, 0) ?? 0)
  // QoS 0 is at most once: what a flooded hub sheds (counted, ZHIAN_ERR_OVERLOADED) is reported apart.
  const qos0Shed = reps.filter((r) => r.qos === 0).reduce((s, r) => s + r.lost, 0)
  const zhianConn = connections.find((c) => c.target === 'zhian')
  const summary: Summary = {
    machine: {
      cores: CORES,
      cpu: os.cpus()[0]?.model,
      memory_gib: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    throughput,
    ratio_qos1: ratio(1, 10),
    ratio_qos0: ratio(0, 10),
    cpu_ratio_qos1: cpuRatio(throughput),
    journal_ratio: Number.NaN,
    connections,
    growth,
    latency,
    history,
    pushes,
    churn,
    cluster,
    alert_p99_ms: latency.p99_ms,
    rss_per_conn_kb: zhianConn ? Math.round(zhianConn.rss_per_conn_kib * 1.024 * 10) / 10 : Number.NaN,
    lost,
    qos0_shed: qos0Shed,
    goals: {},
  }
  summary.journal_ratio =
    Math.round(
      ((throughput['zhian/qos1/n10']?.median ?? Number.NaN) /
        (throughput['zhian-no-journal/qos1/n10']?.median ?? Number.NaN)) *
        100,
    ) / 100
  summary.goals.journal = {
    goal: 'the durable journal keeps ≥ 0.5 of the same hub without it (QoS 1)',
    value: summary.journal_ratio,
    met: summary.journal_ratio >= 0.5,
  }
  summary.goals.ratio_qos1 = {
    goal: '≥ 0.5 × bare Aedes (QoS 1, journal on)',
    value: summary.ratio_qos1,
    met: summary.ratio_qos1 >= 0.5,
  }
  summary.goals.latency = {
    goal: 'p99 alert latency ≤ 50 ms at 50% load',
    value: latency.p99_ms,
    met: latency.p99_ms <= 50 && latency.missed === 0,
  }
  summary.goals.rss = {
    goal: '≤ 40 KB RSS per idle device connection',
    value: summary.rss_per_conn_kb,
    met: summary.rss_per_conn_kb <= 40,
  }
  if (churn)
    summary.goals.churn = {
      goal: "a legitimate device's PUBACK p99 under connection churn ≤ 5 × its quiet p99 (same run)",
      value: churn.p99_ratio,
      met: churn.p99_ratio <= 5,
    }
  summary.goals.lost = {
    goal: `no acknowledged message lost in any run (QoS 0 shed under overload, apart: ${qos0Shed})`,
    value: lost,
    met: lost === 0,
  }
  const md = renderMarkdown(summary, (Date.now() - t0) / 1000)
  console.log(md)
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ ...flatten(summary), summary }, null, 2))
  if (opt.md) fs.writeFileSync(opt.md, md)
  fs.rmSync(work, { recursive: true, force: true })
}

function cpuRatio(throughput: Summary['throughput']): number {
  const us = (key: string) => median((throughput[key]?.reps ?? []).map((r) => r.broker_cpu_us_per_msg))
  return Math.round((us('bare-aedes/qos1/n10') / us('zhian/qos1/n10')) * 100) / 100
}

function flatten(s: Summary): Record<string, unknown> {
  return {
    ratio_qos1: s.ratio_qos1,
    ratio_qos0: s.ratio_qos0,
    cpu_ratio_qos1: s.cpu_ratio_qos1,
    journal_ratio: s.journal_ratio,
    alert_p50_ms: s.latency.p50_ms,
    alert_p99_ms: s.alert_p99_ms,
    rss_per_conn_kb: s.rss_per_conn_kb,
    history_points_per_s: s.history?.live_points_per_s ?? null,
    history_drain_points_per_s: s.history?.drain_points_per_s ?? null,
    pushes_answered_per_s: s.pushes?.answered_per_s ?? null,
    pushes_p99_ms: s.pushes?.p99_ms ?? null,
    churn_p99_quiet_ms: s.churn?.quiet.p99_ms ?? null,
    churn_p99_ms: s.churn?.churn.p99_ms ?? null,
    churn_p99_ratio: s.churn?.p99_ratio ?? null,
    ...Object.fromEntries(
      (s.cluster?.rows ?? []).filter((r) => r.nodes > 0).map((r) => [`cluster${r.nodes}_ratio`, r.ratio]),
    ),
    cluster_failover_leader_ms: s.cluster?.failover.leader_median_ms ?? null,
    cluster_failover_alert_ms: s.cluster?.failover.alert_median_ms ?? null,
    lost: s.lost,
    qos0_shed: s.qos0_shed,
  }
}

function historyLines(h: HistoryResult | undefined): string[] {
  if (!h) return []
  return [
    `History (zhian → influxd 1.6.7 on the same box, QoS 1, 10 publishers): **${h.live_points_per_s.toLocaleString('en')} points/s** end to end while InfluxDB is up (${h.live_acked.toLocaleString('en')} readings); with influxd stopped ${h.outage_acked.toLocaleString('en')} readings waited in the journal (backlog peak ${h.backlog_peak_mib} MiB), shipping resumed ${h.resume_s} s after influxd returned and the backlog drained at **${h.drain_points_per_s.toLocaleString('en')} points/s**; ${h.stored.toLocaleString('en')} readings counted in InfluxDB, ${h.lost} lost`,
    '',
  ]
}

function churnLines(c: ChurnResult | undefined): string[] {
  if (!c) return []
  const refused = Object.entries(c.refused)
    .map(([k, n]) => `${k} ${n.toLocaleString('en')}`)
    .join(', ')
  return [
    `Connection churn (one device publishing QoS 1 at ${c.rate_per_s} msg/s; ${c.churners.toLocaleString('en')} others connecting and disconnecting, 10 % with bad credentials, scrypt secrets): PUBACK p50 ${c.quiet.p50_ms} / p99 ${c.quiet.p99_ms} ms quiet (${c.quiet.samples} samples), p50 ${c.churn.p50_ms} / p99 ${c.churn.p99_ms} ms (max ${c.churn.max_ms}) under ${c.attempts_per_s.toLocaleString('en')} connects/s (${c.connected.toLocaleString('en')} connected; refused: ${refused || 'none'}; hub CPU ${c.hub_cpu_pct} %): **p99 × ${c.p99_ratio}**. Hub event-loop delay p99 ${c.quiet.loop_p99_ms} ms quiet, ${c.churn.loop_p99_ms} ms under churn (max ${c.churn.loop_max_ms})`,
    '',
  ]
}

function renderMarkdown(s: Summary, seconds: number): string {
  const rows = Object.entries(s.throughput).map(([key, t]) => {
    const r = t.reps
    const m = (f: (x: ThroughputRep) => number) => Math.round(median(r.map(f)) * 10) / 10
    const genBound = m((x) => x.gen_cpu_pct) >= 90 ? ' (generator-bound)' : ''
    return `| ${key} | ${t.median.toLocaleString('en')} [${t.min.toLocaleString('en')}–${t.max.toLocaleString('en')}]${genBound} | ${r.reduce((a, x) => a + x.lost, 0)} | ${m((x) => x.broker_cpu_pct)} | ${m((x) => x.broker_cpu_us_per_msg)} | ${m((x) => x.gen_cpu_pct)} | ${m((x) => x.machine_busy_pct)} | ${m((x) => x.broker_rss_mib)} |`
  })
  const goals = Object.values(s.goals).map(
    (g) => `| ${g.goal} | ${g.value} | ${g.met ? 'met' : '**not met**'} |`,
  )
  return [
    `### zhian benchmark (${QUICK ? '1 rep per row' : '3 reps for QoS 1 / 10 publishers, 2 for the other rows'}, each rep on a fresh target: ${WARMUP} s of warm-up, then ${SECONDS === 3 ? '3 s' : `${SECONDS} s (headline row) or 3 s`} measured; ${Math.round(seconds)} s in all; ${s.machine.cores} cores, ${s.machine.cpu})`,
    '',
    '| target/QoS/publishers | msg/s fully processed, median [min–max] | lost (QoS 0: shed) | broker CPU % | broker CPU µs/msg | generator CPU % | machine busy % (of 200) | broker RSS MiB |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `zhian / bare Aedes, QoS 1, 10 publishers: **${s.ratio_qos1}**; QoS 0: **${s.ratio_qos0}**; zhian journal on / off (QoS 1): **${s.journal_ratio}**. By broker CPU per message (QoS 1, 10 publishers), bare Aedes / zhian: **${s.cpu_ratio_qos1}** (what the hub costs per message, whoever was the bottleneck)`,
    '',
    `Alert latency (MQTT PUBLISH of a manhole tilted past 90° → \`alert\` event on a socket.io client), background load ${s.latency.background_rate} msg/s (50% of capacity): p50 ${s.latency.p50_ms} ms, p95 ${s.latency.p95_ms} ms, **p99 ${s.latency.p99_ms} ms**, max ${s.latency.max_ms} ms over ${s.latency.samples} alerts (${s.latency.missed} missed)`,
    '',
    ...historyLines(s.history),
    ...pushLines(s.pushes),
    ...churnLines(s.churn),
    ...clusterLines(s.cluster),
    '| target | idle connections | connected | seconds to connect all | RSS idle MiB | RSS per connection KiB | CPU % at idle | still connected |',
    '|---|---|---|---|---|---|---|---|',
    ...s.connections.map(
      (c) =>
        `| ${c.target} | ${c.connections} | ${c.connected} (${c.failed} failed) | ${c.connect_s} | ${c.rss_idle_mib} | ${c.rss_per_conn_kib} | ${c.idle_cpu_pct} | ${c.still_connected} |`,
    ),
    '',
    '| zhian load (QoS 1, 100 publishers, open loop) | offered msg/s | processed msg/s | hub CPU % | hub CPU µs/msg | hub RSS MiB | lost |',
    '|---|---|---|---|---|---|---|',
    ...s.growth.map(
      (g) =>
        `| ${g.load} | ${g.rate} | ${g.received_per_s} | ${g.broker_cpu_pct} | ${g.cpu_us_per_msg} | ${g.broker_rss_mib} | ${g.lost} |`,
    ),
    '',
    '| goal | value | |',
    '|---|---|---|',
    ...goals,
    '',
  ].join('\n')
}

if (process.argv[1]?.endsWith('run.ts')) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
