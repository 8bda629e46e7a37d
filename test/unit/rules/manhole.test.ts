import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../src/core/clock.ts'
import { device, H, MIN, rig, S } from './harness.ts'

const hole = (params: Record<string, unknown> = { water_limit_cm: 80 }) =>
  device('mh1', 'manhole', params, 'e1', '1号井盖')

function started(values: Record<string, unknown> = { tilt_deg: 0, cover_open: false, water_level_cm: 10 }) {
  const m = hole()
  const r = rig({ devices: [m] })
  r.send(m, values)
  return { r, m }
}

describe('manhole.cover_open', () => {
  it('raises when the tilt stays above 10° for 30 s, not for a vehicle rocking it for 20 s', () => {
    const { r, m } = started()
    r.send(m, { tilt_deg: 15 })
    r.advance(20 * S)
    r.send(m, { tilt_deg: 0 })
    r.advance(MIN)
    expect(r.raises('manhole.cover_open')).toHaveLength(0)
    r.send(m, { tilt_deg: 15 })
    r.advance(30 * S)
    const [raise] = r.raises('manhole.cover_open')
    expect(raise).toMatchObject({ severity: 'critical', latched: true, crew: 'property_duty' })
    expect(raise!.message.zh).toContain('倾角 15°')
  })

  it('does not raise at exactly 10°', () => {
    const { r, m } = started()
    r.send(m, { tilt_deg: 10 })
    r.advance(H)
    expect(r.raises('manhole.cover_open')).toHaveLength(0)
  })

  it('raises at once when the cover switch opens or the tilt passes 90°', () => {
    const a = started()
    a.r.send(a.m, { cover_open: true })
    expect(a.r.raises('manhole.cover_open')).toHaveLength(1)
    const b = started()
    b.r.send(b.m, { tilt_deg: 120 })
    expect(b.r.raises('manhole.cover_open')).toHaveLength(1)
  })

  it('clears its condition only after the tilt is back under 5° for 60 s (7° is not re-seated)', () => {
    const { r, m } = started()
    r.send(m, { tilt_deg: 45 })
    r.advance(30 * S)
    r.send(m, { tilt_deg: 7 })
    r.advance(10 * MIN)
    expect(r.clears('manhole.cover_open')).toHaveLength(0)
    r.send(m, { tilt_deg: 2 })
    r.advance(59 * S)
    expect(r.clears('manhole.cover_open')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('manhole.cover_open')).toHaveLength(1)
  })
})

describe('manhole.cover_loose', () => {
  it('raises after 3 movements in an hour that each recover, and clears after 24 h quiet', () => {
    const { r, m } = started()
    for (let i = 0; i < 3; i++) {
      r.send(m, { tilt_deg: 8 })
      r.advance(5 * S)
      r.send(m, { tilt_deg: 1 })
      r.advance(10 * MIN)
    }
    expect(r.raises('manhole.cover_loose')[0]).toMatchObject({
      severity: 'minor',
      crew: 'property_engineering',
    })
    expect(r.raises('manhole.cover_open')).toHaveLength(0)
    r.advance(24 * H)
    expect(r.clears('manhole.cover_loose')).toHaveLength(1)
  })

  it('does not raise for 2 movements, nor 3 spread over more than an hour', () => {
    const { r, m } = started()
    for (let i = 0; i < 3; i++) {
      r.send(m, { tilt_deg: 8 })
      r.advance(5 * S)
      r.send(m, { tilt_deg: 1 })
      r.advance(40 * MIN)
    }
    expect(r.raises('manhole.cover_loose')).toHaveLength(0)
  })

  it('counts a movement that spans a hub restart (the episode start is rule state)', () => {
    const m = hole()
    const clock = new FakeClock()
    const before = rig({ devices: [m], clock })
    before.send(m, { tilt_deg: 0, cover_open: false })
    for (let i = 0; i < 2; i++) {
      before.send(m, { tilt_deg: 8 })
      clock.advance(5 * S)
      before.send(m, { tilt_deg: 1 })
      clock.advance(MIN)
    }
    before.send(m, { tilt_deg: 8 })
    clock.advance(S)
    const snapshot = before.engine.takeSnapshot({ seen: true })
    before.engine.stop()
    clock.advance(2 * S) // the hub restarts in the middle of the third movement
    const after = rig({ devices: [m], clock, snapshot })
    after.send(m, { tilt_deg: 1 })
    expect(after.raises('manhole.cover_loose')).toHaveLength(1)
  })

  it('does not count vehicles rolling over the cover: spikes shorter than 2 s, however many', () => {
    const { r, m } = started()
    for (let i = 0; i < 20; i++) {
      r.send(m, { tilt_deg: 16 })
      r.advance(S)
      r.send(m, { tilt_deg: 1 })
      r.advance(MIN)
    }
    expect(r.raises('manhole.cover_loose')).toHaveLength(0)
    expect(r.raises('manhole.cover_open')).toHaveLength(0)
  })

  it('raises for a steady 5–10° tilt held 10 min', () => {
    const { r, m } = started()
    r.send(m, { tilt_deg: 7 })
    r.advance(10 * MIN - S)
    expect(r.raises('manhole.cover_loose')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('manhole.cover_loose')).toHaveLength(1)
  })
})

describe('manhole.water_high', () => {
  it('raises when the level stays at the well limit for 30 s, and clears 10 min after it fell 5 cm below', () => {
    const { r, m } = started()
    r.send(m, { water_level_cm: 80 })
    r.advance(30 * S)
    const [raise] = r.raises('manhole.water_high')
    expect(raise!.message.zh).toBe('1号井盖 水位超限:80 cm(上限 80 cm)')
    r.send(m, { water_level_cm: 77 })
    r.advance(20 * MIN)
    expect(r.clears('manhole.water_high')).toHaveLength(0)
    r.send(m, { water_level_cm: 74 })
    r.advance(10 * MIN)
    expect(r.clears('manhole.water_high')).toHaveLength(1)
  })

  it('does not raise just under the limit, and uses limit_cm when the well has no water_limit_cm', () => {
    const { r, m } = started()
    r.send(m, { water_level_cm: 79.9 })
    r.advance(H)
    expect(r.raises('manhole.water_high')).toHaveLength(0)
    const other = hole({})
    const r2 = rig({ devices: [other] })
    r2.send(other, { water_level_cm: 99 })
    r2.advance(H)
    expect(r2.raises('manhole.water_high')).toHaveLength(0)
    r2.send(other, { water_level_cm: 100 })
    r2.advance(30 * S)
    expect(r2.raises('manhole.water_high')).toHaveLength(1)
  })
})

describe('manhole.water_rising (rate of change)', () => {
  it('raises when the level rises 20 cm within 10 min, and clears after 10 min without such a rise', () => {
    const { r, m } = started()
    for (const level of [20, 26, 32]) {
      r.send(m, { water_level_cm: level })
      r.advance(3 * MIN)
    }
    expect(r.raises('manhole.water_rising')).toHaveLength(1)
    expect(r.raises('manhole.water_rising')[0]!.message.zh).toContain('上涨 22 cm')
    r.advance(10 * MIN)
    expect(r.clears('manhole.water_rising')).toHaveLength(1)
  })

  it('does not raise for the same rise spread over an hour', () => {
    const { r, m } = started()
    for (let level = 12; level <= 40; level += 4) {
      r.send(m, { water_level_cm: level })
      r.advance(8 * MIN)
    }
    expect(r.raises('manhole.water_rising')).toHaveLength(0)
  })
})

describe('manhole.low_battery / offline', () => {
  it('raises low_battery under 20 %, not at 20 %, and clears its condition only at 30 % (hysteresis)', () => {
    const { r, m } = started()
    r.send(m, { battery_pct: 20 })
    expect(r.raises('manhole.low_battery')).toHaveLength(0)
    r.send(m, { battery_pct: 15 })
    expect(r.raises('manhole.low_battery')[0]!.latched).toBe(true)
    r.send(m, { battery_pct: 29 })
    expect(r.clears('manhole.low_battery')).toHaveLength(0)
    r.send(m, { battery_pct: 30 })
    expect(r.clears('manhole.low_battery')).toHaveLength(1)
  })

  it('goes offline after 2 × 30 min + 1 h, and a device-announced interval replaces the kind’s', () => {
    const { r, m } = started()
    r.advance(2 * H - S)
    expect(r.raises('manhole.offline')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('manhole.offline')).toHaveLength(1)
    r.engine.info(m, { interval_s: 86_400 })
    expect(r.clears('manhole.offline')).toHaveLength(1)
    r.advance(49 * H - S)
    expect(r.raises('manhole.offline')).toHaveLength(1)
    r.advance(S)
    expect(r.raises('manhole.offline')).toHaveLength(2)
  })
})
