import { Counter } from 'prom-client'
import { KINDS } from '../../devices/index.ts'
import { decodeWith, modelOf } from '../../devices/models/index.ts'
import type { Device } from '../core/bus.ts'
import type { Metrics } from '../core/metrics.ts'
import { ZhianError } from '../errors.ts'
import type { DecodedMessage, Ingest } from '../ingest/ingest.ts'
import type { Registry } from '../registry/registry.ts'
import type { Logger } from '../util/logger.ts'
import type { ConnectorType } from './config.ts'
import type { SeenUplinks } from './seen.ts'
import type { Unclaimed } from './unclaimed.ts'
import { isObject, type Uplink } from './uplink.ts'

/**
 * The one path of every connector's uplink: platform identity → device (unknown: listed as unclaimed)
 * → a retry already taken in? → the device's model decodes (without a model: zhian's native JSON) →
 * ingest's own checks (Ingest.decoded: the kind's schema, counting, coded errors, like an MQTT
 * message) → the journal gate → once durable, the uplink's keys are remembered and the caller may
 * acknowledge (HTTP 200, MQTT PUBACK).
 */

export interface PipelineContext {
  registry: Pick<Registry, 'get' | 'byIdentity'>
  ingest: Pick<Ingest, 'decoded' | 'rejected'>
  /** The gate's durable(): resolves once everything ingested so far is in the journal; undefined without one. */
  durable: () => Promise<void> | undefined
  /** Why nothing can be taken in now (the journal cannot write), if so. */
  unavailable: () => string | undefined
  seen: SeenUplinks
  unclaimed: Unclaimed
  metrics: Metrics
  log: Logger
  now: () => number
}

export interface ConnectorRef {
  id: string
  type: ConnectorType
  estates?: readonly string[] | undefined
}

export type Outcome =
  | { status: 'accepted'; device: string }
  | { status: 'duplicate'; device: string }
  /** Nothing for a reading (a command response, a status without a battery level). */
  | { status: 'ignored' }
  | { status: 'refused'; error: ZhianError; device?: string }

/** An OneNET push must be answered within 5 s; a commit taking longer is answered 503 (the platform retries). */
const DURABLE_WAIT_MS = 4000

export class Pipeline {
  /** Keys of uplinks in the journal's open commit: a retry arriving meanwhile waits for that commit. */
  private readonly inflight = new Map<string, Promise<boolean>>()
  private readonly outcomes: Counter<'connector' | 'outcome'>

  constructor(private readonly ctx: PipelineContext) {
    this.outcomes = new Counter({
      name: 'zhian_connector_uplinks_total',
      help: 'Uplinks through connectors, by connector and outcome (accepted, duplicate, ignored, or the error code)',
      labelNames: ['connector', 'outcome'] as const,
      registers: [ctx.metrics.registry],
    })
  }

  async take(connector: ConnectorRef, up: Uplink): Promise<Outcome> {
    const outcome = await this.process(connector, up)
    const label = outcome.status === 'refused' ? outcome.error.code : outcome.status
    this.outcomes.inc({ connector: connector.id, outcome: label })
    return outcome
  }

  /** Count what was refused before the pipeline (a bad signature, a body not in the platform's format, too fast). */
  count(connector: string, outcome: string): void {
    this.outcomes.inc({ connector, outcome })
  }

  private async process(connector: ConnectorRef, up: Uplink): Promise<Outcome> {
    if (up.logOnly) {
      this.ctx.log.info({ connector: connector.id, ...up.logOnly }, 'platform report')
      return { status: 'ignored' }
    }
    const device = this.deviceOf(up)
    if (!device) {
      this.ctx.unclaimed.note(connector.id, up.ids, up.hint, this.ctx.now())
      const ids = up.ids.map((i) => `${i.kind} ${i.value}`).join(', ')
      return { status: 'refused', error: new ZhianError('ZHIAN_ERR_UNCLAIMED_DEVICE', ids.slice(0, 200)) }
    }
    if (connector.estates && !connector.estates.includes(device.estate)) {
      return {
        status: 'refused',
        error: new ZhianError('ZHIAN_ERR_CONNECTOR_SCOPE', device.id),
        device: device.id,
      }
    }
    if (up.rejoined) this.ctx.seen.forget(connector.id, `dev:${device.id}:fcnt:`)
    const keys = up.keys.map((k) => (k.startsWith('fcnt:') ? `dev:${device.id}:${k}` : k))
    if (await this.seenBefore(connector.id, keys)) return { status: 'duplicate', device: device.id }

    const message = this.message(connector, device, up)
    if (message instanceof ZhianError) {
      this.ctx.ingest.rejected(device, message, `connector:${connector.id}`, this.ctx.now())
      this.ctx.log.info(
        { connector: connector.id, device: device.id, code: message.code, err: message.detail },
        'uplink refused',
      )
      return { status: 'refused', error: message, device: device.id }
    }
    if (!message) return { status: 'ignored' }
    if (this.ctx.unavailable()) {
      return { status: 'refused', error: new ZhianError('ZHIAN_ERR_JOURNAL_UNAVAILABLE'), device: device.id }
    }
    const error = this.ctx.ingest.decoded(device, message, this.ctx.now())
    if (error) return { status: 'refused', error, device: device.id }
    return (await this.durable(connector.id, keys))
      ? { status: 'accepted', device: device.id }
      : { status: 'refused', error: new ZhianError('ZHIAN_ERR_JOURNAL_UNAVAILABLE'), device: device.id }
  }

  /** The first identity a device claims, in the platform's order (its own device id before an IMEI). */
  private deviceOf(up: Uplink): Device | undefined {
    for (const id of up.ids) {
      const device =
        id.kind === 'device_id'
          ? this.ctx.registry.get(id.value)
          : this.ctx.registry.byIdentity(id.kind, id.value)
      if (device) return device
    }
    return undefined
  }

  private async seenBefore(connector: string, keys: string[]): Promise<boolean> {
    for (const key of keys) {
      const pending = this.inflight.get(`${connector}\n${key}`)
      if (pending && (await withTimeout(pending))) return true
      if (this.ctx.seen.has(connector, key)) return true
    }
    return false
  }

  /** What the uplink says in the kind's vocabulary; undefined when it says nothing; an error when it cannot be read. */
  private message(
    connector: ConnectorRef,
    device: Device,
    up: Uplink,
  ): DecodedMessage | ZhianError | undefined {
    const via = `connector:${connector.id}`
    const base = { via, ts: up.ts, ...(up.online !== undefined ? { online: up.online } : {}) }
    if (up.batteryPct !== undefined) {
      // The network server's view of the battery, for kinds that report one.
      return 'battery_pct' in KINDS[device.kind].state
        ? { ...base, state: { battery_pct: up.batteryPct } }
        : undefined
    }
    if (!up.payload) return up.online !== undefined ? base : undefined
    const modelId = up.model ?? device.model
    if (modelId) {
      const model = modelOf(modelId)
      if (!model) return new ZhianError('ZHIAN_ERR_UNKNOWN_MODEL', modelId.slice(0, 64))
      if (model.kind !== device.kind)
        return new ZhianError('ZHIAN_ERR_MODEL_KIND', `${modelId} is not a ${device.kind}`)
      const result = decodeWith(model, { ...up.payload, params: device.params })
      if ('error' in result)
        return new ZhianError('ZHIAN_ERR_MODEL_DECODE', `${modelId}: ${result.error}`.slice(0, 300))
      const d = result.decoded
      if (!d.state && !d.events?.length) return up.online !== undefined ? base : undefined
      return { ...base, state: d.state, events: d.events, ts: d.ts ?? up.ts }
    }
    return this.native(up, base)
  }

  /** A device without a model speaks zhian's native JSON inside the platform's payload field. */
  private native(up: Uplink, base: DecodedMessage): DecodedMessage | ZhianError {
    const body = up.native ?? up.payload?.json
    if (!body) {
      return new ZhianError(
        'ZHIAN_ERR_MODEL_DECODE',
        'the device has no model, and the uplink carries no JSON object',
      )
    }
    const { ts, seq, ...rest } = body
    const stamp = {
      ts: typeof ts === 'number' ? ts : base.ts,
      ...(typeof seq === 'number' ? { seq } : {}),
    }
    if (typeof rest.type === 'string') {
      const data = isObject(rest.data) ? rest.data : undefined
      return { ...base, ...stamp, events: [{ type: rest.type, ...(data ? { data } : {}) }] }
    }
    return { ...base, ...stamp, state: rest }
  }

  /** Wait until the uplink is in the journal; then remember its keys. False when it could not be stored in time. */
  private async durable(connector: string, keys: string[]): Promise<boolean> {
    const commit = this.ctx.durable()
    if (!commit) {
      this.ctx.seen.add(connector, keys)
      return true
    }
    const stored = commit.then(
      () => {
        this.ctx.seen.add(connector, keys)
        return true
      },
      () => false,
    )
    const names = keys.map((k) => `${connector}\n${k}`)
    for (const n of names) this.inflight.set(n, stored)
    void stored.then(() => {
      for (const n of names) if (this.inflight.get(n) === stored) this.inflight.delete(n)
    })
    return withTimeout(stored)
  }
}

/** false after DURABLE_WAIT_MS: the platform is answered 503 and retries (the commit, if it lands, is remembered). */
function withTimeout(p: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), DURABLE_WAIT_MS)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}
