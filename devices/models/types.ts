/**
 * A device model (型号): how one vendor's product speaks. It maps the vendor's uplink (bytes or JSON,
 * as a platform hands it over) to one kind's telemetry and events, and, where the device supports it,
 * the kind's settable properties back to a downlink. One file per model under
 * devices/models/<vendor>/<model>.ts, one plain object, like zigbee-herdsman-converters' definitions.
 * A model imports nothing from src/; the connectors (src/connectors) and the model registry read it.
 */
import type { Fields, Text } from '../types.ts'

/** How an uplink reaches the hub: the connector types that can carry this model's frames. */
export type Transport = 'chirpstack' | 'tts' | 'ctwing' | 'onenet' | 'http'

/** What a connector hands a model: the platform's payload, in whichever shapes it carried. */
export interface UplinkInput {
  /** Raw application bytes (LoRaWAN FRMPayload, CTWing `APPdata`, OneNET opaque data), if any. */
  bytes?: Buffer
  /** LoRaWAN FPort, when the frame came over LoRaWAN. */
  fPort?: number
  /**
   * Already-structured data the platform carried (CTWing profile `{serviceId, serviceData}`, OneNET
   * `params`, a vendor's JSON on the generic push).
   */
  json?: Record<string, unknown>
  /** Device installation params from the estate file (e.g. a well's mounting depth). */
  params: Readonly<Record<string, unknown>>
}

/** One decoded uplink, in the kind's own vocabulary: validated against the kind's schema afterwards, like a native message. */
export interface Decoded {
  /** State fields of the kind (a subset; devices report on change). */
  state?: Record<string, unknown>
  /** Discrete events of the kind. */
  events?: readonly { type: string; data?: Record<string, unknown> }[]
  /** The device's own timestamp (epoch ms), when the frame carries one. */
  ts?: number
}

/**
 * A decoder's answer. Decoders never throw on hostile bytes: a short, long or garbled frame is
 * `{ error }` with a short English reason (the connector turns it into ZHIAN_ERR_MODEL_DECODE).
 * An uplink that carries nothing for the kind (e.g. a device-info frame) is `{ decoded: {} }`.
 */
export type DecodeResult = { decoded: Decoded } | { error: string }

/** A downlink the model encodes from the kind's settable properties. */
export interface Downlink {
  bytes: Buffer
  fPort?: number
}

/** A published example or an edge case: input → what it must decode to (or fail with). */
export interface TestVector {
  description: string
  input: { hex?: string; base64?: string; fPort?: number; json?: Record<string, unknown> }
  params?: Record<string, unknown>
  /** The decoded result, or `{ error: true }` for input that must be refused. */
  expect: Decoded | { error: true }
}

export interface ModelDefinition {
  /** `<vendor>/<model>` in lower case, the file's path under devices/models/ (e.g. `milesight/em400-udl`). */
  id: string
  vendor: Text
  model: string
  names: Text
  /** The kind this model implements (a key of devices/index.ts KINDS). */
  kind: string
  transports: readonly Transport[]
  /** The vendor's public payload definition this file reimplements (URL, document and version). */
  source: string
  /**
   * Installation params the decoder reads (e.g. `mount_depth_cm`), typed like a kind's params: a device
   * naming this model may set them next to its kind's params, and they are validated the same way.
   */
  params?: Readonly<Fields>
  decode: (input: UplinkInput) => DecodeResult
  encode?: (set: Record<string, unknown>) => Downlink | { error: string }
  /**
   * The frame this model's device would send for a state of its kind (the simulators drive models
   * over their real transports with it); decoding it gives that state back.
   */
  frame?: (
    state: Record<string, unknown>,
    params: Readonly<Record<string, unknown>>,
  ) => Omit<UplinkInput, 'params'>
  vectors: readonly TestVector[]
}
