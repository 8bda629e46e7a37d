import { describe, expect, it } from 'vitest'
import { device, H, MIN, rig, S } from './harness.ts'

const NORMAL = {
  residual_ma: 60,
  temp1_c: 30,
  temp2_c: 29,
  temp3_c: 28,
  temp4_c: 27,
  current_a: 15,
  tripped: false,
  fault: false,
}

function started(params: Record<string, unknown> = {}) {
  const ef = device('ef1', 'electrical_fire', params, 'e1', '电动车充电棚配电箱')
  const fp = device('fp1', 'fire_passage', { entrance: false }, 'e1', '消防通道1段')
  const r = rig({ devices: [ef, fp] })
  r.send(ef, NORMAL)
  return { r, ef, fp }
}

describe('electrical_fire.residual_current', () => {
  it('raises at 300 mA held 10 s (major, property engineering), not for a 9 s inrush spike, not at 299 mA', () => {
    const { r, ef } = started()
    r.send(ef, { residual_ma: 900 })
    r.advance(9 * S)
    r.send(ef, { residual_ma: 60 })
    r.advance(H)
    r.send(ef, { residual_ma: 299 })
    r.advance(H)
    expect(r.raises('electrical_fire.residual_current')).toHaveLength(0)
    r.send(ef, { residual_ma: 300 })
    r.advance(10 * S)
    const [raise] = r.raises('electrical_fire.residual_current')
    expect(raise).toMatchObject({ severity: 'major', crew: 'property_engineering', latched: false })
    expect(raise!.message.zh).toBe('电动车充电棚配电箱 剩余电流 300 mA(设定 300 mA),请检查线路绝缘')
  })

  it('is critical from 500 mA', () => {
    const { r, ef } = started()
    r.send(ef, { residual_ma: 520 })
    r.advance(10 * S)
    expect(r.raises('electrical_fire.residual_current')[0]!.severity).toBe('critical')
  })

  it('takes the detector’s configured set value (GB 14287.2 range 20–1000 mA)', () => {
    const { r, ef } = started({ residual_set_ma: 100 })
    r.send(ef, { residual_ma: 99 })
    r.advance(H)
    expect(r.raises('electrical_fire.residual_current')).toHaveLength(0)
    r.send(ef, { residual_ma: 100 })
    r.advance(10 * S)
    expect(r.raises('electrical_fire.residual_current')).toHaveLength(1)
  })

  it('clears 60 s after the leak falls under the set value', () => {
    const { r, ef } = started()
    r.send(ef, { residual_ma: 350 })
    r.advance(10 * S)
    r.send(ef, { residual_ma: 120 })
    r.advance(59 * S)
    expect(r.clears('electrical_fire.residual_current')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('electrical_fire.residual_current')).toHaveLength(1)
  })

  it('is no fire in the estate: a car on the fire passage stays an ordinary occupation', () => {
    const { r, ef, fp } = started()
    r.send(fp, { occupied: true })
    r.send(ef, { residual_ma: 800, temp1_c: 120 })
    r.advance(MIN)
    expect(r.raises('electrical_fire.residual_current')).toHaveLength(1)
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
  })
})

describe('electrical_fire.overtemp', () => {
  it('raises when any channel holds 70 °C for 30 s, naming the hottest; not at 69.9 °C, not for 29 s', () => {
    const { r, ef } = started()
    r.send(ef, { temp3_c: 69.9 })
    r.advance(H)
    r.send(ef, { temp3_c: 75 })
    r.advance(29 * S)
    r.send(ef, { temp3_c: 40 })
    r.advance(H)
    expect(r.raises('electrical_fire.overtemp')).toHaveLength(0)
    r.send(ef, { temp3_c: 72, temp4_c: 71 })
    r.advance(30 * S)
    const [raise] = r.raises('electrical_fire.overtemp')
    expect(raise!.message.zh).toBe('电动车充电棚配电箱 温度 72°C(设定 70°C),请检查接头是否松动或过载')
  })

  it('takes the configured set value, and clears 5 min after every channel is under it', () => {
    const { r, ef } = started({ temp_set_c: 55 })
    r.send(ef, { temp1_c: 56 })
    r.advance(30 * S)
    expect(r.raises('electrical_fire.overtemp')).toHaveLength(1)
    r.send(ef, { temp1_c: 50 })
    r.advance(5 * MIN - S)
    expect(r.clears('electrical_fire.overtemp')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('electrical_fire.overtemp')).toHaveLength(1)
  })
})

describe('electrical_fire.tripped / fault / offline', () => {
  it('raises tripped at once and clears when the breaker is back on', () => {
    const { r, ef } = started()
    r.send(ef, { tripped: true, current_a: 0 })
    expect(r.raises('electrical_fire.tripped')[0]).toMatchObject({ severity: 'major' })
    r.send(ef, { tripped: false })
    expect(r.clears('electrical_fire.tripped')).toHaveLength(1)
  })

  it('raises fault while reported', () => {
    const { r, ef } = started()
    r.send(ef, NORMAL)
    expect(r.raises('electrical_fire.fault')).toHaveLength(0)
    r.send(ef, { fault: true })
    expect(r.raises('electrical_fire.fault')).toHaveLength(1)
  })

  it('goes offline after 3 × 5 min + 5 min without a report, not a second earlier', () => {
    const { r } = started()
    r.advance(20 * MIN - S)
    expect(r.raises('electrical_fire.offline')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('electrical_fire.offline')).toHaveLength(1)
  })
})
