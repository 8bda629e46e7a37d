import { describe, expect, it } from 'vitest'
import { device, IDLE_LIFT, lift, rig } from './harness.ts'

/** Many devices, many readings: the engine keeps every subject's state apart. Speed is measured in `npm run bench`, not here. */
describe('200,000 readings of 2,000 elevators and parking bays', () => {
  it('raise exactly the alerts their values call for and leave each zone with the right count', () => {
    const lifts = Array.from({ length: 1000 }, (_, i) => lift(`l${i}`))
    const bays = Array.from({ length: 1000 }, (_, i) =>
      device(`b${i}`, 'parking_bay', { zone: `z${i % 10}` }),
    )
    const r = rig({ devices: [...lifts, ...bays] })
    for (const l of lifts) r.send(l, IDLE_LIFT)
    const values = [
      { floor: 3, moving: true },
      { floor: 4, moving: false },
      { speed: 1.2 },
      { passenger: false },
    ]
    for (let i = 0; i < 100_000; i++) {
      r.send(lifts[i % 1000]!, values[i % 4]!)
      r.send(bays[i % 1000]!, { occupied: i % 3 === 0 })
    }
    // Normal trips raise nothing; every bay flips state far more than 10 times (the clock stands still).
    expect(r.signals.filter((s) => s.alert.startsWith('elevator.'))).toHaveLength(0)
    const flapping = r.raises('parking_bay.sensor_flapping')
    expect(flapping).toHaveLength(1000)
    expect(new Set(flapping.map((s) => s.subject)).size).toBe(1000)
    expect(r.signals.filter((s) => s.alert !== 'parking_bay.sensor_flapping')).toHaveLength(0)
    // Bay b's last reading (i = b + 99 000) is occupied when b is a multiple of 3.
    const zones = r.engine.zoneAggregates('e1')
    expect(zones).toHaveLength(10)
    for (const z of zones) {
      const zone = Number(z.zone.slice(1))
      const want = Array.from({ length: 100 }, (_, k) => zone + 10 * k).filter((b) => b % 3 === 0).length
      expect(z).toMatchObject({ total: 100, occupied: want, free: 100 - want, unknown: 0 })
    }
    // Lift n only ever gets values[n % 4]: each keeps its own state.
    expect(r.engine.stateOf('l0')).toMatchObject({ floor: 3, moving: true, speed: 0 })
    expect(r.engine.stateOf('l1')).toMatchObject({ floor: 4, moving: false })
    expect(r.engine.stateOf('l2')).toMatchObject({ floor: 7, speed: 1.2 })
  })
})
