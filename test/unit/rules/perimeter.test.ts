import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../src/core/clock.ts'
import { device, H, MIN, rig, S } from './harness.ts'

/** 2026-03-02 00:00 in Asia/Shanghai (UTC+8). */
const MIDNIGHT = Date.UTC(2026, 2, 1, 16, 0)
const zone = (params: Record<string, unknown> = {}) =>
  device('per1', 'perimeter', params, 'e1', '北围墙1防区')
/** An engine whose clock reads `hours` past local midnight. */
const at = (hours: number, params: Record<string, unknown> = {}) => {
  const z = zone(params)
  const r = rig({ devices: [z], clock: new FakeClock(MIDNIGHT + hours * H) })
  return { r, z }
}

describe('perimeter.intrusion', () => {
  it('raises (critical, latched) on two different beams within 60 s while armed at night, not on one', () => {
    const { r, z } = at(23)
    r.send(z, { armed: true })
    r.event(z, 'trigger', { beam: 'B1' })
    expect(r.raises('perimeter.intrusion')).toHaveLength(0)
    r.advance(30 * S)
    r.event(z, 'trigger', { beam: 'B2' })
    expect(r.raises('perimeter.intrusion')[0]).toMatchObject({
      severity: 'critical',
      latched: true,
      crew: 'property_duty',
    })
    expect(r.raises('perimeter.intrusion')[0]!.message.zh).toBe(
      '北围墙1防区 周界入侵报警(2 次触发),请保安立即到场核实',
    )
  })

  it('takes one beam twice for a bird: raises only at the third trigger within 60 s', () => {
    const { r, z } = at(2)
    r.send(z, { armed: true })
    r.event(z, 'trigger', { beam: 'B1' })
    r.advance(10 * S)
    r.event(z, 'trigger', { beam: 'B1' })
    expect(r.raises('perimeter.intrusion')).toHaveLength(0)
    r.advance(10 * S)
    r.event(z, 'trigger', { beam: 'B1' })
    expect(r.raises('perimeter.intrusion')).toHaveLength(1)
  })

  it('does not raise for two beams 60 s apart (just outside the window)', () => {
    const { r, z } = at(1)
    r.send(z, { armed: true })
    r.event(z, 'trigger', { beam: 'B1' })
    r.advance(60 * S)
    r.event(z, 'trigger', { beam: 'B2' })
    expect(r.raises('perimeter.intrusion')).toHaveLength(0)
  })

  it('counts nothing while disarmed', () => {
    const { r, z } = at(23)
    r.send(z, { armed: false })
    for (const beam of ['B1', 'B2', 'B3', 'B1']) r.event(z, 'trigger', { beam })
    expect(r.raises('perimeter.intrusion')).toHaveLength(0)
    // Armed again: the earlier triggers do not count.
    r.send(z, { armed: true })
    r.event(z, 'trigger', { beam: 'B1' })
    expect(r.raises('perimeter.intrusion')).toHaveLength(0)
  })

  it('counts nothing outside the arming hours (21:59 and 06:00), and raises at 22:00 and 05:59', () => {
    for (const [hours, raises] of [
      [21 + 59 / 60, 0],
      [6, 0],
      [22, 1],
      [5 + 59 / 60, 1],
    ] as const) {
      const { r, z } = at(hours)
      r.send(z, { armed: true })
      r.event(z, 'trigger', { beam: 'B1' })
      r.event(z, 'trigger', { beam: 'B2' })
      expect(r.raises('perimeter.intrusion'), `at ${hours} h`).toHaveLength(raises)
    }
  })

  it("takes the zone's own arming hours and the estate's override", () => {
    const own = at(12, { arm_schedule: '08:00-18:00' })
    own.r.send(own.z, { armed: true })
    own.r.event(own.z, 'trigger', { beam: 'B1' })
    own.r.event(own.z, 'trigger', { beam: 'B2' })
    expect(own.r.raises('perimeter.intrusion')).toHaveLength(1)

    const z = zone()
    const r = rig({
      devices: [z],
      clock: new FakeClock(MIDNIGHT + 23 * H),
      overrides: { e1: { 'perimeter.intrusion': { arm_schedule: '00:00-05:00' } } },
    })
    r.send(z, { armed: true })
    r.event(z, 'trigger', { beam: 'B1' })
    r.event(z, 'trigger', { beam: 'B2' })
    expect(r.raises('perimeter.intrusion')).toHaveLength(0)
  })

  it('stays open after the triggers stop until a person resolves it (latched), then alerts anew', () => {
    const { r, z } = at(23)
    r.send(z, { armed: true })
    r.event(z, 'trigger', { beam: 'B1' })
    r.event(z, 'trigger', { beam: 'B2' })
    r.advance(10 * MIN)
    expect(r.clears('perimeter.intrusion')).toHaveLength(1)
    r.engine.resolved('per1', 'perimeter.intrusion')
    r.event(z, 'trigger', { beam: 'B3' })
    expect(r.raises('perimeter.intrusion')).toHaveLength(1)
    r.event(z, 'trigger', { beam: 'B4' })
    expect(r.raises('perimeter.intrusion')).toHaveLength(2)
  })
})

describe('perimeter.tamper / fence_fault', () => {
  it('raises tamper at once, armed or not', () => {
    const { r, z } = at(12)
    r.send(z, { armed: false, tamper: false })
    expect(r.raises('perimeter.tamper')).toHaveLength(0)
    r.send(z, { tamper: true })
    expect(r.raises('perimeter.tamper')[0]).toMatchObject({ severity: 'major', latched: true })
    r.send(z, { tamper: false })
    expect(r.clears('perimeter.tamper')).toHaveLength(1)
  })

  it('raises a fence fault after 2 min, not at 1:59, and clears after 1 min without it', () => {
    const { r, z } = at(12)
    r.send(z, { fence_fault: true })
    r.advance(2 * MIN - S)
    expect(r.raises('perimeter.fence_fault')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('perimeter.fence_fault')[0]).toMatchObject({ severity: 'minor', latched: false })
    r.send(z, { fence_fault: false })
    r.advance(MIN - S)
    expect(r.clears('perimeter.fence_fault')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('perimeter.fence_fault')).toHaveLength(1)
  })

  it('is gated by maintenance like any alert: a silenced zone records its tamper as suppressed', () => {
    const { r, z } = (() => {
      const z = zone()
      const r = rig({
        devices: [z],
        clock: new FakeClock(MIDNIGHT),
        gates: {
          suppression: (d, _e, alert) =>
            d?.id === 'per1' && alert === 'perimeter.tamper' ? 'maintenance' : undefined,
        },
      })
      return { r, z }
    })()
    r.send(z, { tamper: true })
    expect(r.raises('perimeter.tamper')[0]!.suppressed).toBe('maintenance')
  })
})
