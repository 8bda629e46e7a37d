import { describe, expect, it } from 'vitest'
import { device, H, MIN, rig, S } from './harness.ts'

const NORMAL = { pressure_mpa: 0.3, valve_open: false, tilt_deg: 0.5, knocked: false, battery_pct: 90 }

function started(params: Record<string, unknown> = {}) {
  const h = device('fh1', 'fire_hydrant', params, 'e1', '2号楼南侧室外消火栓')
  const r = rig({ devices: [h] })
  r.send(h, NORMAL)
  return { r, h }
}

describe('fire_hydrant.pressure_low', () => {
  it('raises after 15 min under 0.10 MPa (no class: the outdoor-hydrant floor), major; not at 0.10, not for 14 min', () => {
    const { r, h } = started()
    r.send(h, { pressure_mpa: 0.1 })
    r.advance(H)
    r.send(h, { pressure_mpa: 0.08 })
    r.advance(14 * MIN)
    r.send(h, { pressure_mpa: 0.2 })
    r.advance(H)
    expect(r.raises('fire_hydrant.pressure_low')).toHaveLength(0)
    r.send(h, { pressure_mpa: 0.08 })
    r.advance(15 * MIN)
    const [raise] = r.raises('fire_hydrant.pressure_low')
    expect(raise).toMatchObject({ severity: 'major', crew: 'property_engineering', latched: false })
    expect(raise!.message.zh).toBe('2号楼南侧室外消火栓 静水压 0.08 MPa,低于 0.1 MPa(GB 50974)')
  })

  it('is critical when the hydrant is dry (under 0.05 MPa)', () => {
    const { r, h } = started()
    r.send(h, { pressure_mpa: 0.01 })
    r.advance(15 * MIN)
    expect(r.raises('fire_hydrant.pressure_low')[0]!.severity).toBe('critical')
  })

  it('uses the floor of its building class (GB 50974 §5.2.2): 0.08 MPa is enough for a residential one, not for a class-1 public one', () => {
    const home = started({ building_class: 'residential' })
    home.r.send(home.h, { pressure_mpa: 0.08 })
    home.r.advance(H)
    expect(home.r.raises('fire_hydrant.pressure_low')).toHaveLength(0)
    home.r.send(home.h, { pressure_mpa: 0.069 })
    home.r.advance(15 * MIN)
    expect(home.r.raises('fire_hydrant.pressure_low')).toHaveLength(1)
    const tower = started({ building_class: 'public_class1' })
    tower.r.send(tower.h, { pressure_mpa: 0.08 })
    tower.r.advance(15 * MIN)
    expect(tower.r.raises('fire_hydrant.pressure_low')[0]!.message.zh).toContain('低于 0.1 MPa')
  })

  it('takes the design minimum over the class', () => {
    const { r, h } = started({ building_class: 'residential', min_pressure_mpa: 0.2 })
    r.send(h, { pressure_mpa: 0.15 })
    r.advance(15 * MIN)
    expect(r.raises('fire_hydrant.pressure_low')).toHaveLength(1)
  })

  it('does not judge the pressure while the valve is open (water drawn: dynamic pressure)', () => {
    const { r, h } = started()
    r.send(h, { valve_open: true, pressure_mpa: 0.03 })
    r.advance(H)
    expect(r.raises('fire_hydrant.pressure_low')).toHaveLength(0)
  })

  it('clears only 10 min after the pressure is back 0.02 MPa above the floor (0.11 MPa is not enough)', () => {
    const { r, h } = started()
    r.send(h, { pressure_mpa: 0.06 })
    r.advance(15 * MIN)
    r.send(h, { pressure_mpa: 0.11 })
    r.advance(H)
    expect(r.clears('fire_hydrant.pressure_low')).toHaveLength(0)
    r.send(h, { pressure_mpa: 0.12 })
    r.advance(10 * MIN - S)
    expect(r.clears('fire_hydrant.pressure_low')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('fire_hydrant.pressure_low')).toHaveLength(1)
  })
})

describe('fire_hydrant.opened', () => {
  it('raises at once when the valve opens (major, property duty) and clears when it shuts', () => {
    const { r, h } = started()
    r.send(h, { valve_open: true })
    expect(r.raises('fire_hydrant.opened')[0]).toMatchObject({ severity: 'major', crew: 'property_duty' })
    r.send(h, { valve_open: false })
    expect(r.clears('fire_hydrant.opened')).toHaveLength(1)
  })

  it('is suppressed while a fire is reported in the estate (firefighters drawing water)', () => {
    const h = device('fh1', 'fire_hydrant', {}, 'e1', '2号楼南侧室外消火栓')
    const sd = device('sd1', 'smoke_detector', {}, 'e1', '2号楼烟感')
    const r = rig({ devices: [h, sd] })
    r.send(h, NORMAL)
    r.send(sd, { alarm: true })
    r.send(h, { valve_open: true })
    const [raise] = r.raises('fire_hydrant.opened')
    expect(raise!.suppressed).toBe('estate_fire')
  })
})

describe('fire_hydrant.knocked', () => {
  it('raises on a knock or a tilt over 15° (not at 15°), latched; the text leaves out a tilt it does not know', () => {
    const { r, h } = started()
    r.send(h, { tilt_deg: 15 })
    expect(r.raises('fire_hydrant.knocked')).toHaveLength(0)
    r.send(h, { tilt_deg: 16 })
    expect(r.raises('fire_hydrant.knocked')[0]).toMatchObject({ severity: 'major', latched: true })
    const g = device('fh2', 'fire_hydrant', {}, 'e1', '1号楼室外消火栓')
    const r2 = rig({ devices: [g] })
    r2.send(g, { knocked: true })
    expect(r2.raises('fire_hydrant.knocked')[0]!.message.zh).toBe(
      '1号楼室外消火栓 被撞击或倾斜,请检查是否损坏',
    )
  })
})

describe('fire_hydrant.low_battery / offline', () => {
  it('raises low_battery under 20 %', () => {
    const { r, h } = started()
    r.send(h, { battery_pct: 20 })
    expect(r.raises('fire_hydrant.low_battery')).toHaveLength(0)
    r.send(h, { battery_pct: 5 })
    expect(r.raises('fire_hydrant.low_battery')).toHaveLength(1)
  })

  it('goes offline after 2 × 1 h + 1 h without a report', () => {
    const { r } = started()
    r.advance(3 * H - S)
    expect(r.raises('fire_hydrant.offline')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('fire_hydrant.offline')).toHaveLength(1)
  })
})
