import type { IdentityKind } from '../../devices/models/identity.ts'

/**
 * What a platform's envelope becomes before the device is known: who sent it (the platform's identity
 * of the device), what recognises a retry of it, and its payload in the shapes a model decodes. The
 * platform parsers (platforms/*.ts) produce it; the pipeline (pipeline.ts) takes it from there.
 */

/** How a platform names a device (the estate file's `dev_eui`, `imei`, `platform_device_id`). */
export interface Identity {
  /** `device_id`: zhian's own device id (the generic push may name it). */
  kind: IdentityKind | 'device_id'
  value: string
}

/** The payload a model decodes (devices/models/types.ts UplinkInput without the device's params). */
export interface UplinkPayload {
  bytes?: Buffer
  fPort?: number
  json?: Record<string, unknown>
}

export interface Uplink {
  /** The identities the platform gave, most specific first (CTWing: deviceId, then IMEI). */
  ids: Identity[]
  /**
   * What recognises this uplink when the platform retries it or the broker redelivers it: a
   * platform message id (`msg:`), or a frame counter per device (`fcnt:`), scoped by the pipeline.
   */
  keys: string[]
  /** Data for the device's model (or, without a model, zhian's native JSON in `json`). */
  payload?: UplinkPayload
  /** Without a model the device speaks zhian's native JSON: this, when it differs from `payload.json`. */
  native?: Record<string, unknown>
  /** Availability the platform reports (CTWing online/offline, OneNET lifeCycle). */
  online?: boolean
  /** Battery the network server reports (ChirpStack `status`), 0–100. */
  batteryPct?: number
  /** The device joined again: its LoRaWAN frame counter restarted, earlier `fcnt:` keys are void. */
  rejoined?: boolean
  /** The platform's own time of the uplink (epoch ms), when it gives one. */
  ts?: number
  /** Something to log and otherwise ignore (a command response, a log event), with what it said. */
  logOnly?: Record<string, unknown>
  /** The model the sender names (generic push); otherwise the device's own `model`. */
  model?: string
  /** A few words for the installer's list of unclaimed devices (product, device name). */
  hint?: string
}

/** A parser's answer: uplinks (a push may carry none), or why the envelope is unusable. */
export type ParseResult = { uplinks: Uplink[] } | { error: string }

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Epoch ms of an ISO string or a number of ms, else undefined. */
export function timeOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v
  if (typeof v === 'string') {
    const t = Date.parse(v)
    return Number.isFinite(t) ? t : undefined
  }
  return undefined
}

/** Base64 text to bytes; undefined unless it is base64 (Buffer.from silently skips junk). */
export function base64Bytes(v: unknown): Buffer | undefined {
  if (typeof v !== 'string' || v.length > 65_536) return undefined
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) return undefined
  return Buffer.from(v, 'base64')
}

/** A LoRaWAN DevEUI as the estate file keeps it: 16 lower-case hex digits. */
export function devEui(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined
  const hex = v.replace(/[-:]/g, '').toLowerCase()
  return /^[0-9a-f]{16}$/.test(hex) ? hex : undefined
}

/** A text identity (IMEI, platform device id): printable, bounded. */
export function textId(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v)
  if (typeof v !== 'string') return undefined
  const s = v.trim()
  return s.length > 0 && s.length <= 128 && s !== 'undefined' && /^[\x21-\x7e]+$/.test(s) ? s : undefined
}
