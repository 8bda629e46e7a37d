import { EventEmitter } from 'node:events'
import type { KindId } from '../../devices/index.ts'
import type { Position } from '../journal/journal.ts'

/** A registered device as the hot path sees it, with its place in the site tree resolved. */
export interface Device {
  id: string
  kind: KindId
  estate: string
  building: string | undefined
  name: string | undefined
  location: string | undefined
  params: Record<string, unknown>
  /** Its device model (`<vendor>/<model>`, devices/models/), when it does not speak zhian's own JSON. */
  model?: string
  /** How the platform it reports through knows it (LoRaWAN DevEUI in lower case, IMEI, the platform's device id). */
  identity?: { dev_eui?: string; imei?: string; platform_device_id?: string }
  /** street → community → estate → building ids above this device (tags for history, rooms for the dashboard). */
  site: {
    street: string | undefined
    community: string | undefined
    estate: string
    building: string | undefined
  }
}

/** A validated, normalised telemetry message. */
export interface Reading {
  device: Device
  values: Record<string, unknown>
  /** The device's clock when it sent `ts`, else receive time (epoch ms). */
  ts: number
  /**
   * `ts` is the device's own clock (ingest accepted it), even when it equals the receive millisecond:
   * the point's identity then comes from the device, so a resend received later maps to it. Absent:
   * inferred from `ts !== receivedAt`.
   */
  ownTs?: boolean
  receivedAt: number
  seq: number | undefined
  /** Just past its record in the journal, once durable (absent with the journal off). */
  pos?: Position | undefined
}

export interface DeviceEvent {
  device: Device
  type: string
  data: Record<string, unknown>
  ts: number
  /** As Reading.ownTs. */
  ownTs?: boolean
  receivedAt: number
  /** The device's sequence number when it sent one (history recognises a resend by it). */
  seq?: number | undefined
  /** Just past its record in the journal, once durable (absent with the journal off). */
  pos?: Position | undefined
}

/**
 * Event name → payload. Features subscribe with `bus.on('reading', …)`; nothing reaches into another
 * feature. The device events are the hub's own and are declared here; a feature adds its events where
 * it declares their types, by merging into this interface, so the bus depends on no feature:
 * `declare module '../core/bus.ts' { interface BusEvents { alert: … } }` (src/alerts/types.ts,
 * src/dispatch/types.ts).
 */
export interface BusEvents {
  reading: Reading
  device_event: DeviceEvent
  availability: { device: Device; online: boolean; at: number; pos?: Position | undefined }
  device_info: { device: Device; info: Record<string, unknown>; at: number; pos?: Position | undefined }
  device_added: { device: Device }
  device_removed: { id: string }
}

/** The bus events a device's message becomes, with its payload (the journal keeps them in this order). */
export type DeviceMessage = {
  [K in 'reading' | 'device_event' | 'availability' | 'device_info']: { event: K; payload: BusEvents[K] }
}['reading' | 'device_event' | 'availability' | 'device_info']

export class Bus {
  private readonly emitter = new EventEmitter({ captureRejections: false })

  constructor() {
    this.emitter.setMaxListeners(100)
  }

  on<K extends keyof BusEvents>(event: K, listener: (payload: BusEvents[K]) => void): () => void {
    this.emitter.on(event, listener)
    return () => this.emitter.off(event, listener)
  }

  emit<K extends keyof BusEvents>(event: K, payload: BusEvents[K]): void {
    this.emitter.emit(event, payload)
  }
}
