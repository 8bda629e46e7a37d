import { fork } from 'node:child_process'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import mqtt from 'mqtt'
import { Topics } from '../src/mqtt/topics.ts'
import { deviceId, payloadFor } from './loadgen.ts'
import { cpuSeconds, percentile } from './proc.ts'
import { ROOT, type Target } from './targets.ts'

/**
 * PUBACK latency of one well-behaved device under connection churn: a QoS 1 publisher at a steady
 * rate measures its PUBLISH → PUBACK times on a quiet hub, then again while `churners` other devices
 * connect and disconnect in a loop (bench/churn-clients.ts, 10 % bad credentials), on the same hub in
 * the same run. The figure is the ratio of the two p99s.
 */

export interface ChurnPhase {
  samples: number
  p50_ms: number
  p99_ms: number
  max_ms: number
  /** The hub's event-loop delay over the phase (prom-client's histogram, reset at each scrape): is the loop held? */
  loop_p99_ms: number
  loop_max_ms: number
}

export interface ChurnResult {
  churners: number
  rate_per_s: number
  quiet: ChurnPhase
  churn: ChurnPhase
  /** p99 under churn / p99 quiet. */
  p99_ratio: number
  /** Connect attempts per second during the churn phase, and how they ended. */
  attempts_per_s: number
  connected: number
  refused: Record<string, number>
  hub_cpu_pct: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function measureChurn(
  target: Target,
  opts: { secret: string; churners: number; probeIndex: number; seconds: number; ratePerS: number },
): Promise<ChurnResult> {
  const { id, kind } = deviceId('bench', opts.probeIndex)
  const topic = new Topics('zhian').device(kind, id, 'state')
  const probe = await mqtt.connectAsync(target.mqttUrl, {
    clientId: `${id}-probe`,
    username: id,
    password: opts.secret,
    protocolVersion: 4,
    keepalive: 60,
    reconnectPeriod: 0,
  })
  let seq = 0
  /** Publish at a steady rate for `ms`, whatever the PUBACKs do (open loop), and collect the latencies. */
  /** One scrape (each one resets the hub's histogram): the delay since the previous one. */
  const loopDelay = async () => {
    const text = await (await fetch(`${target.httpUrl}/metrics`)).text()
    const ms = (name: string) => {
      const m = new RegExp(`^zhian_nodejs_eventloop_lag_${name}_seconds ([0-9.e+-]+)$`, 'm').exec(text)
      return m ? Math.round(Number(m[1]) * 10_000) / 10 : Number.NaN
    }
    return { loop_p99_ms: ms('p99'), loop_max_ms: ms('max') }
  }
  const publishFor = async (ms: number): Promise<ChurnPhase> => {
    await loopDelay() // resets the hub's histogram: the next reading covers this phase only
    const latencies: number[] = []
    let outstanding = 0
    const timer = setInterval(() => {
      const sent = performance.now()
      outstanding++
      probe.publish(topic, payloadFor(kind, seq++), { qos: 1 }, (err) => {
        outstanding--
        if (!err) latencies.push(performance.now() - sent)
      })
    }, 1000 / opts.ratePerS)
    await sleep(ms)
    clearInterval(timer)
    const loop = await loopDelay()
    for (let i = 0; i < 300 && outstanding > 0; i++) await sleep(100)
    const round = (x: number) => Math.round(x * 10) / 10
    return {
      samples: latencies.length,
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      max_ms: round(Math.max(...latencies)),
      ...loop,
    }
  }
  try {
    await publishFor(1000) // warm-up: the first publishes compile the hot path
    const quiet = await publishFor(opts.seconds * 1000)
    const child = fork(
      path.join(ROOT, 'bench/churn-clients.ts'),
      ['--url', target.mqttUrl, '--count', String(opts.churners), '--secret', opts.secret],
      { execArgv: ['--import', 'tsx'], stdio: 'inherit' },
    )
    await new Promise((r) => child.once('message', r))
    const cpu0 = cpuSeconds(target.pid)
    const t0 = performance.now()
    const churn = await publishFor(opts.seconds * 1000)
    const elapsed = (performance.now() - t0) / 1000
    const hubCpu = cpuSeconds(target.pid) - cpu0
    const { stats } = await new Promise<{ stats: ChurnStats }>((r) => {
      child.once('message', r as never)
      child.send({ type: 'stats' })
    })
    child.kill('SIGTERM')
    return {
      churners: opts.churners,
      rate_per_s: opts.ratePerS,
      quiet,
      churn,
      p99_ratio: Math.round((churn.p99_ms / quiet.p99_ms) * 10) / 10,
      attempts_per_s: Math.round(stats.attempts / elapsed),
      connected: stats.connected,
      refused: { ...stats.refused, ...(stats.errors ? { error: stats.errors } : {}) },
      hub_cpu_pct: Math.round((hubCpu / elapsed) * 100),
    }
  } finally {
    await probe.endAsync(true).catch(() => undefined)
  }
}

interface ChurnStats {
  attempts: number
  connected: number
  refused: Record<string, number>
  errors: number
}
