import type { KindId } from '../devices/index.ts'
import { KINDS } from '../devices/index.ts'
import type { FieldSpec } from '../devices/types.ts'
import type { UplinkSuffix } from '../src/mqtt/topics.ts'
import { behaviourFor } from './behaviours/index.ts'
import type { ActionArgs, Behaviour, BehaviourContext } from './behaviours/types.ts'
import type { SimClock } from './clock.ts'
import type { Rng } from './rng.ts'

/**
 * One simulated device: a kind behaviour plus what every device does the same way — report on
 * change, a heartbeat with the full state at the kind's interval, optional `ts` (the simulated clock)
 * and `seq`, retained `info` and `online` on every (re)connect. How bytes travel is the Link's job
 * (MQTT, or a recorder for dry runs), so the same timeline can be replayed with or without a broker.
 */

export interface PublishOptions {
  qos: 0 | 1
  retain: boolean
}

export interface Link {
  readonly connected: boolean
  publish(suffix: UplinkSuffix, payload: string, options: PublishOptions): void
}

export interface DeviceOptions {
  id: string
  kind: KindId
  params: Record<string, unknown>
  clock: SimClock
  rng: Rng
  faultRate: number
  /** Add `ts` (simulated epoch ms) to every state and event. */
  ts: boolean
  /** Add a per-device `seq` to every state and event. */
  seq: boolean
  /** QoS of state messages (events, info and availability are always QoS 1). */
  qos: 0 | 1
}

export interface DeviceCounters {
  published: number
  /** Messages produced while the link was down (a real device would lose them too). */
  dropped: number
}

export class SimulatedDevice {
  readonly id: string
  readonly kind: KindId
  readonly behaviour: Behaviour
  readonly counters: DeviceCounters = { published: 0, dropped: 0 }
  private link: Link | undefined
  private readonly current: Record<string, unknown> = {}
  private reported: Record<string, unknown> = {}
  private pending = false
  private seqNo = 0
  private intervalMs: number
  private heartbeat: { cancel(): void } | undefined
  private started = false

  constructor(private readonly options: DeviceOptions) {
    this.id = options.id
    this.kind = options.kind
    this.intervalMs = KINDS[options.kind].interval_s * 1000
    const ctx: BehaviourContext<KindId> = {
      id: options.id,
      kind: options.kind,
      params: options.params,
      clock: options.clock,
      rng: options.rng,
      faultRate: options.faultRate,
      set: (values) => this.set(values as Record<string, unknown>),
      unset: (...keys) => {
        for (const k of keys) delete this.current[k]
      },
      event: (type, data) => this.event(type, data),
    }
    this.behaviour = behaviourFor(options.kind)(ctx)
  }

  /** The state as the device would report it in a heartbeat now. */
  get state(): Readonly<Record<string, unknown>> {
    return this.current
  }

  get interval_s(): number {
    return this.intervalMs / 1000
  }

  /**
   * The heartbeat interval in wall-clock seconds (what the hub observes at speed N), announced in
   * `info`; never below 5 s, so a busy machine's pauses at high speed do not read as outages.
   */
  get wallInterval_s(): number {
    return Math.max(5, Math.round(this.intervalMs / 1000 / this.options.clock.speed))
  }

  attach(link: Link): void {
    this.link = link
  }

  start(): void {
    if (this.started) return
    this.started = true
    this.behaviour.start()
    this.scheduleHeartbeat(this.options.rng.float(0.05, 1) * this.intervalMs)
  }

  stop(): void {
    this.started = false
    this.behaviour.stop()
    this.heartbeat?.cancel()
  }

  /** Run a scripted action (`trapped`, `block`, `rain`, …). */
  act(action: string, args: ActionArgs = {}): void {
    const fn = this.behaviour.actions[action]
    if (!fn) throw new Error(`${this.kind} ${this.id} has no action "${action}"`)
    fn(args)
  }

  /** The link (re)connected: announce, describe, and report everything once. */
  connected(): void {
    this.send('availability', 'online', { qos: 1, retain: true })
    const info = { ...this.behaviour.info, interval_s: this.wallInterval_s }
    this.send('info', JSON.stringify(info), { qos: 1, retain: true })
    this.publishFull()
  }

  /** A `set` command from the hub (only settable properties arrive; the hub validates them). */
  command(values: Record<string, unknown>): void {
    const s = values.report_interval_s
    if (typeof s === 'number' && s > 0) {
      this.intervalMs = s * 1000
      this.scheduleHeartbeat(this.intervalMs)
    }
  }

  private scheduleHeartbeat(firstAfter: number): void {
    this.heartbeat?.cancel()
    this.heartbeat = this.options.clock.every(
      () => this.intervalMs,
      () => this.publishFull(),
      firstAfter,
    )
  }

  private set(values: Record<string, unknown>): void {
    const spec = KINDS[this.kind].state as Record<string, FieldSpec>
    for (const [key, raw] of Object.entries(values)) {
      if (raw === undefined) continue
      this.current[key] = normalise(this.kind, key, spec[key], raw)
    }
    if (!this.pending) {
      this.pending = true
      this.options.clock.after(0, () => this.flush())
    }
  }

  private flush(): void {
    this.pending = false
    const changed: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(this.current)) {
      if (this.reported[k] !== v) changed[k] = v
    }
    if (Object.keys(changed).length === 0) return
    Object.assign(this.reported, changed)
    this.send('state', JSON.stringify(this.stamp(changed)), { qos: this.options.qos, retain: false })
  }

  private publishFull(): void {
    if (Object.keys(this.current).length === 0) return
    this.pending = false
    this.reported = { ...this.current }
    this.send('state', JSON.stringify(this.stamp({ ...this.current })), {
      qos: this.options.qos,
      retain: false,
    })
  }

  private event(type: string, data?: Record<string, unknown>): void {
    if (this.pending) this.flush() // the state that led to the event goes first
    const body: Record<string, unknown> = { type }
    if (data && Object.keys(data).length > 0) body.data = data
    this.send('event', JSON.stringify(this.stamp(body)), { qos: 1, retain: false })
  }

  private stamp<T extends Record<string, unknown>>(body: T): T {
    const out: Record<string, unknown> = body
    if (this.options.ts) out.ts = Math.round(this.options.clock.now())
    if (this.options.seq) out.seq = this.seqNo++
    return out as T
  }

  private send(suffix: UplinkSuffix, payload: string, options: PublishOptions): void {
    if (!this.link?.connected) {
      this.counters.dropped++
      return
    }
    this.counters.published++
    this.link.publish(suffix, payload, options)
  }
}

/** Fit a behaviour's value to the field's declared type and range; a wrong field name is a bug, so it throws. */
export function normalise(kind: string, key: string, spec: FieldSpec | undefined, value: unknown): unknown {
  if (!spec) throw new Error(`${kind} has no state field "${key}"`)
  switch (spec.type) {
    case 'bool':
      if (typeof value !== 'boolean') throw new Error(`${kind}.${key} is a bool, got ${String(value)}`)
      return value
    case 'int':
      return Math.min(spec.max, Math.max(spec.min, Math.round(Number(value))))
    case 'float':
      return Math.min(spec.max, Math.max(spec.min, Math.round(Number(value) * 100) / 100))
    case 'enum':
      if (!spec.values.includes(String(value)))
        throw new Error(`${kind}.${key}: "${String(value)}" not in enum`)
      return value
    case 'string':
      return String(value).slice(0, spec.maxLength)
  }
}
