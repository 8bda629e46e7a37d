import { modelOf } from '../../devices/models/index.ts'
import type { Metrics } from '../core/metrics.ts'
import { ZhianError } from '../errors.ts'
import type { Ingest } from '../ingest/ingest.ts'
import type { Registry } from '../registry/registry.ts'
import type { Db } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import type { ConnectorConfig, ConnectorType } from './config.ts'
import { LoraConnector } from './lora.ts'
import { Pipeline } from './pipeline.ts'
import { type PushAnswer, PushConnector, type PushRequest } from './push.ts'
import { SeenUplinks } from './seen.ts'
import { Unclaimed, type UnclaimedDevice } from './unclaimed.ts'
import type { Identity } from './uplink.ts'

/**
 * The connectors of the estate file's `connectors:` section, as one hub feature: the push connectors
 * (CTWing, OneNET, the generic push) answer the HTTP routes, the LoRaWAN ones are MQTT clients of
 * their network servers; every uplink goes through one Pipeline into ingest and the journal gate.
 */

export interface ConnectorsContext {
  connectors: readonly ConnectorConfig[]
  db: Db
  registry: Registry
  ingest: Ingest
  /** The gate's durable() and unavailable(). */
  durable: () => Promise<void> | undefined
  unavailable: () => string | undefined
  metrics: Metrics
  log: Logger
  now?: () => number
}

/** What the HTTP routes ask of the connectors. */
export interface ConnectorsHttp {
  push(type: string, id: string, req: PushRequest): Promise<PushAnswer>
  verifyUrl(type: string, id: string, query: Record<string, unknown>): PushAnswer
  list(): { id: string; type: ConnectorType; connected?: boolean; unclaimed: number }[]
  unclaimed(id: string): { devices: UnclaimedDevice[]; not_listed: number } | undefined
  set(deviceId: string, set: Record<string, unknown>): Promise<{ connector: string; fPort: number }>
}

export class Connectors implements ConnectorsHttp {
  readonly pipeline: Pipeline
  private readonly unclaimedDevices = new Unclaimed()
  private readonly seen: SeenUplinks
  private readonly pushes = new Map<string, PushConnector>()
  private readonly lora: LoraConnector[] = []

  constructor(private readonly ctx: ConnectorsContext) {
    const now = ctx.now ?? Date.now
    this.seen = new SeenUplinks(ctx.db, ctx.log, now)
    this.pipeline = new Pipeline({
      registry: ctx.registry,
      ingest: ctx.ingest,
      durable: ctx.durable,
      unavailable: ctx.unavailable,
      seen: this.seen,
      unclaimed: this.unclaimedDevices,
      metrics: ctx.metrics,
      log: ctx.log,
      now,
    })
    for (const c of ctx.connectors) {
      if (c.type === 'chirpstack' || c.type === 'tts')
        this.lora.push(new LoraConnector(c, this.pipeline, ctx.log))
      else this.pushes.set(`${c.type}/${c.id}`, new PushConnector(c, this.pipeline, now))
    }
  }

  /** A platform identity some device has by now. */
  private readonly claimed = (identity: Identity): boolean =>
    identity.kind === 'device_id'
      ? this.ctx.registry.get(identity.value) !== undefined
      : this.ctx.registry.byIdentity(identity.kind, identity.value) !== undefined

  /** `lora` false: pushes only (a cluster's followers; the leader alone holds the network servers' sessions). */
  start(lora = true): void {
    this.seen.start()
    if (lora) this.startLora()
  }

  startLora(): void {
    for (const l of this.lora) l.start()
  }

  async stop(): Promise<void> {
    await Promise.all(this.lora.map((l) => l.stop()))
    this.seen.stop()
  }

  async push(type: string, id: string, req: PushRequest): Promise<PushAnswer> {
    const push = this.pushes.get(`${type}/${id}`)
    if (!push) return unknownConnector(type, id)
    return push.push(req)
  }

  verifyUrl(type: string, id: string, query: Record<string, unknown>): PushAnswer {
    const push = this.pushes.get(`${type}/${id}`)
    if (!push) return unknownConnector(type, id)
    return push.verifyUrl(query)
  }

  list(): { id: string; type: ConnectorType; connected?: boolean; unclaimed: number }[] {
    return this.ctx.connectors.map((c) => {
      const lora = this.lora.find((l) => l.config.id === c.id)
      return {
        id: c.id,
        type: c.type,
        ...(lora ? { connected: lora.connected } : {}),
        unclaimed: this.unclaimedDevices.list(c.id, this.claimed).devices.length,
      }
    })
  }

  unclaimed(id: string): { devices: UnclaimedDevice[]; not_listed: number } | undefined {
    if (!this.ctx.connectors.some((c) => c.id === id)) return undefined
    return this.unclaimedDevices.list(id, this.claimed)
  }

  /**
   * Settable properties of a device behind a network server, as a downlink its model encodes, sent
   * through the ChirpStack connector that reaches it (queued by the network server until the device's
   * next receive window).
   */
  async set(deviceId: string, set: Record<string, unknown>): Promise<{ connector: string; fPort: number }> {
    const device = this.ctx.registry.get(deviceId)
    if (!device) throw new ZhianError('ZHIAN_ERR_UNKNOWN_DEVICE', deviceId)
    const model = device.model ? modelOf(device.model) : undefined
    if (!model?.encode)
      throw new ZhianError('ZHIAN_ERR_NO_DOWNLINK', `${deviceId}: its model encodes no downlink`)
    const downlink = model.encode(set)
    if ('error' in downlink) throw new ZhianError('ZHIAN_ERR_INVALID_VALUE', downlink.error.slice(0, 200))
    const fPort = downlink.fPort ?? 1
    for (const l of this.lora)
      if (await l.downlink(device, downlink.bytes, fPort)) return { connector: l.config.id, fPort }
    throw new ZhianError('ZHIAN_ERR_NO_DOWNLINK', `${deviceId}: no connected ChirpStack connector reaches it`)
  }
}

function unknownConnector(type: string, id: string): PushAnswer {
  const error = new ZhianError('ZHIAN_ERR_UNKNOWN_CONNECTOR', `${type}/${id}`.slice(0, 140))
  return { status: error.status, body: { status: 'refused', ...error.toJSON() } }
}
