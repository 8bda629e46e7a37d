import { describe, expect, it } from 'vitest'
import { device, lift, MIN, rig, S } from './harness.ts'

const button = (params: Record<string, unknown> = { lift: 'lift1' }) =>
  device('sos1', 'sos_button', params, 'e1', '1号楼2号电梯轿厢一键报警')

describe('an SOS button in a lift car: its call shows on the lift (link)', () => {
  it('a press raises sos_button.sos on the button (it pages) and elevator.sos_in_car on the lift, at its floor', () => {
    const l = lift('lift1')
    const b = button()
    const r = rig({ devices: [l, b] })
    r.send(l, { floor: 7 })
    r.event(b, 'pressed', { press: 'short' })
    expect(r.raises('sos_button.sos', 'sos1')[0]).toMatchObject({ severity: 'critical' })
    const [onLift] = r.raises('elevator.sos_in_car', 'lift1')
    expect(onLift).toMatchObject({ severity: 'info', crew: 'property_duty' })
    expect(onLift!.message.zh).toBe('1号楼2号电梯 轿厢内一键报警被按下(7层),求助由一键报警告警跟进')
  })

  it('a cancel press, and a short press on a long-press-only button, are no call for help on the lift either', () => {
    const l = lift('lift1')
    const r = rig({
      devices: [l, button(), { ...button({ lift: 'lift1', long_press_only: true }), id: 'sos2' }],
    })
    r.event(button(), 'pressed', { press: 'cancel' })
    r.event({ ...button({ lift: 'lift1', long_press_only: true }), id: 'sos2' }, 'pressed', {
      press: 'short',
    })
    expect(r.raises('elevator.sos_in_car')).toHaveLength(0)
    expect(r.raises('sos_button.sos')).toHaveLength(0)
  })

  it('a button without a lift, or naming a lift of another estate, shows on no lift', () => {
    const other = lift('lift9', 'e2')
    const r = rig({ devices: [other, button({}), { ...button({ lift: 'lift9' }), id: 'sos3' }] })
    r.event(button({}), 'pressed', {})
    r.event({ ...button({ lift: 'lift9' }), id: 'sos3' }, 'pressed', {})
    expect(r.raises('sos_button.sos')).toHaveLength(2)
    expect(r.raises('elevator.sos_in_car')).toHaveLength(0)
  })

  it('the lift alert clears 30 min after the last press; the SOS itself stays open for a person', () => {
    const l = lift('lift1')
    const b = button()
    const r = rig({ devices: [l, b] })
    r.event(b, 'pressed', {})
    r.advance(30 * MIN - S)
    expect(r.clears('elevator.sos_in_car')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('elevator.sos_in_car')).toHaveLength(1)
    expect(r.isRaised('sos_button.sos')).toBe(true)
  })
})
