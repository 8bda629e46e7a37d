import { describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import type { KindDefinition } from '../../../devices/types.ts'
import { held } from '../../../devices/types.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import { device, H, MIN, rig, S } from './harness.ts'

const passage = (entrance = false, id = 'fp1', estate = 'e1') =>
  device(id, 'fire_passage', { entrance }, estate, '消防通道1段')

describe('fire_passage.occupied', () => {
  it('raises after 3 min of occupancy on a lane segment, not at 2:59', () => {
    const fp = passage()
    const r = rig({ devices: [fp] })
    r.send(fp, { occupied: true, object_class: 'car' })
    r.advance(3 * MIN - S)
    expect(r.raises('fire_passage.occupied')).toHaveLength(0)
    r.advance(S)
    const [raise] = r.raises('fire_passage.occupied')
    expect(raise!.severity).toBe('warning')
    expect(raise!.message.zh).toBe('消防通道1段 被汽车占用 已持续 180 秒')
  })

  it('raises after 60 s at an entrance or turning area', () => {
    const fp = passage(true)
    const r = rig({ devices: [fp] })
    r.send(fp, { occupied: true })
    r.advance(60 * S)
    expect(r.raises('fire_passage.occupied')).toHaveLength(1)
  })

  it('clears only after the segment stays vacant 30 s (hysteresis): a 20 s gap keeps it raised', () => {
    const fp = passage(true)
    const r = rig({ devices: [fp] })
    r.send(fp, { occupied: true })
    r.advance(60 * S)
    r.send(fp, { occupied: false })
    r.advance(20 * S)
    r.send(fp, { occupied: true })
    r.advance(MIN)
    expect(r.clears('fire_passage.occupied')).toHaveLength(0)
    r.send(fp, { occupied: false })
    r.advance(29 * S)
    expect(r.clears('fire_passage.occupied')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('fire_passage.occupied')).toHaveLength(1)
    expect(r.raises('fire_passage.occupied')).toHaveLength(1)
  })
})

describe('fire_passage.blocked', () => {
  it('raises after 10 min without any further message, and clears 60 s after the lane is free', () => {
    const fp = passage()
    const r = rig({ devices: [fp] })
    r.send(fp, { occupied: true, object_class: 'goods' })
    r.advance(10 * MIN - S)
    expect(r.raises('fire_passage.blocked')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('fire_passage.blocked')[0]).toMatchObject({
      severity: 'major',
      crew: 'property_duty',
      latched: false,
    })
    r.send(fp, { occupied: false })
    r.advance(59 * S)
    expect(r.clears('fire_passage.blocked')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('fire_passage.blocked')).toHaveLength(1)
  })

  it('uses the estate override for `for`', () => {
    const fp = passage()
    const r = rig({ devices: [fp], overrides: { e1: { 'fire_passage.blocked': { for: '2s' } } } })
    r.send(fp, { occupied: true })
    r.advance(2 * S)
    expect(r.raises('fire_passage.blocked')).toHaveLength(1)
  })
})

describe('fire_passage.persistent_blockage', () => {
  it('raises after 30 min of continuous blockage, latched', () => {
    const fp = passage()
    const r = rig({ devices: [fp] })
    r.send(fp, { occupied: true })
    r.advance(30 * MIN - S)
    expect(r.raises('fire_passage.persistent_blockage')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('fire_passage.persistent_blockage')[0]).toMatchObject({
      latched: true,
      crew: 'community_grid',
    })
  })

  it('raises on the third blockage within 24 h, not on the second', () => {
    const fp = passage()
    const r = rig({ devices: [fp] })
    const block = () => {
      r.send(fp, { occupied: true })
      r.advance(11 * MIN)
      r.send(fp, { occupied: false })
      r.advance(2 * H)
    }
    block()
    block()
    expect(r.raises('fire_passage.persistent_blockage')).toHaveLength(0)
    block()
    expect(r.raises('fire_passage.persistent_blockage')).toHaveLength(1)
  })

  it('does not count blockages more than 24 h apart', () => {
    const fp = passage()
    const r = rig({ devices: [fp] })
    for (let i = 0; i < 4; i++) {
      r.send(fp, { occupied: true })
      r.advance(11 * MIN)
      r.send(fp, { occupied: false })
      r.advance(13 * H)
    }
    expect(r.raises('fire_passage.persistent_blockage')).toHaveLength(0)
  })
})

/** A smoke detector kind that does not exist yet: the cross-device rule must work with it. */
const smoke: KindDefinition = {
  id: 'smoke',
  names: { zh: '烟感', en: 'Smoke detector' },
  interval_s: 86_400,
  state: { alarm: { type: 'bool', label: { zh: '报警', en: 'Alarm' } } },
  events: {},
  settable: {},
  params: {},
  alerts: {
    fire_alarm: {
      severity: 'critical',
      crew: 'fire_safety',
      latched: false,
      fire: true,
      title: { zh: '火警', en: 'Fire alarm' },
      message: { zh: '{name} 火警', en: '{name} fire alarm' },
      params: {},
      triggers: [held((c) => c.s.alarm === true)],
    },
  },
}

describe('fire_passage.blocked_during_fire (cross-device)', () => {
  const detector = (estate = 'e1') => ({
    ...device(`sd_${estate}`, 'elevator', {}, estate),
    kind: 'smoke' as never,
  })

  it('raises at once when the passage is occupied while an alert marked `fire` is raised in the same estate, and clears when the alarm clears', () => {
    const fp = passage()
    const sd = detector()
    const r = rig({ kinds: { ...KINDS, smoke }, devices: [fp, sd] })
    r.send(fp, { occupied: true })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
    r.send(sd, { alarm: true })
    expect(r.raises('smoke.fire_alarm')).toHaveLength(1)
    expect(r.raises('fire_passage.blocked_during_fire')[0]).toMatchObject({
      severity: 'critical',
      crew: 'fire_safety',
    })
    r.send(sd, { alarm: false })
    expect(r.clears('fire_passage.blocked_during_fire')).toHaveLength(1)
  })

  it('raises when the passage becomes occupied during an alarm, and clears when it is free again', () => {
    const fp = passage()
    const sd = detector()
    const r = rig({ kinds: { ...KINDS, smoke }, devices: [fp, sd] })
    r.send(sd, { alarm: true })
    r.send(fp, { occupied: false })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
    r.send(fp, { occupied: true })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(1)
    r.send(fp, { occupied: false })
    expect(r.clears('fire_passage.blocked_during_fire')).toHaveLength(1)
  })

  it('takes an alert for a fire alarm only when it is marked `fire`, not by its name', () => {
    const fp = passage()
    const sd = detector()
    const unmarked = { ...smoke, alerts: { fire_alarm: { ...smoke.alerts.fire_alarm!, fire: undefined } } }
    const r = rig({ kinds: { ...KINDS, smoke: unmarked }, devices: [fp, sd] })
    r.send(fp, { occupied: true })
    r.send(sd, { alarm: true })
    expect(r.raises('smoke.fire_alarm')).toHaveLength(1)
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
  })

  it('ignores fire alarms in another estate', () => {
    const fp = passage()
    const sd = detector('e2')
    const r = rig({ kinds: { ...KINDS, smoke }, devices: [fp, sd] })
    r.send(fp, { occupied: true })
    r.send(sd, { alarm: true })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
  })
})

describe('fire_passage.low_battery / offline', () => {
  it('raises low_battery under 20 % and clears its condition only at 30 % (hysteresis)', () => {
    const fp = passage()
    const r = rig({ devices: [fp] })
    r.send(fp, { battery_pct: 20 })
    expect(r.raises('fire_passage.low_battery')).toHaveLength(0)
    r.send(fp, { battery_pct: 19 })
    expect(r.raises('fire_passage.low_battery')[0]!.latched).toBe(true)
    r.send(fp, { battery_pct: 25 })
    expect(r.clears('fire_passage.low_battery')).toHaveLength(0)
    r.send(fp, { battery_pct: 30 })
    expect(r.clears('fire_passage.low_battery')).toHaveLength(1)
  })

  it('goes offline after 2 × 300 s + 5 min of silence', () => {
    const fp = passage()
    const r = rig({ devices: [fp] })
    r.advance(15 * MIN - S)
    expect(r.raises('fire_passage.offline')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('fire_passage.offline')).toHaveLength(1)
  })
})

describe('fire_passage.blocked_during_fire: a lift mode is no evidence of fire (real catalogue)', () => {
  const lift = (id: string, estate = 'e1') =>
    device(id, 'elevator', { bottom_floor: -1, top_floor: 18, rated_speed: 1.5 }, estate)

  it('stays quiet when lifts go to fire return or firefighter service (a drill) with no fire alarm anywhere', () => {
    const fp = passage()
    const lifts = [lift('lift1'), lift('lift2'), lift('lift3')]
    const r = rig({ devices: [fp, ...lifts] })
    r.send(fp, { occupied: true })
    for (const l of lifts) r.send(l, { service_mode: 'fire_return' })
    r.event(lifts[0]!, 'fault', { code: 45, active: true })
    r.send(lifts[1]!, { fault_code: 44 })
    r.advance(MIN)
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
  })

  it('keeps the fire fact across a restart: the restored smoke alarm still counts', () => {
    const fp = passage()
    const sd = { ...device('sd1', 'elevator', {}), kind: 'smoke' as never }
    const clock = new FakeClock()
    const before = rig({ kinds: { ...KINDS, smoke }, devices: [fp, sd], clock })
    before.send(sd, { alarm: true })
    const snapshot = before.engine.takeSnapshot({ all: true })
    before.engine.stop()
    const after = rig({ kinds: { ...KINDS, smoke }, devices: [fp, sd], clock, snapshot })
    after.send(fp, { occupied: true })
    expect(after.raises('fire_passage.blocked_during_fire')).toHaveLength(1)
  })
})
