import { describe, expect, it } from 'vitest'
import { DeviceAuthThrottle } from '../../../src/broker/auth-throttle.ts'

const LIMITS = { perDevice: 3, perAddress: 5, windowMs: 60_000 }

describe('DeviceAuthThrottle', () => {
  it('holds a device id after its failures until the window passes', () => {
    let now = 0
    const throttle = new DeviceAuthThrottle(LIMITS, () => now)
    for (let i = 0; i < 3; i++) {
      expect(throttle.throttled('lift1', '10.0.0.1', 'guess')).toBe(false)
      throttle.failed('lift1', '10.0.0.1')
    }
    expect(throttle.throttled('lift1', '10.0.0.2', 'guess')).toBe(true) // from any address
    expect(throttle.throttled('lift2', '10.0.0.2', 'guess')).toBe(false)
    now += 60_000
    expect(throttle.throttled('lift1', '10.0.0.1', 'guess')).toBe(false)
  })

  it('holds a source address after its failures across many ids', () => {
    const throttle = new DeviceAuthThrottle(LIMITS, () => 0)
    for (let i = 0; i < 5; i++) throttle.failed(`id${i}`, '10.0.0.9')
    expect(throttle.throttled('fresh_id', '10.0.0.9', 'guess')).toBe(true)
    expect(throttle.throttled('fresh_id', '10.0.0.8', 'guess')).toBe(false)
  })

  it('lets a secret verified before through a held id, and not after the device is forgotten', () => {
    const throttle = new DeviceAuthThrottle(LIMITS, () => 0)
    throttle.succeeded('lift1', 'the-real-secret')
    for (let i = 0; i < 5; i++) throttle.failed('lift1', '10.0.0.1')
    expect(throttle.throttled('lift1', '10.0.0.1', 'guess')).toBe(true)
    expect(throttle.throttled('lift1', '10.0.0.1', 'the-real-secret')).toBe(false)
    throttle.forget('lift1')
    expect(throttle.throttled('lift1', '10.0.0.1', 'the-real-secret')).toBe(true)
  })

  it('keeps its memory bounded under a flood of distinct ids', () => {
    let now = 0
    const throttle = new DeviceAuthThrottle({ perDevice: 3, perAddress: 1e9, windowMs: 60_000 }, () => now)
    for (let i = 0; i < 50_000; i++) {
      now++
      throttle.failed(`id${i}`, '10.0.0.1')
    }
    const size = (throttle as unknown as { byDevice: Map<string, unknown> }).byDevice.size
    expect(size).toBeLessThanOrEqual(20_001)
  })
})
