import { type ChildProcess, fork, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { deviceId } from './loadgen.ts'

/** The three things a benchmark rep can start fresh on loopback: zhian, bare Aedes, Mosquitto. */

export const ROOT = path.resolve(import.meta.dirname, '..')
export const BENCH_SECRET = 'bench-device-secret-0001'
const TSX = ['--import', 'tsx']

/**
 * The node flags of `npm start` (everything between `node` and `src/main.ts`, tsx included), so the
 * benchmark measures the hub as users start it.
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  const words = pkg.scripts.start!.split(/\s+/)
  const from = words.indexOf('node')
  const to = words.indexOf('src/main.ts')
  if (from === -1 || to < from) throw new Error(`cannot read the node flags of: ${pkg.scripts.start}`)
  return words.slice(from + 1, to)
}

export interface Target {
  name: string
  /** Process whose CPU and memory are the broker's. */
  pid: number
  mqttUrl: string
  httpUrl?: string
  /** Messages the target has fully processed so far. */
  count: () => Promise<number>
  stop: () => Promise<void>
}

export async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise((r) => srv.close(r))
  return port
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r()
    else child.once('exit', () => r())
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited(child)
  clearTimeout(timer)
}

function ipcRequest<T>(child: ChildProcess, type: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (key in m) {
        child.off('message', onMessage)
        resolve(m[key] as T)
      }
    }
    child.on('message', onMessage)
    child.send({ type })
  })
}

/** An estate YAML with `devices` bench devices of the four kinds, all sharing one pre-computed hash. */
export function benchEstate(dir: string, devices: number, secretHash: string): string {
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
  const file = path.join(dir, `estate-${devices}.yaml`)
  fs.writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

/** The sum of a metric's samples on the hub's /metrics, only those whose labels contain `label` if given. */
export async function hubMetric(httpUrl: string, name: string, label?: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  let sum = 0
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm')))
    if (!label || m[1]?.includes(label)) sum += Number(m[2])
  return sum
}

export interface ZhianOptions {
  estateFile: string
  env?: Record<string, string>
  name?: string
  /** Extra node flags for the hub, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[]
}

/**
 * The hub on two free ports. Another process on the shared box may take a port between freePort()
 * and the hub's listen: then it starts again on two new ones (three tries).
 */
export async function startZhian(opts: ZhianOptions): Promise<Target> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startZhianOnce(opts)
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err
    }
  }
}

async function startZhianOnce(opts: ZhianOptions): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-bench-'))
  const [mqttPort, httpPort] = [await freePort(), await freePort()]
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...startFlags(), 'src/main.ts', 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ZHIAN_DATA_DIR: dataDir,
      ZHIAN_CONFIG: opts.estateFile,
      ZHIAN_MQTT_HOST: '127.0.0.1',
      ZHIAN_HTTP_HOST: '127.0.0.1',
      ZHIAN_MQTT_PORT: String(mqttPort),
      ZHIAN_HTTP_PORT: String(httpPort),
      ZHIAN_LOG_LEVEL: 'warn',
      ZHIAN_API_TOKEN: 'bench-api-token-0123456789',
      ZHIAN_DEVICE_RATE: '1000000',
      ZHIAN_DEVICE_BURST: '1000000',
      // The goal is stated with the durable journal on; without InfluxDB the hub's default (auto) is off.
      ZHIAN_JOURNAL: 'on',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  const httpUrl = `http://127.0.0.1:${httpPort}`
  const deadline = Date.now() + 120_000
  while (!/zhian hub up/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopChild(child)
      fs.rmSync(dataDir, { recursive: true, force: true })
      throw new Error(`zhian did not start:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    name: opts.name ?? 'zhian',
    pid: child.pid!,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl,
    count: () => hubMetric(httpUrl, 'zhian_mqtt_messages_in_total', 'suffix="state"'),
    stop: async () => {
      await stopChild(child)
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export async function startBareAedes(): Promise<Target> {
  const child = fork(path.join(ROOT, 'bench/targets/bare-aedes.ts'), [], { execArgv: TSX, stdio: 'inherit' })
  const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)))
  return {
    name: 'bare-aedes',
    pid: child.pid!,
    mqttUrl: `mqtt://127.0.0.1:${port}`,
    count: () => ipcRequest<number>(child, 'count', 'count'),
    stop: () => stopChild(child),
  }
}

export const MOSQUITTO = '/usr/sbin/mosquitto'

export async function startMosquitto(qos: 0 | 1): Promise<Target> {
  if (!fs.existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} missing: apt-get install mosquitto`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-mosq-'))
  const port = await freePort()
  const conf = path.join(dir, 'mosquitto.conf')
  // Queue limits off: with the stock limits Mosquitto drops QoS 1 for a slow subscriber (baseline-perf.md).
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_inflight_messages 0',
      'max_queued_messages 0',
      '',
    ].join('\n'),
  )
  const broker = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' })
  const deadline = Date.now() + 10_000
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy()
        r(true)
      })
      s.on('error', () => r(false))
    })
    if (ok) break
    if (Date.now() > deadline) throw new Error('mosquitto did not start')
    await new Promise((r) => setTimeout(r, 100))
  }
  const url = `mqtt://127.0.0.1:${port}`
  const sub = fork(path.join(ROOT, 'bench/targets/counting-sub.ts'), [url, String(qos)], {
    execArgv: TSX,
    stdio: 'inherit',
  })
  await new Promise((r) => sub.once('message', r))
  return {
    name: 'mosquitto',
    pid: broker.pid!,
    mqttUrl: url,
    count: () => ipcRequest<number>(sub, 'count', 'count'),
    stop: async () => {
      await stopChild(sub)
      await stopChild(broker)
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The load generator's report (its last stdout line). */
export interface GenResult {
  published: number
  acked: number
  errors: number
  started: number
  /** Start of the measured window (after the warm-up), and the generator's counts then. */
  measured_from: number
  acked_before: number
  stopped: number
  finished: number
}

/** The load generator (`bench/loadgen.ts`) in its own process; `onWarm` runs when its warm-up ends. */
export function runGenerator(args: string[], onWarm?: () => void): { pid: number; done: Promise<GenResult> } {
  const child = spawn(process.execPath, [...TSX, path.join(ROOT, 'bench/loadgen.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
    if (onWarm && out.includes('{"warm":')) {
      onWarm()
      onWarm = undefined
    }
  })
  const done = new Promise<GenResult>((resolve, reject) =>
    child.once('close', (code) => {
      const line = out.trim().split('\n').at(-1)
      if (code !== 0 || !line) reject(new Error(`load generator exited ${code}: ${out}`))
      else resolve(JSON.parse(line) as GenResult)
    }),
  )
  return { pid: child.pid!, done }
}
