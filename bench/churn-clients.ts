import net from 'node:net'
import { parseArgs } from 'node:util'
import { MqttClient } from 'mqtt'
import { deviceId } from './loadgen.ts'

/**
 * Connection churn, run as its own process by bench/churn.ts: `--count` devices connect and disconnect
 * in a loop (`--parallel` cycles at a time) until SIGTERM. One in twenty presents a wrong secret and
 * one in twenty an id the hub does not know (10 % bad credentials, as in the fault-injection campaign);
 * the rest are real devices with their real secret. Sockets leave from `--addresses` loopback addresses
 * (127.0.1.1, 127.0.1.2, …) as a street's devices leave from many, so the per-address failure throttle
 * sees what it would see in the field. On `{type:'stats'}` it answers its counts so far.
 */

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    count: { type: 'string', default: '2000' },
    /** Devices 0..count-1 of the bench estate churn; the probe uses another index. */
    secret: { type: 'string', default: '' },
    parallel: { type: 'string', default: '100' },
    addresses: { type: 'string', default: '50' },
  },
})
const N = Number(opt.count)
const PARALLEL = Number(opt.parallel)
const ADDRESSES = Number(opt.addresses)
const url = new URL(opt.url!)
setTimeout(() => process.exit(3), 600_000).unref()

const stats = { attempts: 0, connected: 0, refused: {} as Record<string, number>, errors: 0 }
let stop = false
let next = 0

/** Who the i-th churner is: a real device with its secret, a real device with a wrong one, or a stranger. */
function identity(i: number): { username: string; password: string } {
  const { id } = deviceId('bench', i)
  if (i % 20 === 0) return { username: id, password: `${opt.secret}-wrong` }
  if (i % 20 === 10) return { username: `churn_stranger_${i}`, password: opt.secret! }
  return { username: id, password: opt.secret! }
}

/** One connect → CONNACK → DISCONNECT cycle; resolves when the socket is closed either way. */
function cycle(i: number): Promise<void> {
  const { username, password } = identity(i)
  const localAddress = `127.0.1.${1 + (i % ADDRESSES)}`
  stats.attempts++
  return new Promise((resolve) => {
    const client = new MqttClient(
      () => net.createConnection({ host: url.hostname, port: Number(url.port), localAddress }),
      {
        clientId: `${username}-churn`,
        username,
        password,
        protocolVersion: 4,
        keepalive: 60,
        reconnectPeriod: 0,
        connectTimeout: 30_000,
        clean: true,
      },
    )
    let settled = false
    const done = () => {
      if (settled) return
      settled = true
      client.end(true, () => resolve())
    }
    client.once('connect', () => {
      stats.connected++
      // A graceful DISCONNECT, as a device that goes to sleep sends.
      settled = true
      client.end(false, () => resolve())
    })
    client.once('error', (err: Error & { code?: number }) => {
      const key = typeof err.code === 'number' ? `connack_${err.code}` : 'error'
      if (key === 'error') stats.errors++
      else stats.refused[key] = (stats.refused[key] ?? 0) + 1
      done()
    })
    client.once('close', done)
  })
}

async function loop(): Promise<void> {
  while (!stop) await cycle(next++ % N)
}

process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') process.send?.({ stats })
})
process.on('SIGTERM', () => {
  stop = true
  process.exit(0)
})
process.send?.({ ready: true })
await Promise.all(Array.from({ length: PARALLEL }, loop))
