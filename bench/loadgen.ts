import { parseArgs } from 'node:util'
import mqtt, { type MqttClient } from 'mqtt'
import { KIND_IDS, type KindId, kindOf } from '../devices/index.ts'
import { simulatorOf } from '../devices/types.ts'
import { Topics } from '../src/mqtt/topics.ts'

/**
 * Closed-loop MQTT load generator, run as its own process by bench/run.ts: N publishers, each keeping
 * a window of publishes in flight (about 1,000 in flight per process, as the baseline harness did),
 * each kind's healthy state payloads as devices/<kind>.ts declares them. Prints one JSON line of counts.
 * With `--warmup S` it publishes S seconds first and prints `{"warm":…}` when the measured window
 * starts: a freshly started target is still compiling its hot path then (V8's JIT), and the figures
 * are meant to be its steady state.
 */

const topics = new Topics('zhian')

/**
 * The kinds the benchmark measures: those of the synthesised estates' mix (`simulator.mix.weight` >
 * 0: lifts, fire passages, manholes, parking bays). A kind added with weight 0 (a smoke detector, a
 * camera) leaves the measured load — and the history run's count of it — as it was.
 */
export const BENCH_KINDS: readonly KindId[] = KIND_IDS.filter((k) => simulatorOf(kindOf(k)).mix.weight > 0)

export function deviceId(prefix: string, i: number): { id: string; kind: KindId } {
  const kind = BENCH_KINDS[i % BENCH_KINDS.length]!
  return { id: `${prefix}_${kind}_${i}`, kind }
}

/**
 * Ordinary telemetry of a healthy device (the kind's `simulator.healthy`), varying with `n`: the
 * benchmark measures ingest, not an alert storm (every alert transition is a durable write and is
 * measured separately, as alert latency).
 */
export function payloadFor(kind: KindId, n: number): string {
  return JSON.stringify({ ...simulatorOf(kindOf(kind)).healthy(n), seq: n })
}

async function main() {
  const { values: opt } = parseArgs({
    options: {
      /** One broker, or several separated by commas: publisher i connects to the (i mod n)-th (a cluster's nodes). */
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      publishers: { type: 'string', default: '10' },
      qos: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '10' },
      /** Seconds of load before the measured window (its end is printed as a `warm` line). */
      warmup: { type: 'string', default: '0' },
      /** Messages per second for the whole process (0 = as fast as the window allows). */
      rate: { type: 'string', default: '0' },
      secret: { type: 'string', default: '' },
      prefix: { type: 'string', default: 'bench' },
      /** First `seq` of every publisher: a second run against the same hub sends new readings, not resends. */
      'seq-base': { type: 'string', default: '0' },
    },
  })

  const N = Number(opt.publishers)
  const QOS = Number(opt.qos) as 0 | 1
  const SECONDS = Number(opt.seconds)
  const WARMUP = Number(opt.warmup)
  const RATE = Number(opt.rate)
  const SEQ_BASE = Number(opt['seq-base'])
  // Bounded: whatever happens, the generator ends by itself.
  setTimeout(() => process.exit(3), (WARMUP + SECONDS + 330) * 1000).unref()
  const urls = opt.url!.split(',')
  const clients: MqttClient[] = []
  let errors = 0
  // Stagger connects: 200 in flight, like the baseline harness.
  for (let start = 0; start < N; start += 200) {
    const batch = []
    for (let i = start; i < Math.min(N, start + 200); i++) {
      const { id } = deviceId(opt.prefix!, i)
      batch.push(
        mqtt
          .connectAsync(urls[i % urls.length]!, {
            clientId: `${id}-c`,
            username: opt.secret ? id : undefined,
            password: opt.secret || undefined,
            protocolVersion: 4,
            keepalive: 60,
            reconnectPeriod: 0,
            connectTimeout: 30_000,
          })
          .then((c) => {
            clients[i] = c
          }),
      )
    }
    await Promise.all(batch)
  }
  const window = Math.max(1, Math.ceil(1000 / N))
  let published = 0
  let acked = 0
  let stop = false
  let skipped = 0
  const started = Date.now()
  const deadline = started + (WARMUP + SECONDS) * 1000
  /** Start of the measured window, and the counts at that moment. */
  let measured = { at: started, published: 0, acked: 0 }
  const loops = RATE > 0 ? openLoop() : closedLoop()

  /** Closed loop: every publisher keeps `window` publishes in flight, as fast as the broker acks. */
  function closedLoop(): Promise<unknown> {
    return Promise.all(
      clients.map(async (client, i) => {
        const { id, kind } = deviceId(opt.prefix!, i)
        const topic = topics.device(kind, id, 'state')
        let n = SEQ_BASE
        const one = async () => {
          while (!stop) {
            // A QoS 0 publish can resolve without leaving the microtask queue (the socket took the
            // bytes at once): yield now and then, or the stop timer never runs.
            if (QOS === 0 && (published & 255) === 0) await new Promise((r) => setImmediate(r))
            published++
            try {
              await client.publishAsync(topic, payloadFor(kind, n++), { qos: QOS })
              acked++
            } catch {
              errors++
            }
          }
        }
        await Promise.all(Array.from({ length: window }, one))
      }),
    )
  }

  /** Open loop: RATE messages/s spread over the publishers, whatever the broker does (a publisher skips when it already has 4 × window unacknowledged). */
  function openLoop(): Promise<unknown> {
    const inflight = new Array<number>(N).fill(0)
    const seqs = new Array<number>(N).fill(SEQ_BASE)
    let next = 0
    return new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.floor(((Date.now() - started) / 1000) * RATE) - published - skipped
        for (let k = 0; k < due; k++) {
          const i = next++ % N
          if (inflight[i]! >= window * 4) {
            skipped++
            continue
          }
          const { id, kind } = deviceId(opt.prefix!, i)
          inflight[i]!++
          published++
          clients[i]!.publish(
            topics.device(kind, id, 'state'),
            payloadFor(kind, seqs[i]!++),
            { qos: QOS },
            (err) => {
              inflight[i]!--
              if (err) errors++
              else acked++
            },
          )
        }
        if (stop) {
          clearInterval(tick)
          const drain = setInterval(() => {
            if (inflight.every((x) => x === 0)) {
              clearInterval(drain)
              resolve()
            }
          }, 20)
        }
      }, 10)
    })
  }
  if (WARMUP > 0) {
    while (Date.now() < started + WARMUP * 1000) await new Promise((r) => setTimeout(r, 20))
    measured = { at: Date.now(), published, acked }
    process.stdout.write(`${JSON.stringify({ warm: measured.at })}\n`)
  }
  while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  stop = true
  const stoppedAt = Date.now()
  await Promise.race([loops, new Promise((r) => setTimeout(r, 30_000))])
  // Let the broker take in the last QoS 0 messages: Aedes may drop a client's unprocessed chunk on DISCONNECT.
  await new Promise((r) => setTimeout(r, 1000))
  // A graceful DISCONNECT: the broker reads everything sent before it (a forced close would discard QoS 0 still in the socket).
  await Promise.all(clients.map((c) => c.endAsync(false).catch(() => undefined)))
  process.stdout.write(
    `${JSON.stringify({ published, acked, errors, skipped, started, measured_from: measured.at, published_before: measured.published, acked_before: measured.acked, stopped: stoppedAt, finished: Date.now(), publishers: N, qos: QOS })}\n`,
  )
  process.exit(0)
}

if (process.argv[1]?.endsWith('loadgen.ts')) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
