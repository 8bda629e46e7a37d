import { launchInfluxd } from '../test/helpers/influxd.ts'
import { BENCH_KINDS } from './loadgen.ts'
import { hubMetric as metric, startZhian } from './targets.ts'

/**
 * History throughput: zhian with a real influxd (Debian 1.6.7) on the same box.
 * 1. live: QoS 1 load while InfluxDB is up — points/s from journal to InfluxDB, end to end;
 * 2. outage: influxd stopped, the same load piles up in the journal; influxd started again —
 *    how long until shipping resumes (the shipper's backoff) and the drain rate of the backlog.
 * Every PUBACKed reading is then counted in InfluxDB itself (`count(seq)`): `lost` is acked − stored.
 */

export interface HistoryResult {
  live_acked: number
  /** Readings PUBACKed in the live phase and not in InfluxDB once the hub had written them. */
  live_lost: number
  live_points_per_s: number
  outage_acked: number
  backlog_peak_mib: number
  resume_s: number
  drain_points_per_s: number
  stored: number
  lost: number
}

type Generator = (
  mqttUrl: string,
  seconds: number,
  seqBase: number,
) => Promise<{ acked: number; started: number; stopped: number }>

/** Every measurement the load writes to: one per benchmarked kind. */
const KIND_MEASUREMENTS = BENCH_KINDS
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Poll until `points` (the hub's written counter) reaches `target` or stops moving for 10 s. */
async function waitWritten(
  httpUrl: string,
  target: number,
  limitMs: number,
): Promise<{ points: number; at: number }> {
  const end = Date.now() + limitMs
  let last = await metric(httpUrl, 'zhian_history_points_written_total')
  let at = Date.now()
  while (last < target && Date.now() < end && Date.now() - at < 10_000) {
    await sleep(50)
    const now = await metric(httpUrl, 'zhian_history_points_written_total')
    if (now !== last) {
      last = now
      at = Date.now()
    }
  }
  return { points: last, at }
}

export async function measureHistory(
  estate: string,
  seconds: number,
  generate: Generator,
): Promise<HistoryResult> {
  const influx = await launchInfluxd()
  const db = 'zhian_bench'
  const hub = await startZhian({
    estateFile: estate,
    name: 'zhian-history',
    env: { ZHIAN_INFLUX_URL: influx.url, ZHIAN_INFLUX_DB: db, ZHIAN_INFLUX_BATCH_INTERVAL_MS: '200' },
  })
  const httpUrl = hub.httpUrl!
  const countStored = async () => {
    let n = 0
    for (const m of KIND_MEASUREMENTS) {
      const [series] = await influx.query(`SELECT count(seq) FROM ${m}`, db)
      n += Number(series?.values[0]?.[1] ?? 0)
    }
    return n
  }
  try {
    // The hub writes a few points of its own at start (availability); count from here.
    await sleep(2000)
    const base = await metric(httpUrl, 'zhian_history_points_written_total')

    const live = await generate(hub.mqttUrl, seconds, 0)
    const liveDone = await waitWritten(httpUrl, base + live.acked, 60_000)
    const livePoints = liveDone.points - base
    const live_points_per_s = Math.round(livePoints / ((liveDone.at - live.started) / 1000))

    const liveStored = await countStored()
    await influx.stop()
    let peak = 0
    const sampler = setInterval(async () => {
      peak = Math.max(peak, await metric(httpUrl, 'zhian_history_backlog_bytes').catch(() => 0))
    }, 250)
    // New seqs: the hub treats a repeated seq with the same values as a resend (one point).
    const outage = await generate(hub.mqttUrl, seconds, 100_000_000)
    await sleep(1000)
    clearInterval(sampler)
    peak = Math.max(peak, await metric(httpUrl, 'zhian_history_backlog_bytes'))
    const beforeDrain = await metric(httpUrl, 'zhian_history_points_written_total')

    await influx.start()
    const up = Date.now()
    // Shipping resumes at the shipper's next retry (exponential backoff, capped at 30 s).
    let first = beforeDrain
    while (first === beforeDrain && Date.now() - up < 45_000) {
      await sleep(20)
      first = await metric(httpUrl, 'zhian_history_points_written_total')
    }
    const resumed = Date.now()
    const drained = await waitWritten(httpUrl, base + live.acked + outage.acked, 120_000)
    const drainPoints = drained.points - beforeDrain
    const drainSeconds = Math.max(0.001, (drained.at - resumed) / 1000)

    const stored = await countStored()
    const acked = live.acked + outage.acked
    return {
      live_acked: live.acked,
      live_lost: Math.max(0, live.acked - liveStored),
      live_points_per_s,
      outage_acked: outage.acked,
      backlog_peak_mib: Math.round((peak / 2 ** 20) * 10) / 10,
      resume_s: Math.round(((resumed - up) / 1000) * 10) / 10,
      drain_points_per_s: Math.round(drainPoints / drainSeconds),
      stored,
      lost: Math.max(0, acked - stored),
    }
  } finally {
    await hub.stop()
    await influx.stop()
  }
}
