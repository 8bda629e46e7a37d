import type { IClientOptions } from 'mqtt'
import type { KindId } from '../devices/index.ts'
import type { DeviceEntry, EstateFile } from '../src/config/estate-file.ts'
import { Topics } from '../src/mqtt/topics.ts'
import type { ActionArgs } from './behaviours/types.ts'
import { SimClock } from './clock.ts'
import { SimulatedDevice } from './device.ts'
import { generateEstate } from './estate-gen.ts'
import { LinkStats, MqttLink, type RecordedMessage, RecordingLink } from './links.ts'
import { malformedMessages } from './malformed.ts'
import { Rng } from './rng.ts'
import { parseDuration } from './time.ts'

/**
 * Many simulated devices on one simulated clock: built from an estate file (credentials included),
 * optionally scaled up with synthesised devices, connected to any broker URL at a staggered rate — or,
 * without a URL, recorded as a dry run. Scenarios and the CLI drive a fleet.
 */

export interface FleetOptions {
  estate: EstateFile
  /** Broker URL (mqtt://, mqtts://, ws://). Omitted: dry run, every message goes to `record`. */
  url?: string | undefined
  record?: (m: RecordedMessage) => void
  baseTopic?: string
  seed?: number
  /** Simulated time runs this many times faster than the wall clock. */
  speed?: number
  /** Simulated epoch ms at the start (default: now). */
  start?: number
  /** Random faults per device and simulated hour (0: only scripted ones). */
  faultRate?: number
  ts?: boolean
  seq?: boolean
  qos?: 0 | 1
  /** New connections per wall second (staggered connects). */
  connectRate?: number
  /**
   * At most this many connections waiting for their CONNACK at once (default 100): a hub checks each
   * device's secret on first connect, so this paces the fleet to what the broker can take instead of
   * running into connect timeouts.
   */
  maxPendingConnects?: number
  /** Total devices: the estate's, cut or extended with synthesised ones (see estate-gen.ts). */
  devices?: number | undefined
  backoff?: { baseMs: number; maxMs: number }
  /** Extra mqtt.js options for every connection (e.g. `ca`, `rejectUnauthorized` for mqtts://). */
  mqttOptions?: IClientOptions
  /** Each device sends every class of bad payload once after its first connect (see malformed.ts). */
  malformed?: boolean
  onRejected?: (deviceId: string, error: { code: string; message: string; topic: string }) => void
}

export type Target =
  | string
  | string[]
  | { kind?: KindId; count?: number; zone?: string; ids?: string[] }
  | '*'

interface Member {
  entry: DeviceEntry
  device: SimulatedDevice
  link: MqttLink | RecordingLink
}

export class Fleet {
  readonly clock: SimClock
  readonly topics: Topics
  readonly stats = new LinkStats()
  readonly estate: EstateFile
  private readonly members = new Map<string, Member>()
  private readonly skipped: string[] = []
  private connectTimers: NodeJS.Timeout[] = []
  private startedWall = 0

  constructor(private readonly o: FleetOptions) {
    this.clock = new SimClock({ start: o.start ?? Date.now(), speed: o.speed ?? 1 })
    this.topics = new Topics(o.baseTopic ?? 'zhian')
    this.estate = o.devices !== undefined ? generateEstate(o.devices, o.estate) : o.estate
    const seed = o.seed ?? 1
    for (const entry of this.estate.devices) {
      if (!entry.secret && o.url) {
        this.skipped.push(entry.id) // only a hash in the file: we cannot log in as this device
        continue
      }
      const rng = new Rng(`${seed}/${entry.id}`)
      const device = new SimulatedDevice({
        id: entry.id,
        kind: entry.kind,
        params: entry.params ?? {},
        clock: this.clock,
        rng: rng.fork('behaviour'),
        faultRate: o.faultRate ?? 0,
        ts: o.ts ?? false,
        seq: o.seq ?? true,
        qos: o.qos ?? 1,
      })
      const link = o.url
        ? new MqttLink({
            url: o.url,
            kind: entry.kind,
            id: entry.id,
            secret: entry.secret!,
            topics: this.topics,
            rng: rng.fork('net'),
            stats: this.stats,
            ...(o.backoff ? { backoff: o.backoff } : {}),
            ...(o.mqttOptions ? { mqtt: o.mqttOptions } : {}),
            onSettled: () => this.connectSettled(),
            onConnect: () => {
              device.connected()
              if (o.malformed) this.sendMalformed(entry.id)
            },
            onCommand: (values) => device.command(values),
            onRejected: (e) => o.onRejected?.(entry.id, e),
          })
        : new RecordingLink({
            kind: entry.kind,
            id: entry.id,
            topics: this.topics,
            now: () => this.clock.now(),
            sink: (m) => o.record?.(m),
          })
      device.attach(link)
      this.members.set(entry.id, { entry, device, link })
    }
  }

  get size(): number {
    return this.members.size
  }

  /** Devices in the estate file that have only a `secret_hash`, so cannot be simulated over MQTT. */
  get skippedIds(): readonly string[] {
    return this.skipped
  }

  device(id: string): SimulatedDevice {
    const m = this.members.get(id)
    if (!m) throw new Error(`no simulated device "${id}"`)
    return m.device
  }

  devices(): SimulatedDevice[] {
    return [...this.members.values()].map((m) => m.device)
  }

  link(id: string): MqttLink | RecordingLink {
    const m = this.members.get(id)
    if (!m) throw new Error(`no simulated device "${id}"`)
    return m.link
  }

  /**
   * Start behaviours and (with a URL) open connections at `connectRate` per second. Resolves once
   * every connection has been attempted; `run()` the clock separately (or advance it by hand).
   */
  async start(): Promise<void> {
    this.startedWall = performance.now()
    const rate = this.o.connectRate ?? 200
    const members = [...this.members.values()]
    for (const m of members) m.device.start()
    if (!this.o.url) {
      for (const m of members) m.device.connected()
      return
    }
    const maxPending = this.o.maxPendingConnects ?? 100
    const queue = members.map((m) => m.link as MqttLink)
    const interval = 1000 / rate
    await new Promise<void>((resolve) => {
      let next = performance.now()
      const pump = () => {
        // Start every connect that is due by the rate, while the CONNACK window has room.
        while (queue.length > 0 && this.pendingConnects < maxPending && performance.now() >= next) {
          this.pendingConnects++
          queue.shift()!.start()
          next += interval
        }
        if (queue.length === 0) {
          resolve()
          return
        }
        next = Math.max(next, performance.now() - interval) // no catch-up burst after a full window
        this.connectTimers.push(setTimeout(pump, Math.max(1, Math.min(50, next - performance.now()))))
      }
      pump()
    })
  }

  private pendingConnects = 0
  private connectSettled(): void {
    this.pendingConnects--
  }

  /** Resolves when `count` (default all) devices are connected, or rejects after `timeoutMs`. */
  async waitConnected(count = this.members.size, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs
    while (this.stats.connected < count) {
      if (Date.now() > end) {
        throw new Error(
          `only ${this.stats.connected}/${count} devices connected (${this.stats.lastError ?? 'no error'})`,
        )
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async stop(): Promise<void> {
    for (const t of this.connectTimers) clearTimeout(t)
    this.clock.stop()
    for (const m of this.members.values()) m.device.stop()
    const links = [...this.members.values()]
      .map((m) => m.link)
      .filter((l): l is MqttLink => l instanceof MqttLink)
    // Close in slices so a big fleet does not open a burst of thousands of simultaneous goodbyes.
    for (let i = 0; i < links.length; i += 500)
      await Promise.all(links.slice(i, i + 500).map((l) => l.stop()))
  }

  /** Resolve a scenario target to device ids, deterministically (estate-file order). */
  resolve(target: Target): string[] {
    const all = [...this.members.values()]
    if (target === '*') return all.map((m) => m.entry.id)
    if (typeof target === 'string') return [this.device(target).id]
    if (Array.isArray(target)) return target.map((id) => this.device(id).id)
    if (target.ids) return target.ids.map((id) => this.device(id).id)
    const matching = all.filter(
      (m) =>
        (!target.kind || m.entry.kind === target.kind) &&
        (!target.zone || (m.entry.params as { zone?: string } | undefined)?.zone === target.zone),
    )
    if (target.count !== undefined && matching.length < target.count) {
      throw new Error(`target wants ${target.count} devices, the fleet has ${matching.length}`)
    }
    return matching.slice(0, target.count ?? matching.length).map((m) => m.entry.id)
  }

  /**
   * Run an action on devices: a kind's behaviour action, or one every device understands —
   * `silence` (the connection dies, the device stays quiet for `for`, then comes back: a dead gateway),
   * `drop` (the connection dies and reconnects at once with backoff: a reconnect storm when many drop).
   */
  act(target: Target, action: string, args: ActionArgs = {}): void {
    for (const id of this.resolve(target)) {
      const m = this.members.get(id)!
      if (action === 'silence') {
        this.silence(m, args.for === undefined ? undefined : parseDuration(args.for as string | number))
      } else if (action === 'drop') {
        if (m.link instanceof MqttLink) m.link.drop()
        else m.device.connected()
      } else {
        m.device.act(action, args)
      }
    }
  }

  private readonly malformedSent = new Set<string>()
  private sendMalformed(id: string): void {
    if (this.malformedSent.has(id)) return
    this.malformedSent.add(id)
    const m = this.members.get(id)!
    if (!(m.link instanceof MqttLink)) return
    for (const bad of malformedMessages(m.entry, this.topics)) {
      m.link.publishRaw(bad.topic, bad.payload, { qos: 1, retain: false })
    }
  }

  private silence(m: Member, forMs: number | undefined): void {
    if (m.link instanceof MqttLink) {
      const link = m.link
      link.silence()
      if (forMs !== undefined) this.clock.after(forMs, () => link.resume())
    } else {
      const link = m.link
      link.connected = false
      if (forMs !== undefined)
        this.clock.after(forMs, () => {
          link.connected = true
          m.device.connected()
        })
    }
  }

  /** One line for humans: connected, messages/s since the last call, refusals and errors. */
  progress(): string {
    const now = performance.now()
    const dt = (now - this.lastProgress.at) / 1000
    const rate = dt > 0 ? (this.stats.published - this.lastProgress.published) / dt : 0
    this.lastProgress = { at: now, published: this.stats.published }
    const up = Math.round((now - this.startedWall) / 1000)
    const t = new Date(this.clock.now())
    const clock = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}:${String(t.getSeconds()).padStart(2, '0')}`
    return [
      `connected ${this.stats.connected}/${this.members.size}`,
      `${rate.toFixed(0)} msg/s`,
      `sent ${this.stats.published}`,
      `refused ${this.stats.rejected}`,
      `errors ${this.stats.errors}`,
      `sim ${clock} ×${this.clock.speed}`,
      `up ${up}s`,
    ].join(' | ')
  }
  private lastProgress = { at: performance.now(), published: 0 }
}
