import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { freePort, launchInfluxd, type Series, stopProcess } from '../helpers/influxd.ts'

/**
 * The chaos harness: a publisher fleet (mqtt.js, QoS 1, every reading with `seq`, half of them with
 * the device's own `ts`) against a hub run as a real process with rules, dispatch (a webhook to a
 * loopback receiver) and a real InfluxDB, while the hub is SIGKILLed at random moments — during its
 * own start-up, during the reconnect storm right after it came up, in steady traffic, and right after
 * the PUBACK of a reading that must raise an alert. Then it checks what a user relies on: every
 * acknowledged reading is in InfluxDB exactly once, every alert the readings imply was raised exactly
 * once (one alert, one occurrence), each has one work order and one dispatch notification.
 *
 * No test framework here: test/chaos/chaos.test.ts (bounded, part of `npm test`) and bench/chaos.ts
 * (`npm run chaos -- --minutes N`) are its two entry points. Everything random comes from the seed,
 * which the report prints; timing on a shared machine still varies, so a seed reproduces the
 * schedule (kill kinds, delays, which device triggers when), not the exact interleaving.
 */

export const ROOT = path.resolve(import.meta.dirname, '../..')

export interface ChaosOptions {
  seed: number
  /** How long the hub is killed and restarted at random; then one last start and the checks. */
  chaosMs: number
  /** Devices that publish all the time (default 24: elevators, manholes and fire passages). */
  trafficDevices?: number
  /**
   * Devices that only report their state once on every (re)connect, as many do (default 60): they
   * make each restart a reconnect storm of CONNECTs and publishes.
   */
  stormDevices?: number
  /** Mean pause between one traffic device's publishes (default 80 ms). */
  publishEveryMs?: number
  /** Devices driven once each into an alert, per kind (default: 2 per minute of chaos, at least 3). */
  alertDevicesPerKind?: number
  /** Progress lines (default: none). */
  log?: (line: string) => void
  /** Kept after the run (hub logs, data dir); by default removed when every check passed. */
  keepRunDir?: boolean
}

export type KillKind = 'startup' | 'storm' | 'steady' | 'after-puback'

export interface ChaosReport {
  seed: number
  minutes: number
  hubStarts: number
  kills: Record<KillKind, number>
  readings: { published: number; acked: number; found: number; lost: number; duplicated: number }
  alerts: {
    expected: number
    raised: number
    missing: number
    duplicated: number
    spurious: number
    /** Seconds from a trigger's PUBACK to its alert (windows of 0–4 s, plus any downtime in between). */
    afterPubackS: { min: number; max: number } | undefined
  }
  workOrders: { expected: number; found: number; missing: number; duplicated: number }
  notifications: {
    expected: number
    delivered: number
    missing: number
    duplicated: number
    /** The same idempotency key delivered again (a kill between the receiver's answer and the outbox commit). */
    redelivered: number
    unexpected: number
  }
  /** One line per thing that went wrong; empty when every check passed. */
  problems: string[]
  /** The hub's error and fatal log lines, by message (reported, not failed: a kill mid-write may log one). */
  hubErrors: Record<string, number>
  runDir: string
}

// ───────────────────────────── randomness ─────────────────────────────

/** mulberry32: small, seedable, good enough to schedule chaos. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > end) return false
    await sleep(100)
  }
}

// ───────────────────────────── the estate ─────────────────────────────

type Kind = 'elevator' | 'manhole' | 'fire_passage'
const KINDS: Kind[] = ['elevator', 'manhole', 'fire_passage']

/** The alerts one trigger reading implies, per kind (with the short windows of the estate below). */
const IMPLIED: Record<Kind, string[]> = {
  elevator: ['elevator.trapped'],
  manhole: ['manhole.cover_open'],
  fire_passage: ['fire_passage.occupied', 'fire_passage.blocked'],
}

interface DeviceSpec {
  id: string
  kind: Kind
  secret: string
  /** Stamps readings with its own clock. */
  withTs: boolean
  /** Publishes once per connection instead of all the time. */
  onConnect?: boolean
  /** Driven once into an alert at `triggerAt` (ms into the chaos), else plain traffic. */
  triggerAt?: number
  /** The hub is killed the moment this device's trigger reading is acknowledged. */
  killAfterAck?: boolean
}

/** Calm readings: nothing in them may raise an alert. */
function calm(kind: Kind, seq: number): Record<string, unknown> {
  if (kind === 'elevator') return { floor: seq % 18, moving: seq % 3 !== 0, door: 'closed', passenger: false }
  if (kind === 'manhole') return { water_level_cm: 10 + (seq % 5), tilt_deg: 1, cover_open: false }
  return { occupied: false, confidence: 0.9 }
}

/** The reading that must raise IMPLIED[kind]: reported once, like a sensor that reports on change. */
function trigger(kind: Kind): Record<string, unknown> {
  if (kind === 'elevator')
    return { floor: 5, moving: false, door: 'closed', in_door_zone: true, passenger: true }
  if (kind === 'manhole') return { cover_open: true, tilt_deg: 2, water_level_cm: 12 }
  return { occupied: true, object_class: 'car', confidence: 0.95 }
}

function estateYaml(devices: DeviceSpec[], receiverBase: string): string {
  const device = (d: DeviceSpec) => {
    const params =
      d.kind === 'elevator'
        ? ', params: { bottom_floor: -1, top_floor: 18, rated_speed: 1.5 }'
        : d.kind === 'manhole'
          ? ', params: { water_limit_cm: 80 }'
          : ', params: { entrance: false }'
    return `  - { id: ${d.id}, kind: ${d.kind}, estate: e1, building: e1_b1, name: ${d.id}, secret: ${d.secret}${params} }`
  }
  return `# Generated by test/chaos/harness.ts: short rule windows, one duty team notified by webhook.
sites:
  - id: s1
    type: street
    name: 混沌街道
    children:
      - id: c1
        type: community
        name: 混沌社区
        children:
          - id: e1
            type: estate
            name: 混沌小区
            children:
              - { id: e1_b1, type: building, name: 1号楼 }
devices:
${devices.map(device).join('\n')}
users: []
overrides:
  e1:
    elevator.trapped: { for: "2s", for_out_of_zone: "2s" }
    fire_passage.occupied: { for: "2s", clear_for: "2s" }
    fire_passage.blocked: { for: "4s", clear_for: "2s" }
    # Alert devices fall silent after their trigger, as change-only sensors do: no offline alert here.
    elevator.offline: { grace: "24h" }
    fire_passage.offline: { grace: "24h" }
    manhole.offline: { grace: "24h" }
teams:
  - id: duty
    name: 值班组
    members:
      - id: m1
        name: 值班员
        channels:
          - { type: webhook, url: "${receiverBase}/notify" }
routing:
  - match: { kind: [elevator, manhole, fire_passage] }
    team: duty
    work_order: true
    sla: { accept: 24h, arrive: 24h, resolve: 48h }
    escalation: { chain: [], remind_max: 0 }
`
}

// ───────────────────────────── the webhook receiver ─────────────────────────────

interface Notification {
  key: string
  purpose: string
  workOrder: string
  alert: string | null
}

/** Answers 200 to every notification and keeps them, as a team's webhook endpoint would. */
async function startReceiver(): Promise<{ base: string; got: Notification[]; close: () => Promise<void> }> {
  const got: Notification[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          purpose: string
          work_order: { id: string; alert_id: string | null }
        }
        got.push({
          key: String(req.headers['x-zhian-idempotency-key']),
          purpose: body.purpose,
          workOrder: body.work_order.id,
          alert: body.work_order.alert_id,
        })
      } catch {
        got.push({
          key: String(req.headers['x-zhian-idempotency-key']),
          purpose: '?',
          workOrder: '?',
          alert: null,
        })
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    got,
    close: async () => {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

// ───────────────────────────── the hub process ─────────────────────────────

class HubProcess {
  child: ChildProcess | undefined
  up = false
  starts = 0
  /** Set when the harness killed it, so an exit on its own is told apart (a crash). */
  private killing = false
  exited: Promise<void> = Promise.resolve()
  readonly crashes: string[] = []

  constructor(
    private readonly env: Record<string, string>,
    private readonly logFile: string,
    readonly httpUrl: string,
  ) {}

  /** Resolves true when the banner is out, false if the process ended first or took over 90 s. */
  spawn(): Promise<boolean> {
    this.starts++
    this.up = false
    this.killing = false
    const log = fs.createWriteStream(this.logFile, { flags: 'a' })
    log.write(`\n──── start ${this.starts} at ${new Date().toISOString()} ────\n`)
    const child = spawn(
      process.execPath,
      ['--max-semi-space-size=64', '--import', 'tsx', 'src/main.ts', 'start'],
      {
        cwd: ROOT,
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    this.child = child
    child.stderr!.pipe(log, { end: false })
    const ready = new Promise<boolean>((resolve) => {
      let out = ''
      child.stdout!.on('data', (d: Buffer) => {
        log.write(d)
        if (this.up) return
        out += d
        if (out.includes('zhian hub up')) {
          this.up = true
          resolve(true)
        }
      })
      const timer = setTimeout(() => resolve(false), 90_000)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve(false)
      })
    })
    this.exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        this.up = false
        if (!this.killing) {
          const tail = fs.readFileSync(this.logFile, 'utf8').slice(-1500)
          this.crashes.push(
            `hub start ${this.starts} exited on its own (code ${code}, signal ${signal}):\n${tail}`,
          )
        }
        log.end()
        resolve()
      }),
    )
    return ready
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** SIGKILL now (synchronously: right after a PUBACK means right after). */
  killNow(): void {
    if (!this.running) return
    this.killing = true
    this.child!.kill('SIGKILL')
  }

  async kill(): Promise<void> {
    this.killNow()
    await this.exited
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.killing = true
    await stopProcess(this.child!)
  }

  async metric(name: string): Promise<number | undefined> {
    try {
      const text = await (await fetch(`${this.httpUrl}/metrics`)).text()
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
      return m ? Number(m[1]) : undefined
    } catch {
      return undefined
    }
  }
}

// ───────────────────────────── the devices ─────────────────────────────

class Device {
  readonly acked = new Set<number>()
  private readonly pending = new Set<number>()
  published = 0
  inflight = 0
  private seq = 0
  triggerSeq: number | undefined
  triggerAckedAt: number | undefined
  client: MqttClient | undefined

  constructor(
    readonly spec: DeviceSpec,
    private readonly url: string,
    private readonly reconnectMs: number,
  ) {}

  connect(): void {
    this.client = mqtt.connect(this.url, {
      username: this.spec.id,
      password: this.spec.secret,
      protocolVersion: 4,
      clean: true,
      keepalive: 15,
      connectTimeout: 3000,
      // Unacknowledged QoS 1 publishes stay in mqtt.js's outgoing store and are resent after each
      // reconnect until their PUBACK comes (MQTT 3.1.1 §4.4).
      reconnectPeriod: this.reconnectMs,
    })
    this.client.on('error', () => {})
    if (this.spec.onConnect) {
      this.client.on('connect', () => {
        if (!this.quiet) this.publish(calm(this.spec.kind, this.published))
      })
    }
  }

  /** Set at the end of the chaos: no more publishes on connect. */
  quiet = false

  get connected(): boolean {
    return this.client?.connected === true
  }

  publish(values: Record<string, unknown>, onAck?: () => void): number {
    const seq = this.seq++
    const body = { ...values, seq, ...(this.spec.withTs ? { ts: Date.now() } : {}) }
    this.published++
    this.inflight++
    this.pending.add(seq)
    this.client!.publish(
      `zhian/${this.spec.kind}/${this.spec.id}/state`,
      JSON.stringify(body),
      { qos: 1 },
      (err) => {
        this.inflight--
        this.pending.delete(seq)
        if (err) return
        this.acked.add(seq)
        onAck?.()
      },
    )
    return seq
  }

  isInflight(seq: number): boolean {
    return this.pending.has(seq)
  }

  async end(): Promise<void> {
    await this.client?.endAsync(true).catch(() => {})
  }
}

// ───────────────────────────── the run ─────────────────────────────

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  // The schedule draws from its own stream: the traffic's jitter (drawn in whatever order the event
  // loop runs the devices) must not shift which kill comes next.
  const rand = prng(options.seed)
  const jitter = prng(options.seed ^ 0x5bd1e995)
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1))
  const log = options.log ?? (() => {})
  const t0 = Date.now()
  const at = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`
  const say = (line: string) => log(`${at()} ${line}`)
  const problems: string[] = []

  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), `zhian-chaos-${options.seed}-`))
  const influx = await launchInfluxd()
  const receiver = await startReceiver()

  const traffic = options.trafficDevices ?? 24
  const perKind = options.alertDevicesPerKind ?? Math.max(3, Math.ceil((options.chaosMs / 60_000) * 2))
  const specs: DeviceSpec[] = []
  for (let i = 0; i < traffic; i++) {
    const kind = KINDS[i % KINDS.length]!
    specs.push({ id: `t${i}`, kind, secret: `chaos-secret-t${i}`, withTs: i % 2 === 0 })
  }
  const storm = options.stormDevices ?? 60
  for (let i = 0; i < storm; i++) {
    const kind = KINDS[i % KINDS.length]!
    specs.push({ id: `s${i}`, kind, secret: `chaos-secret-s${i}`, withTs: i % 2 === 1, onConnect: true })
  }
  for (const kind of KINDS) {
    for (let i = 0; i < perKind; i++) {
      specs.push({
        id: `a_${kind}_${i}`,
        kind,
        secret: `chaos-secret-a-${kind}-${i}`,
        withTs: i % 2 === 1,
        triggerAt: between(Math.round(options.chaosMs * 0.05), Math.round(options.chaosMs * 0.8)),
        killAfterAck: rand() < 0.35,
      })
    }
  }
  const estateFile = path.join(runDir, 'estate.yaml')
  fs.writeFileSync(estateFile, estateYaml(specs, receiver.base))

  const mqttPort = await freePort()
  const httpPort = await freePort()
  const token = 'chaos-api-token-0123456789'
  const hub = new HubProcess(
    {
      ZHIAN_DATA_DIR: path.join(runDir, 'data'),
      ZHIAN_CONFIG: estateFile,
      ZHIAN_MQTT_HOST: '127.0.0.1',
      ZHIAN_MQTT_PORT: String(mqttPort),
      ZHIAN_HTTP_HOST: '127.0.0.1',
      ZHIAN_HTTP_PORT: String(httpPort),
      ZHIAN_LOG_LEVEL: 'warn',
      ZHIAN_API_TOKEN: token,
      ZHIAN_DEVICE_RATE: '100000',
      ZHIAN_DEVICE_BURST: '1000000',
      ZHIAN_INFLUX_URL: influx.url,
      ZHIAN_INFLUX_DB: 'chaos',
    },
    path.join(runDir, 'hub.log'),
    `http://127.0.0.1:${httpPort}`,
  )
  const api = async <T>(pathname: string): Promise<T> => {
    const res = await fetch(`${hub.httpUrl}${pathname}`, { headers: { authorization: `Bearer ${token}` } })
    if (res.status !== 200) throw new Error(`GET ${pathname}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }

  say(
    `seed ${options.seed}: ${traffic} traffic devices, ${storm} that report on connect, ${perKind * KINDS.length} alert devices, ` +
      `${(options.chaosMs / 1000).toFixed(0)} s of chaos; run dir ${runDir}`,
  )
  const kills: Record<KillKind, number> = { startup: 0, storm: 0, steady: 0, 'after-puback': 0 }
  const devices = specs.map((s) => new Device(s, `mqtt://127.0.0.1:${mqttPort}`, between(200, 1200)))
  let chaosOn = true
  let stopTraffic = false

  try {
    // The first start is not killed: the devices connect, then the chaos begins.
    if (!(await hub.spawn())) throw new Error(`the hub did not start:\n${hub.crashes.join('\n')}`)
    for (const d of devices) d.connect()
    const chaosStart = Date.now()
    const tasks = devices.map((d) =>
      d.spec.onConnect
        ? Promise.resolve()
        : d.spec.triggerAt === undefined
          ? runTraffic(d)
          : runAlertDevice(d, chaosStart + d.spec.triggerAt, () => {
              if (!chaosOn || !d.spec.killAfterAck || !hub.up) return
              hub.killNow()
              kills['after-puback']++
              say(`kill #${totalKills()} right after the PUBACK of ${d.spec.id}'s trigger`)
            }),
    )

    async function runTraffic(d: Device): Promise<void> {
      const every = options.publishEveryMs ?? 80
      while (!stopTraffic) {
        if (d.connected && d.inflight < 10) d.publish(calm(d.spec.kind, d.published))
        await sleep(every * (0.5 + jitter()))
      }
    }
    async function runAlertDevice(d: Device, triggerAt: number, onTriggerAck: () => void): Promise<void> {
      await waitFor(() => d.connected, 60_000)
      d.publish(calm(d.spec.kind, 0))
      d.publish(calm(d.spec.kind, 1))
      await sleep(Math.max(0, triggerAt - Date.now()))
      // mqtt.js fails a publish it had only queued when the connection drops (it was never sent):
      // the device reports the change again, as a real one would.
      while (d.triggerSeq === undefined || !d.acked.has(d.triggerSeq)) {
        await waitFor(() => d.connected, 120_000)
        const seq = d.publish(trigger(d.spec.kind), () => {
          d.triggerAckedAt = Date.now()
          onTriggerAck()
        })
        d.triggerSeq = seq
        await waitFor(() => d.acked.has(seq) || !d.isInflight(seq), 120_000)
        if (stopTraffic && !d.acked.has(seq)) return
      }
    }
    const totalKills = () => Object.values(kills).reduce((a, b) => a + b, 0)

    await sleep(between(2000, 5000))
    while (Date.now() - chaosStart < options.chaosMs) {
      const mode = rand()
      if (hub.running) {
        if (mode < 0.6) {
          // Steady traffic (or until a PUBACK-triggered kill ends it first).
          const wait = between(3000, 9000)
          await Promise.race([sleep(wait), hub.exited])
          if (hub.running) {
            kills.steady++
            say(`kill #${totalKills()} in steady traffic`)
          }
        } else {
          // The reconnect storm: every device comes back within ~1.2 s of the hub being up.
          await sleep(between(0, 1500))
          if (hub.running) {
            kills.storm++
            say(`kill #${totalKills()} during the reconnect storm`)
          }
        }
        await hub.kill()
        if (Date.now() - chaosStart >= options.chaosMs) break
      }
      await sleep(between(0, 400))
      const ready = hub.spawn()
      if (rand() < 0.3) {
        // During its own start-up: journal replay, rule state load, listeners opening.
        await Promise.race([sleep(between(100, 3000)), ready])
        if (!hub.up) {
          kills.startup++
          say(`kill #${totalKills()} during start-up`)
          await hub.kill()
          continue
        }
      }
      if (!(await ready)) {
        problems.push(`the hub did not come up after start ${hub.starts}`)
        await hub.kill()
      }
      if (hub.crashes.length > 3) throw new Error('the hub keeps crashing on its own')
    }
    chaosOn = false

    // The last start: nothing kills it any more.
    if (!hub.running) {
      await sleep(between(0, 400))
      if (!(await hub.spawn()))
        throw new Error(`the hub did not start at the end:\n${hub.crashes.join('\n')}`)
    }
    say(`chaos over after ${totalKills()} kills; draining`)
    stopTraffic = true
    for (const d of devices) d.quiet = true
    await Promise.all(tasks)
    if (!(await waitFor(() => devices.every((d) => d.inflight === 0), 90_000))) {
      const left = devices.filter((d) => d.inflight > 0).map((d) => `${d.spec.id} (${d.inflight})`)
      problems.push(`publishes never acknowledged after the last start: ${left.join(', ')}`)
    }

    // ─── readings ───
    const ackedTotal = devices.reduce((n, d) => n + d.acked.size, 0)
    const stored = async () => {
      const bySeq = new Map<string, Map<number, number>>()
      for (const kind of KINDS) {
        const series: Series[] = await influx.query(
          `SELECT "seq" FROM "${kind}" GROUP BY "device_id"`,
          'chaos',
        )
        for (const s of series) {
          const counts = new Map<number, number>()
          for (const [, seq] of s.values) counts.set(Number(seq), (counts.get(Number(seq)) ?? 0) + 1)
          bySeq.set(String(s.tags?.device_id), counts)
        }
      }
      return bySeq
    }
    const foundOf = (bySeq: Map<string, Map<number, number>>) =>
      devices.reduce((n, d) => n + [...d.acked].filter((s) => bySeq.get(d.spec.id)?.has(s)).length, 0)
    await waitFor(async () => foundOf(await stored().catch(() => new Map())) >= ackedTotal, 60_000)
    await waitFor(async () => (await hub.metric('zhian_history_backlog_bytes')) === 0, 30_000)

    // ─── alerts, work orders, notifications: wait for what is expected, then a little longer for extras ───
    const expected = new Map<string, number>() // `${device} ${type}` → 1
    let unackedTriggers = 0
    for (const d of devices) {
      if (d.triggerSeq === undefined) continue
      if (!d.acked.has(d.triggerSeq)) {
        unackedTriggers++
        continue
      }
      for (const type of IMPLIED[d.spec.kind]) expected.set(`${d.spec.id} ${type}`, 1)
    }
    if (unackedTriggers > 0) problems.push(`${unackedTriggers} trigger readings were never acknowledged`)
    interface AlertRow {
      id: string
      type: string
      kind: string
      device_id: string | null
      occurrences: number
      first_at: number
    }
    interface WorkOrderRow {
      id: string
      alert_id: string | null
    }
    const all = async <T>(pathname: string): Promise<T[]> => {
      const out: T[] = []
      for (let offset = 0; ; offset += 500) {
        const page = await api<{ items: T[]; total: number }>(`${pathname}?limit=500&offset=${offset}`)
        out.push(...page.items)
        if (out.length >= page.total || page.items.length === 0) return out
      }
    }
    const deviceAlerts = async () => (await all<AlertRow>('/api/alerts')).filter((a) => a.kind !== 'hub')
    await waitFor(async () => {
      const have = new Set((await deviceAlerts()).map((a) => `${a.device_id} ${a.type}`))
      return [...expected.keys()].every((k) => have.has(k))
    }, 60_000)
    // One work order per alert that was raised (a missing alert is reported once, as an alert).
    const raisedAlerts = (await deviceAlerts()).filter((a) => expected.has(`${a.device_id} ${a.type}`)).length
    await waitFor(async () => {
      const orders = await all<WorkOrderRow>('/api/work-orders')
      const notified = new Set(receiver.got.map((n) => n.workOrder))
      return orders.length >= raisedAlerts && orders.every((o) => notified.has(o.id))
    }, 60_000)
    // Anything doubled would have shown up by now; give late duplicates a moment anyway.
    await sleep(3000)

    const bySeq = await stored()
    let lost = 0
    let duplicated = 0
    for (const d of devices) {
      const counts = bySeq.get(d.spec.id) ?? new Map<number, number>()
      const missing = [...d.acked].filter((s) => !counts.has(s))
      const doubled = [...counts].filter(([, n]) => n > 1)
      lost += missing.length
      duplicated += doubled.reduce((n, [, c]) => n + c - 1, 0)
      if (missing.length)
        problems.push(`${d.spec.id}: acknowledged readings missing from InfluxDB: seq ${list(missing)}`)
      if (doubled.length)
        problems.push(
          `${d.spec.id}: readings in InfluxDB more than once: seq ${list(doubled.map(([s]) => s))}`,
        )
    }

    const alerts = await deviceAlerts()
    const alertsByKey = new Map<string, AlertRow[]>()
    for (const a of alerts) {
      const key = `${a.device_id} ${a.type}`
      alertsByKey.set(key, [...(alertsByKey.get(key) ?? []), a])
    }
    let missingAlerts = 0
    let duplicatedAlerts = 0
    for (const key of expected.keys()) {
      const got = alertsByKey.get(key) ?? []
      const d = devices.find((x) => x.spec.id === key.split(' ')[0])!
      const how = `${d.spec.killAfterAck ? 'killed right after its PUBACK' : 'trigger'} at ${((d.spec.triggerAt ?? 0) / 1000).toFixed(1)} s, ${d.spec.withTs ? 'with' : 'without'} ts`
      if (got.length === 0) {
        missingAlerts++
        problems.push(`alert never raised: ${key} (${how})`)
      } else if (got.length > 1 || got[0]!.occurrences !== 1) {
        duplicatedAlerts++
        problems.push(
          `alert raised more than once: ${key} — ${got.length} alerts, occurrences ${got.map((a) => a.occurrences).join('/')} (${how})`,
        )
      }
    }
    const spurious = [...alertsByKey.keys()].filter((k) => !expected.has(k))
    for (const key of spurious) problems.push(`alert nothing implied: ${key}`)

    const orders = await all<WorkOrderRow>('/api/work-orders')
    const ordersByAlert = new Map<string, WorkOrderRow[]>()
    for (const o of orders)
      ordersByAlert.set(String(o.alert_id), [...(ordersByAlert.get(String(o.alert_id)) ?? []), o])
    let missingOrders = 0
    let duplicatedOrders = 0
    let foundOrders = 0
    for (const key of expected.keys()) {
      for (const a of alertsByKey.get(key) ?? []) {
        const n = ordersByAlert.get(a.id)?.length ?? 0
        if (n > 0) foundOrders++
        if (n === 0) {
          missingOrders++
          problems.push(`no work order for the alert ${key}`)
        } else if (n > 1) {
          duplicatedOrders++
          problems.push(`${n} work orders for the alert ${key}`)
        }
      }
    }

    const dispatchKeys = new Map<string, Set<string>>() // work order → distinct dispatch keys
    const deliveries = new Map<string, number>() // key → times received
    let unexpected = 0
    for (const n of receiver.got) {
      deliveries.set(n.key, (deliveries.get(n.key) ?? 0) + 1)
      if (n.purpose !== 'dispatch') {
        unexpected++
        continue
      }
      dispatchKeys.set(n.workOrder, new Set([...(dispatchKeys.get(n.workOrder) ?? []), n.key]))
    }
    if (unexpected)
      problems.push(`${unexpected} notifications that are not a dispatch (reminders, escalations)`)
    let delivered = 0
    let missingNotes = 0
    let duplicatedNotes = 0
    for (const o of orders) {
      const keys = dispatchKeys.get(o.id)?.size ?? 0
      if (keys > 0) delivered++
      if (keys === 0) {
        missingNotes++
        problems.push(`work order ${o.id} (alert ${o.alert_id}): its dispatch notification never arrived`)
      } else if (keys > 1) {
        duplicatedNotes++
        problems.push(`work order ${o.id}: ${keys} different dispatch notifications`)
      }
    }
    const orphans = receiver.got.filter((n) => !orders.some((o) => o.id === n.workOrder))
    if (orphans.length) problems.push(`${orphans.length} notifications for work orders that do not exist`)
    const redelivered = [...deliveries.values()].reduce((n, c) => n + c - 1, 0)

    if (totalKills() === 0) problems.push('the hub was never killed: the run proves nothing')
    problems.push(...hub.crashes)

    return {
      seed: options.seed,
      minutes: options.chaosMs / 60_000,
      hubStarts: hub.starts,
      kills,
      readings: {
        published: devices.reduce((n, d) => n + d.published, 0),
        acked: ackedTotal,
        found: ackedTotal - lost,
        lost,
        duplicated,
      },
      alerts: {
        expected: expected.size,
        raised: expected.size - missingAlerts,
        missing: missingAlerts,
        duplicated: duplicatedAlerts,
        spurious: spurious.length,
        afterPubackS: spread(
          [...expected.keys()].flatMap((key) => {
            const d = devices.find((x) => x.spec.id === key.split(' ')[0])!
            const a = alertsByKey.get(key)?.[0]
            return a && d.triggerAckedAt !== undefined ? [(a.first_at - d.triggerAckedAt) / 1000] : []
          }),
        ),
      },
      workOrders: {
        expected: expected.size - missingAlerts,
        found: foundOrders,
        missing: missingOrders,
        duplicated: duplicatedOrders,
      },
      notifications: {
        expected: orders.length,
        delivered,
        missing: missingNotes,
        duplicated: duplicatedNotes,
        redelivered,
        unexpected,
      },
      problems,
      hubErrors: errorLines(path.join(runDir, 'hub.log')),
      runDir,
    }
  } finally {
    chaosOn = false
    stopTraffic = true
    await Promise.all(devices.map((d) => d.end()))
    await hub.stop()
    await receiver.close()
    await influx.stop()
    if (!options.keepRunDir && problems.length === 0) {
      fs.rmSync(runDir, { recursive: true, force: true })
      fs.rmSync(influx.dir, { recursive: true, force: true })
    } else {
      fs.writeFileSync(path.join(runDir, 'influxd-dir.txt'), `${influx.dir}\n`)
    }
  }
}

function spread(xs: number[]): { min: number; max: number } | undefined {
  return xs.length ? { min: Math.min(...xs), max: Math.max(...xs) } : undefined
}

/** An alert with no window is raised when the reading is committed, a hair before its PUBACK lands: 0. */
const secs = (s: number) => Math.max(0, s).toFixed(1)

function list(seqs: number[]): string {
  return seqs.length > 20 ? `${seqs.slice(0, 20).join(', ')} … (${seqs.length})` : seqs.join(', ')
}

function errorLines(file: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string }
      if ((entry.level ?? 0) >= 50) out[entry.msg ?? '?'] = (out[entry.msg ?? '?'] ?? 0) + 1
    } catch {
      // a line cut short by SIGKILL
    }
  }
  return out
}

/** The figures, as the test and `npm run chaos` print them. */
export function formatReport(r: ChaosReport): string {
  const k = r.kills
  const lines = [
    `chaos seed ${r.seed} — ${r.minutes.toFixed(1)} min, ${r.hubStarts} hub starts, ` +
      `${k.startup + k.storm + k.steady + k['after-puback']} SIGKILLs (start-up ${k.startup}, reconnect storm ${k.storm}, ` +
      `steady ${k.steady}, right after a PUBACK ${k['after-puback']})`,
    `  readings       published ${r.readings.published}, acknowledged ${r.readings.acked}, in InfluxDB ${r.readings.found}, ` +
      `lost ${r.readings.lost}, duplicated ${r.readings.duplicated}`,
    `  alerts         expected ${r.alerts.expected}, raised ${r.alerts.raised}, missing ${r.alerts.missing}, ` +
      `duplicated ${r.alerts.duplicated}, spurious ${r.alerts.spurious}` +
      (r.alerts.afterPubackS
        ? ` (raised ${secs(r.alerts.afterPubackS.min)}–${secs(r.alerts.afterPubackS.max)} s after the trigger's PUBACK)`
        : ''),
    `  work orders    expected ${r.workOrders.expected}, found ${r.workOrders.found}, missing ${r.workOrders.missing}, ` +
      `duplicated ${r.workOrders.duplicated}`,
    `  notifications  expected ${r.notifications.expected}, delivered ${r.notifications.delivered}, ` +
      `missing ${r.notifications.missing}, duplicated ${r.notifications.duplicated}, unexpected ${r.notifications.unexpected} ` +
      `(same key redelivered ${r.notifications.redelivered})`,
  ]
  const errors = Object.entries(r.hubErrors)
  lines.push(
    errors.length
      ? `  hub log errors ${errors.map(([msg, n]) => `${n}× "${msg}"`).join(', ')}`
      : '  hub log errors none',
  )
  if (r.problems.length) {
    lines.push(
      `  ${r.problems.length} problems (hub log, data dir and the InfluxDB dir's path in ${r.runDir}):`,
    )
    for (const p of r.problems) lines.push(`    - ${p}`)
  } else lines.push('  no problems')
  return lines.join('\n')
}
