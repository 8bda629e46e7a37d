import { describe, expect, it } from 'vitest'
import { device, H, MIN, rig, S } from './harness.ts'

const bay = (id: string, zone = 'ground', estate = 'e1') =>
  device(id, 'parking_bay', { zone }, estate, `${id}车位`)

describe('parking_bay.overstay', () => {
  it('raises after 72 h occupied (a timer longer than setTimeout allows is fine), not at 71 h, and clears on departure', () => {
    const b = bay('pb1')
    const r = rig({ devices: [b] })
    r.send(b, { occupied: true })
    r.advance(71 * H)
    r.send(b, { battery_pct: 80 })
    expect(r.raises('parking_bay.overstay')).toHaveLength(0)
    r.advance(H)
    expect(r.raises('parking_bay.overstay')[0]!.message.zh).toBe('pb1车位 车辆已停放 72 小时(疑似僵尸车)')
    r.send(b, { occupied: false })
    expect(r.clears('parking_bay.overstay')).toHaveLength(1)
  })
})

describe('parking zone aggregates and parking_bay.zone_full', () => {
  it('counts occupied, free and unknown bays per estate and zone', () => {
    const bays = [
      ...Array.from({ length: 20 }, (_, i) => bay(`b${i}`)),
      bay('x1', 'b1'),
      bay('y1', 'ground', 'e2'),
    ]
    const r = rig({ devices: bays })
    for (const b of bays.slice(0, 5)) r.send(b, { occupied: true })
    for (const b of bays.slice(5, 15)) r.send(b, { occupied: false })
    expect(r.engine.zoneAggregates('e1')).toEqual([
      { estate: 'e1', zone: 'b1', total: 1, occupied: 0, free: 0, unknown: 1, percent: 0 },
      { estate: 'e1', zone: 'ground', total: 20, occupied: 5, free: 10, unknown: 5, percent: 25 },
    ])
    expect(r.engine.zoneAggregates().map((z) => `${z.estate}/${z.zone}`)).toEqual([
      'e1/b1',
      'e1/ground',
      'e2/ground',
    ])
  })

  it('raises zone_full at 95 % held 5 min, keeps it at 92.5 % (hysteresis), and clears at 90 %', () => {
    const bays = Array.from({ length: 40 }, (_, i) => bay(`b${i}`))
    const r = rig({ devices: bays })
    for (const b of bays.slice(0, 37)) r.send(b, { occupied: true })
    r.advance(H)
    expect(r.raises('parking_bay.zone_full')).toHaveLength(0)
    r.send(bays[37]!, { occupied: true })
    r.advance(5 * MIN - S)
    expect(r.raises('parking_bay.zone_full')).toHaveLength(0)
    r.advance(S)
    const [raise] = r.raises('parking_bay.zone_full')
    expect(raise).toMatchObject({ subject: 'zone:e1:ground', severity: 'info', device: undefined })
    expect(raise!.message.zh).toBe('ground 车位已满:38/40(95%)')
    r.send(bays[0]!, { occupied: false })
    r.advance(H)
    expect(r.clears('parking_bay.zone_full')).toHaveLength(0)
    r.send(bays[1]!, { occupied: false })
    expect(r.clears('parking_bay.zone_full')).toHaveLength(1)
  })
})

describe('parking_bay.sensor_flapping', () => {
  it('raises after 10 state changes within 10 min, and clears after an hour stable', () => {
    const b = bay('pb1')
    const r = rig({ devices: [b] })
    r.send(b, { occupied: false })
    for (let i = 1; i <= 9; i++) {
      r.send(b, { occupied: i % 2 === 1 })
      r.advance(30 * S)
    }
    expect(r.raises('parking_bay.sensor_flapping')).toHaveLength(0)
    r.send(b, { occupied: false })
    expect(r.raises('parking_bay.sensor_flapping')[0]!.message.zh).toContain('10 分钟内状态变化 10 次')
    r.advance(H - S)
    expect(r.clears('parking_bay.sensor_flapping')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('parking_bay.sensor_flapping')).toHaveLength(1)
  })

  it('does not count repeated reports of the same state', () => {
    const b = bay('pb1')
    const r = rig({ devices: [b] })
    for (let i = 0; i < 30; i++) r.send(b, { occupied: true })
    expect(r.raises('parking_bay.sensor_flapping')).toHaveLength(0)
  })
})

describe('parking_bay.low_battery / offline', () => {
  it('raises low_battery under 20 %, not at 20 %, and clears its condition only at 30 % (hysteresis)', () => {
    const b = bay('pb1')
    const r = rig({ devices: [b] })
    r.send(b, { battery_pct: 20 })
    expect(r.raises('parking_bay.low_battery')).toHaveLength(0)
    r.send(b, { battery_pct: 5 })
    expect(r.raises('parking_bay.low_battery')).toHaveLength(1)
    r.send(b, { battery_pct: 29 })
    expect(r.clears('parking_bay.low_battery')).toHaveLength(0)
    r.send(b, { battery_pct: 30 })
    expect(r.clears('parking_bay.low_battery')).toHaveLength(1)
  })

  it('goes offline after 2 missed daily heartbeats + 1 h (49 h), not after 48 h', () => {
    const b = bay('pb1')
    const r = rig({ devices: [b] })
    r.advance(49 * H - S)
    expect(r.raises('parking_bay.offline')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('parking_bay.offline')).toHaveLength(1)
    r.send(b, { occupied: false })
    expect(r.clears('parking_bay.offline')).toHaveLength(1)
  })
})
