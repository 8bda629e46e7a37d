import { describe, expect, it } from 'vitest'
import { DeviceAuthThrottle } from '../../../src/broker/auth-throttle.ts'

const LIMITS = { perDeviceAddress: 3, perDevice: 7, perAddress: 5, windowMs: 60_000 }

describe('DeviceAuthThrottle', () => {
  it('holds a device id at the guessing address after its failures until the window passes; the device elsewhere is not held', () => {
    let now = 0
    const throttle = new DeviceAuthThrottle(LIMITS, () => now)
    for (let i = 0; i < 3; i++) {
      expect(throttle.throttled('lift1', '10.0.0.1', 'guess')).toBe(false)
      throttle.failed('lift1', '10.0.0.1')
    }
    expect(throttle.throttled('lift1', '10.0.0.1', 'the-real-secret')).toBe(true)
    expect(throttle.throttled('lift1', '10.0.0.2', 'the-real-secret')).toBe(false) // the device's own address
    expect(throttle.throttled('lift2', '10.0.0.1', 'guess')).toBe(false)
    now += 60_000
    expect(throttle.throttled('lift1', '10.0.0.1', 'guess')).toBe(false)
  })

  it('holds a device id everywhere only after more failures than one address may make', () => {
    const throttle = new DeviceAuthThrottle(LIMITS, () => 0)
    for (const address of ['10.0.0.1', '10.0.0.2'])
      for (let i = 0; i < 3; i++) throttle.failed('lift1', address)
    expect(throttle.throttled('lift1', '10.0.0.9', 'guess')).toBe(false)
    throttle.failed('lift1', '10.0.0.3')
    expect(throttle.throttled('lift1', '10.0.0.9', 'guess')).toBe(true)
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
    const throttle = new DeviceAuthThrottle(
      { perDeviceAddress: 3, perDevice: 3, perAddress: 1e9, windowMs: 60_000 },
      () => now,
    )
    for (let i = 0; i < 50_000; i++) {
      now++
      throttle.failed(`id${i}`, '10.0.0.1')
    }
    const maps = throttle as unknown as Record<'byDevice' | 'byPair', Map<string, unknown>>
    expect(maps.byDevice.size).toBeLessThanOrEqual(20_001)
    expect(maps.byPair.size).toBeLessThanOrEqual(20_001)
  })
})
