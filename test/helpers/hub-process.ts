import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { onTestFinished } from 'vitest'
import { DEMO_ESTATE, tempDir, until } from './hub.ts'

/**
 * A hub in its own process (`node --import tsx src/main.ts start`, as a user runs it), so memory
 * measured is the hub's alone — not the test's clients and their payloads. memory-probe.ts is
 * preloaded to report the hub's memory over IPC.
 */

const ROOT = path.resolve(import.meta.dirname, '../..')
const PROBE = path.join(import.meta.dirname, 'memory-probe.ts')

export interface MemorySample {
  rss: number
  /** VmHWM: the highest RSS since start or the last resetPeak(). */
  peakRss: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

export interface HubProcess {
  child: ChildProcess
  mqttUrl: string
  httpUrl: string
  output: () => string
  /** Memory after a full GC. */
  sample: () => Promise<MemorySample>
  /** Reset the peak RSS to the current RSS, then sample. */
  resetPeak: () => Promise<MemorySample>
  metric: (name: string, labels?: Record<string, string>) => Promise<number>
  stop: () => Promise<number | null>
}

export async function startHubProcess(env: Record<string, string> = {}): Promise<HubProcess> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--import', PROBE, 'src/main.ts', 'start'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        ZHIAN_DATA_DIR: tempDir(),
        ZHIAN_CONFIG: DEMO_ESTATE,
        ZHIAN_MQTT_PORT: '0',
        ZHIAN_HTTP_PORT: '0',
        ZHIAN_MQTT_HOST: '127.0.0.1',
        ZHIAN_HTTP_HOST: '127.0.0.1',
        ZHIAN_LOG_LEVEL: 'warn',
        ZHIAN_API_TOKEN: 'test-api-token-0123456789',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  )
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  onTestFinished(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  const mqttPort = await until(
    () => {
      if (child.exitCode !== null) throw new Error(`hub exited:\n${out}`)
      return /mqtt:\/\/localhost:(\d+)/.exec(out)?.[1]
    },
    'the hub banner',
    30_000,
  )
  const httpPort = /HTTP http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]!
  const httpUrl = `http://127.0.0.1:${httpPort}`
  let nextId = 0
  const ask = (op: 'sample' | 'reset-peak') =>
    new Promise<MemorySample>((resolve) => {
      const id = ++nextId
      const onMessage = (m: MemorySample & { id: number }) => {
        if (m.id !== id) return
        child.off('message', onMessage)
        resolve(m)
      }
      child.on('message', onMessage)
      child.send({ id, op })
    })
  return {
    child,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl,
    output: () => out,
    sample: () => ask('sample'),
    resetPeak: () => ask('reset-peak'),
    metric: async (name, labels = {}) => {
      const text = await (await fetch(`${httpUrl}/metrics`)).text()
      let sum = 0
      for (const line of text.split('\n')) {
        const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
        if (!m || m[1] !== name) continue
        const have = Object.fromEntries(
          [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
        )
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3])
      }
      return sum
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}
