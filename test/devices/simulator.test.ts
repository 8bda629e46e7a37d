import { describe, expect, it } from 'vitest'
import { payloadFor } from '../../bench/loadgen.ts'
import { KIND_IDS, KINDS } from '../../devices/index.ts'
import { SCHEMAS } from '../../devices/schema.ts'
import type { SimulatorSpec } from '../../devices/types.ts'
import { behaviourFor, NAMED_BEHAVIOURS } from '../../simulators/behaviours/index.ts'

/** Every kind says how it is simulated: its behaviour, its place in a synthesised estate, a healthy and a faulty reading. */
describe('kind simulator specs', () => {
  it.each(KIND_IDS)(
    '%s declares a behaviour the simulators have, a mix, and healthy and faulty readings',
    (id) => {
      const sim: SimulatorSpec = KINDS[id].simulator
      expect(sim, id).toBeDefined()
      if (sim.behaviour !== undefined) expect(Object.keys(NAMED_BEHAVIOURS)).toContain(sim.behaviour)
      expect(() => behaviourFor(id)).not.toThrow()
      expect(sim.mix.weight).toBeGreaterThanOrEqual(0)
      expect(sim.mix.abbr).toMatch(/^[a-z0-9]+$/)
      for (let n = 0; n < 50; n++) {
        const healthy = SCHEMAS[id].state.safeParse(sim.healthy(n))
        expect(healthy.success, `${id} healthy(${n})`).toBe(true)
      }
      expect(SCHEMAS[id].state.safeParse(sim.faulty?.state).success, `${id} faulty`).toBe(true)
      expect(Object.keys(KINDS[id].alerts)).toContain(sim.faulty?.raises)
    },
  )

  it('gives every kind its own id abbreviation, so synthesised ids never clash', () => {
    const abbrs = KIND_IDS.map((id) => KINDS[id].simulator.mix.abbr)
    expect(new Set(abbrs).size).toBe(abbrs.length)
  })

  it('feeds the load generator the same payloads it always sent', () => {
    expect(payloadFor('elevator', 7)).toBe(
      '{"floor":8,"direction":"up","door":"closed","moving":true,"in_door_zone":false,"passenger":true,"speed":1.2,"service_mode":"normal","fault_code":0,"power_source":"mains","seq":7}',
    )
    expect(payloadFor('fire_passage', 23)).toBe(
      '{"occupied":false,"confidence":0.9,"battery_pct":83,"seq":23}',
    )
    expect(payloadFor('manhole', 13)).toBe(
      '{"tilt_deg":0.8,"cover_open":false,"water_level_cm":23,"battery_pct":73,"seq":13}',
    )
    expect(payloadFor('parking_bay', 31)).toBe('{"occupied":false,"battery_pct":71,"seq":31}')
  })
})
