import { describe, expect, it } from 'vitest'
import { device, H, MIN, rig, S } from './harness.ts'

const NORMAL = { gas_lel_pct: 0, alarm_level: 'none', valve: 'open', fan_on: false, fault: false }

function started(params: Record<string, unknown> = {}) {
  const g = device('gas1', 'gas_detector', params, 'e1', '食堂后厨燃气探测器')
  const r = rig({ devices: [g] })
  r.send(g, NORMAL)
  return { r, g }
}

describe('gas_detector.gas_alarm', () => {
  it('raises at once on the device’s low alarm: critical, latched, fire, for fire safety', () => {
    const { r, g } = started()
    r.send(g, { gas_lel_pct: 22, alarm_level: 'low' })
    const [raise] = r.raises('gas_detector.gas_alarm')
    expect(raise).toMatchObject({ severity: 'critical', latched: true, crew: 'fire_safety' })
    expect(raise!.message.zh).toBe(
      '食堂后厨燃气探测器 可燃气体报警(22%LEL):请关阀、开窗通风、禁止明火和开关电器,并到场',
    )
    expect(r.engine.catalog.get('gas_detector.gas_alarm')!.def.fire).toBe(true)
  })

  it('raises on the high alarm of a detector that reports no concentration, without one in the message', () => {
    const g = device('gas2', 'gas_detector', {}, 'e1', '食堂后厨燃气探测器')
    const r = rig({ devices: [g] })
    r.send(g, { alarm_level: 'high' })
    expect(r.raises('gas_detector.gas_alarm')[0]!.message.zh).toBe(
      '食堂后厨燃气探测器 可燃气体报警:请关阀、开窗通风、禁止明火和开关电器,并到场',
    )
  })

  it('raises on a reported 20 %LEL held 10 s without the device’s flag; not at 19.9 %LEL, not for 9 s', () => {
    const { r, g } = started()
    r.send(g, { gas_lel_pct: 19.9 })
    r.advance(H)
    expect(r.raises('gas_detector.gas_alarm')).toHaveLength(0)
    r.send(g, { gas_lel_pct: 20 })
    r.advance(9 * S)
    r.send(g, { gas_lel_pct: 5 })
    r.advance(H)
    expect(r.raises('gas_detector.gas_alarm')).toHaveLength(0)
    r.send(g, { gas_lel_pct: 20 })
    r.advance(10 * S)
    expect(r.raises('gas_detector.gas_alarm')).toHaveLength(1)
  })

  it('takes the detector’s configured set point over the default', () => {
    const { r, g } = started({ low_set_lel_pct: 10 })
    r.send(g, { gas_lel_pct: 12 })
    r.advance(10 * S)
    expect(r.raises('gas_detector.gas_alarm')).toHaveLength(1)
  })

  it('clears its condition 60 s after the gas is gone, and waits for a person', () => {
    const { r, g } = started()
    r.send(g, { gas_lel_pct: 30, alarm_level: 'low' })
    r.send(g, { gas_lel_pct: 2, alarm_level: 'none' })
    r.advance(59 * S)
    expect(r.clears('gas_detector.gas_alarm')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('gas_detector.gas_alarm')[0]!.latched).toBe(true)
  })

  it('is a fire in its estate: a car on the fire passage is blocked_during_fire', () => {
    const g = device('gas1', 'gas_detector', {}, 'e1', '食堂后厨燃气探测器')
    const fp = device('fp1', 'fire_passage', { entrance: false }, 'e1', '消防通道1段')
    const r = rig({ devices: [g, fp] })
    r.send(fp, { occupied: true })
    r.send(g, { alarm_level: 'low' })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(1)
  })
})

describe('gas_detector.linkage_failed', () => {
  it('raises when the valve is still open 30 s into an alarm, not at 29 s, and clears when it closes', () => {
    const { r, g } = started({ has_valve: true })
    r.send(g, { alarm_level: 'low' })
    r.advance(29 * S)
    expect(r.raises('gas_detector.linkage_failed')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('gas_detector.linkage_failed')[0]).toMatchObject({
      severity: 'major',
      crew: 'property_engineering',
    })
    r.send(g, { valve: 'closed' })
    expect(r.clears('gas_detector.linkage_failed')).toHaveLength(1)
  })

  it('does not raise when the valve closed in time, nor for a detector without a valve', () => {
    const a = started({ has_valve: true })
    a.r.send(a.g, { alarm_level: 'high' })
    a.r.advance(5 * S)
    a.r.send(a.g, { valve: 'closed', fan_on: true })
    a.r.advance(MIN)
    expect(a.r.raises('gas_detector.linkage_failed')).toHaveLength(0)
    const b = started()
    b.r.send(b.g, { alarm_level: 'high' })
    b.r.advance(H)
    expect(b.r.raises('gas_detector.linkage_failed')).toHaveLength(0)
  })
})

describe('gas_detector.fault / offline', () => {
  it('raises fault while reported, and clears with it', () => {
    const { r, g } = started()
    r.send(g, { fault: true })
    expect(r.raises('gas_detector.fault')[0]).toMatchObject({ severity: 'warning' })
    expect(r.raises('gas_detector.gas_alarm')).toHaveLength(0)
    r.send(g, { fault: false })
    expect(r.clears('gas_detector.fault')).toHaveLength(1)
  })

  it('goes offline after 2 × 1 h + 30 min without a report, not a second earlier', () => {
    const { r } = started()
    r.advance(2.5 * H - S)
    expect(r.raises('gas_detector.offline')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('gas_detector.offline')).toHaveLength(1)
  })
})
