import { VerifiedSecrets } from '../util/secrets.ts'

/**
 * Throttle for device secret guessing. Each wrong guess costs a KDF on libuv's thread pool (shared
 * with the dashboard's password checks and file I/O), so after too many failures in a window a
 * device id from one address, a device id from everywhere, or a source address, is refused at once
 * without hashing (CONNACK 5) until the window passes. The id tier from one address is held first
 * and the id-wide tier only above what one address may fail (its address tier), so one host guessing
 * at a device cannot keep that device out from its own address — not even before its first
 * connection since the hub started. A secret the hub already verified for that id since it started
 * gets through any tier (one HMAC).
 *
 * Fixed windows with one counter per key: O(1) memory per key whatever the guess rate.
 */

export interface DeviceAuthLimits {
  perDeviceAddress: number
  perDevice: number
  perAddress: number
  windowMs: number
}

export const DEVICE_AUTH_LIMITS: Readonly<DeviceAuthLimits> = {
  /** Failures per device id from one source address per window. */
  perDeviceAddress: 10,
  /** Failures per device id from all addresses per window: above perAddress, so it takes several hosts. */
  perDevice: 300,
  /** Failures per source address per window: higher, a gateway or a NAT carries many devices. */
  perAddress: 100,
  windowMs: 60_000,
}

/** Keys kept before expired windows are swept; past twice this the oldest half is dropped. */
const SWEEP_AT = 10_000

export class DeviceAuthThrottle {
  private readonly byPair = new Map<string, Window>()
  private readonly byDevice = new Map<string, Window>()
  private readonly byAddress = new Map<string, Window>()
  private readonly known = new VerifiedSecrets()

  constructor(
    private readonly limits: Readonly<DeviceAuthLimits> = DEVICE_AUTH_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this attempt must be refused without checking the secret. */
  throttled(deviceId: string, address: string, secret: string): boolean {
    const t = this.now()
    const full =
      this.count(this.byPair, pairOf(deviceId, address), t) >= this.limits.perDeviceAddress ||
      this.count(this.byDevice, deviceId, t) >= this.limits.perDevice ||
      this.count(this.byAddress, address, t) >= this.limits.perAddress
    return full && !this.known.has(deviceId, secret)
  }

  failed(deviceId: string, address: string): void {
    const t = this.now()
    this.bump(this.byPair, pairOf(deviceId, address), t)
    this.bump(this.byDevice, deviceId, t)
    this.bump(this.byAddress, address, t)
  }

  succeeded(deviceId: string, secret: string): void {
    this.known.remember(deviceId, secret)
  }

  /** A removed or re-keyed device: its old secret no longer passes a throttle. */
  forget(deviceId: string): void {
    this.known.forget(deviceId)
  }

  private count(map: Map<string, Window>, key: string, t: number): number {
    const w = map.get(key)
    return w && t - w.since < this.limits.windowMs ? w.failures : 0
  }

  private bump(map: Map<string, Window>, key: string, t: number): void {
    const w = map.get(key)
    if (w && t - w.since < this.limits.windowMs) w.failures++
    else {
      map.delete(key) // re-inserted last: the map stays in window order
      map.set(key, { since: t, failures: 1 })
      if (map.size > SWEEP_AT) this.sweep(map, t)
    }
  }

  private sweep(map: Map<string, Window>, t: number): void {
    for (const [key, w] of map) {
      if (t - w.since < this.limits.windowMs) break // in window order: the rest are newer
      map.delete(key)
    }
    if (map.size <= 2 * SWEEP_AT) return
    // A flood of distinct ids: the address limit still holds, so forget the oldest ids.
    let drop = map.size - SWEEP_AT
    for (const key of map.keys()) {
      if (drop-- <= 0) break
      map.delete(key)
    }
  }
}

/** NUL never occurs in a device id or an address. */
const pairOf = (deviceId: string, address: string) => `${deviceId}\0${address}`

interface Window {
  since: number
  failures: number
}
