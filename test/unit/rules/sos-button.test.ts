import { describe, expect, it } from 'vitest'
import { device, H, MIN, rig, S } from './harness.ts'

const button = (params: Record<string, unknown> = {}) =>
  device('sos1', 'sos_button', params, 'e1', '3幢201 独居老人一键报警')

function started(params: Record<string, unknown> = {}) {
  const b = button(params)
  const r = rig({ devices: [b] })
  r.send(b, { battery_pct: 90 })
  return { r, b }
}

describe('sos_button.sos', () => {
  it('raises on a plain press (no data): critical, latched, for the property duty', () => {
    const { r, b } = started()
    r.event(b, 'pressed')
    const [raise] = r.raises('sos_button.sos')
    expect(raise).toMatchObject({ severity: 'critical', latched: true, crew: 'property_duty' })
    expect(raise!.message.zh).toBe('3幢201 独居老人一键报警 一键报警求助,请立即联系住户并到场')
  })

  it('raises on a short and on a long press; a second press while open re-triggers it', () => {
    const { r, b } = started()
    r.event(b, 'pressed', { press: 'short' })
    r.event(b, 'pressed', { press: 'long' })
    const raises = r.raises('sos_button.sos')
    expect(raises.map((s) => s.retrigger)).toEqual([false, true])
  })

  it('a cancel press does not raise it, nor clear an open one: a person resolves it', () => {
    const { r, b } = started()
    r.event(b, 'pressed', { press: 'cancel' })
    expect(r.raises('sos_button.sos')).toHaveLength(0)
    r.event(b, 'pressed', { press: 'short' })
    r.event(b, 'pressed', { press: 'cancel' })
    r.advance(24 * H)
    expect(r.clears('sos_button.sos')).toHaveLength(0)
    expect(r.isRaised('sos_button.sos')).toBe(true)
  })

  it('a button that asks for a long press ignores a short one (public places), not a long one', () => {
    const { r, b } = started({ long_press_only: true })
    r.event(b, 'pressed', { press: 'short' })
    r.event(b, 'pressed')
    expect(r.raises('sos_button.sos')).toHaveLength(0)
    r.event(b, 'pressed', { press: 'long' })
    expect(r.raises('sos_button.sos')).toHaveLength(1)
  })

  it('declares its work-order SLA: accept within 2 min, on site within 10 min', () => {
    const { r } = started()
    expect(r.engine.catalog.get('sos_button.sos')!.def.sla).toEqual({ accept: 2 * MIN, arrive: 10 * MIN })
  })
})

describe('sos_button.cancelled', () => {
  it('shows a cancel press as info, and clears by itself after 10 min without another', () => {
    const { r, b } = started()
    r.event(b, 'pressed', { press: 'cancel' })
    expect(r.raises('sos_button.cancelled')[0]).toMatchObject({ severity: 'info', latched: false })
    r.advance(10 * MIN - S)
    expect(r.clears('sos_button.cancelled')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('sos_button.cancelled')).toHaveLength(1)
  })
})

describe('sos_button.low_battery / offline', () => {
  it('raises low_battery under 20 %, not at 20 %', () => {
    const { r, b } = started()
    r.send(b, { battery_pct: 20 })
    expect(r.raises('sos_button.low_battery')).toHaveLength(0)
    r.send(b, { battery_pct: 12 })
    expect(r.raises('sos_button.low_battery')).toHaveLength(1)
  })

  it('goes offline after 2 × 24 h + 1 h without a heartbeat; a press is a life sign', () => {
    const { r, b } = started()
    r.advance(48 * H)
    r.event(b, 'pressed', { press: 'cancel' })
    r.advance(49 * H - S)
    expect(r.raises('sos_button.offline')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('sos_button.offline')).toHaveLength(1)
  })
})
