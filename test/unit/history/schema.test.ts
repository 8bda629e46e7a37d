import { describe, expect, it } from 'vitest'
import { KIND_IDS, KINDS } from '../../../devices/index.ts'
import type { Fields } from '../../../devices/types.ts'
import type { Device } from '../../../src/core/bus.ts'
import { FIELD_TYPES, PARAM_TAGS, PointMapper, typedFields } from '../../../src/history/schema.ts'

const device: Device = {
  id: 'pb7',
  kind: 'parking_bay',
  estate: 'e1',
  building: undefined,
  name: undefined,
  location: undefined,
  params: { zone: 'B1' },
  site: { street: 's1', community: 'c1', estate: 'e1', building: undefined },
}
const policy = { maxFutureMs: 60_000, maxPastMs: 3_600_000 }

describe('history schema', () => {
  it('derives every telemetry field type from the device definitions', () => {
    const expected = {
      bool: 'boolean',
      int: 'integer',
      float: 'float',
      enum: 'string',
      string: 'string',
    } as const
    for (const kind of KIND_IDS) {
      for (const [name, spec] of Object.entries(KINDS[kind].state as Fields)) {
        expect(FIELD_TYPES[kind]![name], `${kind}.${name}`).toBe(expected[spec.type])
      }
    }
    expect(PARAM_TAGS.parking_bay).toEqual(['zone'])
  })

  it('never collapses two readings of one device in the same millisecond, and keeps them in order', () => {
    const mapper = new PointMapper(policy, () => 500)
    const at = 1_700_000_000_123
    const points = [0, 1, 2].map((seq) =>
      mapper.reading({ device, values: { occupied: seq % 2 === 0 }, ts: at, receivedAt: at, seq }),
    )
    expect(points.map((p) => p.ts)).toEqual([
      '1700000000123000500',
      '1700000000123000501',
      '1700000000123000502',
    ])
    expect(points[0]).toMatchObject({
      m: 'parking_bay',
      t: { street: 's1', community: 'c1', estate: 'e1', device_id: 'pb7', zone: 'B1' },
      f: { occupied: true, seq: 0 },
    })
  })

  it("uses the device's clock when plausible and the receive time outside the skew window", () => {
    const mapper = new PointMapper(policy, () => 0)
    const now = 1_700_000_000_000
    const ms = (ts: number) =>
      mapper.reading({ device, values: { occupied: true }, ts, receivedAt: now, seq: undefined }).ts
    expect(ms(now - 1000)).toBe(`${now - 1000}000000`)
    expect(ms(now + 120_000)).toBe(`${now}000000`)
    expect(ms(now - 2 * 3_600_000)).toBe(`${now}000001`)
  })

  it('writes alert transitions with the time to acknowledge and resolve', () => {
    const mapper = new PointMapper(policy, () => 0)
    const alert = {
      id: 'a1',
      type: 'elevator.trapped',
      kind: 'elevator' as const,
      device_id: 'lift1',
      street: 's1',
      community: 'c1',
      estate: 'e1',
      building: null,
      severity: 'critical' as const,
      first_at: 1_000_000,
      occurrences: 2,
    }
    const p = mapper.alert(alert as never, {
      alert_id: 'a1',
      at: 1_090_000,
      action: 'acknowledged',
      actor: 'wang',
      channel: 'http',
      note: null,
    })
    expect(p).toMatchObject({
      m: 'alert_event',
      t: {
        kind: 'elevator',
        type: 'elevator.trapped',
        severity: 'critical',
        estate: 'e1',
        device_id: 'lift1',
      },
      f: { alert_id: 'a1', action: 'acknowledged', actor: 'wang', ack_s: 90, occurrences: 2 },
    })
    expect(typedFields(p)).toContainEqual(['occurrences', 'integer', 2])
  })
})
