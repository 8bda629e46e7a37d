import { describe, expect, it } from 'vitest'
import { KIND_IDS, KINDS } from '../../devices/index.ts'
import { DEFAULT_ZONE, type KindDefinition, onlineWindowMs, zoneOf } from '../../devices/types.ts'

/** "Online" is one rule per kind: the dashboard's live state and the `<kind>.offline` alert use the same window. */
describe('online rule', () => {
  it('is interval × missed + grace of the kind offline alert (the README alert table)', () => {
    expect(Object.fromEntries(KIND_IDS.map((k) => [k, onlineWindowMs(KINDS[k]) / 1000]))).toEqual({
      ai_camera: 300 * 2 + 300,
      elevator: 60 * 3 + 30,
      fire_passage: 300 * 2 + 300,
      manhole: 1800 * 2 + 3600,
      parking_bay: 86_400 * 2 + 3600,
      perimeter: 300 * 2 + 300,
      smoke_detector: 86_400 * 2 + 3600,
      sos_button: 86_400 * 2 + 3600,
      gas_detector: 3600 * 2 + 1800,
      electrical_fire: 300 * 3 + 300,
      fire_hydrant: 3600 * 2 + 3600,
    })
  })

  it("takes the device's announced interval and an estate's resolved parameters over the kind's", () => {
    expect(onlineWindowMs(KINDS.manhole, 60)).toBe(60_000 * 2 + 3_600_000)
    expect(onlineWindowMs(KINDS.manhole, 60, { missed: 4, grace: 1000 })).toBe(60_000 * 4 + 1000)
  })
})

describe('zone roll-up', () => {
  it('is declared by the parking bay only, counting `occupied` per `zone` param, default zone "default"', () => {
    expect(KIND_IDS.filter((k) => (KINDS[k] as KindDefinition).zones !== undefined)).toEqual(['parking_bay'])
    expect(KINDS.parking_bay.zones).toEqual({ field: 'occupied', zoneParam: 'zone' })
    expect(zoneOf(KINDS.parking_bay.zones, {})).toBe(DEFAULT_ZONE)
    expect(DEFAULT_ZONE).toBe('default')
    // The zone_full trigger counts the same field per the same param.
    const trigger = KINDS.parking_bay.alerts.zone_full.triggers[0]
    expect(trigger).toMatchObject(KINDS.parking_bay.zones)
  })
})
