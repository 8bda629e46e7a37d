import type { z } from 'zod'
import type { KindId } from '../../devices/index.ts'
import { INFO_SCHEMA, SCHEMAS } from '../../devices/schema.ts'
import type { Bus, Device } from '../core/bus.ts'
import type { Metrics } from '../core/metrics.ts'
import { type ErrorCode, ZhianError } from '../errors.ts'
import { DEVICE_UPLINK, type Topics, type UplinkSuffix } from '../mqtt/topics.ts'
import type { Registry } from '../registry/registry.ts'
import type { Logger } from '../util/logger.ts'
import type { GateInput } from './gate.ts'

/**
 * The ingest pipeline: topic → registry → the kind's zod schema → normalised reading on the bus.
 * Anything wrong is not processed, counted by reason, and explained to the device on its error topic.
 * It never throws on device input.
 */

export interface IngestContext {
  registry: Registry
  /** Where validated messages go: the durability gate (gate.ts), which puts them on the hub bus once durable. */
  gate: GateInput
  metrics: Metrics
  topics: Topics
  log: Logger
  maxPayloadBytes: number
  /** Publish to a device's error topic (QoS 0). */
  reply: (topic: string, payload: Buffer) => void
  /**
   * Where refusals are announced (`device_refused`), for the dashboard's last error of a device. Not
   * through the gate: a refused message changes nothing durable, so it is neither journalled nor replayed.
   */
  bus?: Pick<Bus, 'emit'> | undefined
  /**
   * A device `ts` further ahead of the receive time than maxFutureMs, or further behind than
   * maxPastMs, is replaced by the receive time (ZHIAN_INFLUX_TS_SKEW_S / ZHIAN_INFLUX_TS_MAX_AGE_S;
   * the one place the window is applied, for rules and history alike).
   */
  tsWindow?: TsWindow | undefined
}

/** A device's message the hub refused: what the device page shows as its last error. */
export interface Refusal {
  device: Device
  code: ErrorCode
  /** The error's detail (a field, a size, the model's reason); never the payload itself nor a secret. */
  detail: string | undefined
  /** `mqtt`, or `connector:<id>` for an uplink through a connector. */
  via: string
  at: number
}

declare module '../core/bus.ts' {
  interface BusEvents {
    device_refused: Refusal
  }
}

export interface TsWindow {
  maxFutureMs: number
  maxPastMs: number
}

export interface IncomingMessage {
  topic: string
  payload: Buffer
}

/** What a connector hands ingest for one uplink, in the kind's own vocabulary (devices/models/types.ts Decoded). */
export interface DecodedMessage {
  state?: Record<string, unknown> | undefined
  events?: readonly { type: string; data?: Record<string, unknown> | undefined }[] | undefined
  /** The device's (or platform's) time of the uplink, epoch ms: the same window as a device `ts`. */
  ts?: number | undefined
  seq?: number | undefined
  /** Availability the platform reported. */
  online?: boolean | undefined
  /** Where it came from, for the log and the error reply (`connector:<id>`). */
  via: string
}

/** Defaults of ZHIAN_INFLUX_TS_SKEW_S (5 min) and ZHIAN_INFLUX_TS_MAX_AGE_S (7 days). */
export const TS_WINDOW_DEFAULTS: TsWindow = { maxFutureMs: 5 * 60_000, maxPastMs: 7 * 86_400_000 }

interface ParsedState {
  values: Record<string, unknown>
  ts: number | undefined
  seq: number | undefined
}
interface ParsedEvent {
  type: string
  data?: Record<string, unknown>
  ts?: number
  seq?: number
}

export class Ingest {
  private readonly window: TsWindow
  private readonly uplink = new WeakMap<Device, Map<string, UplinkSuffix>>()

  constructor(private readonly ctx: IngestContext) {
    this.window = ctx.tsWindow ?? TS_WINDOW_DEFAULTS
  }

  /**
   * Handle one PUBLISH (or will) of an authenticated device. Returns false when the message was
   * refused, so the broker neither forwards nor retains it.
   */
  handle(deviceId: string, msg: IncomingMessage, now = Date.now()): boolean {
    const device = this.ctx.registry.get(deviceId)
    if (!device) return false // removed while connected; the broker is disconnecting it
    const error = this.process(device, msg, now)
    if (!error) return true
    this.refuse(device, msg.topic, error, 'mqtt', now)
    return false
  }

  private process(device: Device, msg: IncomingMessage, now: number): ZhianError | undefined {
    const suffix = this.uplinkOf(device).get(msg.topic)
    if (suffix === undefined) return this.topicError(device, msg.topic)
    if (msg.payload.length > this.ctx.maxPayloadBytes) {
      return new ZhianError(
        'ZHIAN_ERR_PAYLOAD_TOO_LARGE',
        `${msg.payload.length} > ${this.ctx.maxPayloadBytes} bytes`,
      )
    }
    if (suffix === 'availability') return this.availability(device, msg.payload, now)

    let body: unknown
    try {
      body = JSON.parse(msg.payload.toString('utf8'))
    } catch {
      return new ZhianError('ZHIAN_ERR_INVALID_JSON')
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return new ZhianError('ZHIAN_ERR_NOT_AN_OBJECT')
    }
    switch (suffix) {
      case 'state':
        return this.state(device, body, now)
      case 'event':
        return this.event(device, body, now)
      case 'info':
        return this.info(device, body, now)
    }
  }

  /**
   * The topics this device publishes to, built once per device object (the registry hands out a new
   * one when a device changes): a string lookup instead of parsing every message's topic.
   */
  private uplinkOf(device: Device): Map<string, UplinkSuffix> {
    let topics = this.uplink.get(device)
    if (!topics) {
      topics = new Map(DEVICE_UPLINK.map((s) => [this.ctx.topics.device(device.kind, device.id, s), s]))
      this.uplink.set(device, topics)
    }
    return topics
  }

  /** Why a topic outside the device's own uplink topics is refused. */
  private topicError(device: Device, topic: string): ZhianError {
    const parsed = this.ctx.topics.parse(topic)
    if (!parsed || parsed.scope === 'hub' || parsed.id !== device.id) {
      return new ZhianError('ZHIAN_ERR_TOPIC_FORBIDDEN', topic.slice(0, 200))
    }
    if (parsed.suffix === 'set' || parsed.suffix === 'error') {
      return new ZhianError('ZHIAN_ERR_TOPIC_FORBIDDEN', `devices do not publish to /${parsed.suffix}`)
    }
    return new ZhianError('ZHIAN_ERR_WRONG_KIND', `"${parsed.kind}", registered as "${device.kind}"`)
  }

  private state(device: Device, body: object, now: number): ZhianError | undefined {
    const parsed = this.parseState(device, body)
    if (parsed instanceof ZhianError) return parsed
    this.emitState(device, parsed, now)
    return undefined
  }

  private parseState(device: Device, body: object): ParsedState | ZhianError {
    const result = SCHEMAS[device.kind].state.safeParse(body)
    if (!result.success) return fromZod(result.error)
    const { ts, seq, ...values } = result.data as { ts?: number; seq?: number } & Record<string, unknown>
    if (Object.keys(values).length === 0) return new ZhianError('ZHIAN_ERR_EMPTY_STATE')
    return { values, ts, seq }
  }

  private emitState(device: Device, { values, ts, seq }: ParsedState, now: number): void {
    this.count(device.kind, 'state')
    const own = this.plausible(ts, now)
    this.ctx.gate.emit('reading', {
      device,
      values,
      ts: own ?? now,
      ownTs: own !== undefined,
      receivedAt: now,
      seq,
      pos: undefined,
    })
  }

  private event(device: Device, body: object, now: number): ZhianError | undefined {
    const parsed = this.parseEvent(device, body)
    if (parsed instanceof ZhianError) return parsed
    this.emitEvent(device, parsed, now)
    return undefined
  }

  private parseEvent(device: Device, body: object): ParsedEvent | ZhianError {
    const result = SCHEMAS[device.kind].event.safeParse(body)
    if (!result.success) return fromZod(result.error)
    return result.data as ParsedEvent
  }

  private emitEvent(device: Device, e: ParsedEvent, now: number): void {
    this.count(device.kind, 'event')
    const own = this.plausible(e.ts, now)
    this.ctx.gate.emit('device_event', {
      device,
      type: e.type,
      data: e.data ?? {},
      ts: own ?? now,
      ownTs: own !== undefined,
      receivedAt: now,
      seq: e.seq,
    })
  }

  private info(device: Device, body: object, now: number): ZhianError | undefined {
    const result = INFO_SCHEMA.safeParse(body)
    if (!result.success) return fromZod(result.error)
    this.count(device.kind, 'info')
    this.ctx.gate.emit('device_info', { device, info: result.data, at: now })
    return undefined
  }

  private availability(device: Device, payload: Buffer, now: number): ZhianError | undefined {
    const text = payload.toString('utf8')
    if (text !== 'online' && text !== 'offline') {
      return new ZhianError('ZHIAN_ERR_INVALID_VALUE', 'availability is "online" or "offline"')
    }
    this.online(device, text === 'online', now)
    return undefined
  }

  private online(device: Device, online: boolean, now: number): void {
    this.count(device.kind, 'availability')
    this.ctx.gate.emit('availability', { device, online, at: now })
  }

  /**
   * A message a connector decoded from a platform's uplink (src/connectors): the same schema checks,
   * coded errors, counting, `ts` window and gate as the device's MQTT message would get. Every part is
   * checked before any is emitted, so a refused uplink changes nothing. Returns the error, if refused.
   */
  decoded(device: Device, msg: DecodedMessage, now = Date.now()): ZhianError | undefined {
    const stamp = {
      ...(msg.ts !== undefined ? { ts: msg.ts } : {}),
      ...(msg.seq !== undefined ? { seq: msg.seq } : {}),
    }
    const state = msg.state && Object.keys(msg.state).length > 0 ? { ...msg.state, ...stamp } : undefined
    const events = (msg.events ?? []).map((e) => ({
      type: e.type,
      ...(e.data ? { data: e.data } : {}),
      ...stamp,
    }))
    // Every part parsed before any is emitted: a refused part refuses the whole uplink.
    const parsedState = state ? this.parseState(device, state) : undefined
    const parsedEvents = events.map((e) => this.parseEvent(device, e))
    const error = [parsedState, ...parsedEvents].find((x) => x instanceof ZhianError)
    if (error) {
      this.rejected(device, error, msg.via, now)
      return error
    }
    if (parsedState) this.emitState(device, parsedState as ParsedState, now)
    for (const e of parsedEvents) this.emitEvent(device, e as ParsedEvent, now)
    if (msg.online !== undefined) this.online(device, msg.online, now)
    return undefined
  }

  /**
   * Count and log a refused message of a device that did not come over MQTT (a connector's uplink
   * its model could not decode, or one `decoded()` refused), and explain it on the device's error
   * topic like any refused message.
   */
  rejected(device: Device, error: ZhianError, via: string, now = Date.now()): void {
    this.refuse(device, via, error, via, now)
  }

  /** The device's clock when it sent one inside the window, else undefined (receive time is used). */
  private plausible(ts: number | undefined, now: number): number | undefined {
    const w = this.window
    if (ts === undefined || ts > now + w.maxFutureMs || ts < now - w.maxPastMs) return undefined
    return ts
  }

  private count(kind: KindId, suffix: string): void {
    this.ctx.metrics.countIn(kind, suffix)
  }

  private refuse(device: Device, topic: string, error: ZhianError, via: string, at: number): void {
    this.ctx.metrics.messagesRejected.inc({ reason: error.code, kind: device.kind })
    this.ctx.bus?.emit('device_refused', {
      device,
      code: error.code,
      detail: error.detail?.slice(0, 200),
      via,
      at,
    })
    this.ctx.log.debug({ device: device.id, topic: topic.slice(0, 200), code: error.code }, 'message refused')
    const body = { code: error.code, message: error.message.slice(0, 500), topic: topic.slice(0, 200) }
    this.ctx.reply(this.ctx.topics.device(device.kind, device.id, 'error'), Buffer.from(JSON.stringify(body)))
  }
}

const ZOD_CODES: Record<string, ErrorCode> = {
  invalid_type: 'ZHIAN_ERR_WRONG_TYPE',
  unrecognized_keys: 'ZHIAN_ERR_UNKNOWN_FIELD',
  too_big: 'ZHIAN_ERR_OUT_OF_RANGE',
  too_small: 'ZHIAN_ERR_OUT_OF_RANGE',
}

/** Map the first zod issue to our catalogue, naming the field so a device developer can fix it. */
export function fromZod(error: z.ZodError): ZhianError {
  const issue = error.issues[0]!
  const code = ZOD_CODES[issue.code] ?? 'ZHIAN_ERR_INVALID_VALUE'
  const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys.join(', ') : ''
  const where = issue.path.length ? issue.path.join('.') : keys || 'payload'
  return new ZhianError(code, `${where}: ${issue.message}`.slice(0, 300))
}
