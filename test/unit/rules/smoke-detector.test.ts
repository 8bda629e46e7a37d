import { describe, expect, it } from 'vitest'
import { device, H, rig, S } from './harness.ts'

const detector = (id = 'sd1', estate = 'e1') => device(id, 'smoke_detector', {}, estate, '1号楼3层楼梯间烟感')
const fp = (estate = 'e1') => device('fp1', 'fire_passage', { entrance: false }, estate, '消防通道1段')
const NORMAL = { alarm: false, test_alarm: false, removed: false, fault: false, battery_pct: 90 }

function started() {
  const sd = detector()
  const r = rig({ devices: [sd] })
  r.send(sd, NORMAL)
  return { r, sd }
}

describe('smoke_detector.fire_alarm', () => {
  it('raises at once on the device’s alarm: critical, latched, for fire safety, with a 1 min / 3 min SLA', () => {
    const { r, sd } = started()
    r.send(sd, { alarm: true, smoke_db_m: 1.8 })
    const [raise] = r.raises('smoke_detector.fire_alarm')
    expect(raise).toMatchObject({ severity: 'critical', latched: true, crew: 'fire_safety' })
    expect(raise!.message.zh).toBe('1号楼3层楼梯间烟感 烟雾报警,请立即到场确认')
    expect(r.engine.catalog.get('smoke_detector.fire_alarm')!.def.sla).toEqual({
      accept: 60_000,
      arrive: 180_000,
    })
  })

  it('does not raise for a self-test alarm (test button), nor for the smoke density alone', () => {
    const { r, sd } = started()
    r.send(sd, { alarm: true, test_alarm: true })
    r.event(sd, 'self_test', { passed: true })
    r.advance(H)
    r.send(sd, { alarm: false, test_alarm: false, smoke_db_m: 3 })
    r.advance(H)
    expect(r.raises('smoke_detector.fire_alarm')).toHaveLength(0)
  })

  it('raises when a test alarm turns into a real one (the test flag drops while the alarm stays)', () => {
    const { r, sd } = started()
    r.send(sd, { alarm: true, test_alarm: true })
    expect(r.raises('smoke_detector.fire_alarm')).toHaveLength(0)
    r.send(sd, { test_alarm: false })
    expect(r.raises('smoke_detector.fire_alarm')).toHaveLength(1)
  })

  it('clears its condition when the smoke is gone but stays for a person to resolve; silencing changes nothing', () => {
    const { r, sd } = started()
    r.send(sd, { alarm: true })
    r.event(sd, 'silenced')
    expect(r.clears('smoke_detector.fire_alarm')).toHaveLength(0)
    r.send(sd, { alarm: false })
    const [clear] = r.clears('smoke_detector.fire_alarm')
    expect(clear!.latched).toBe(true)
  })

  it('is a fire in its estate: a car on the fire passage of that estate is blocked_during_fire, not in another estate', () => {
    const sd = detector()
    const here = fp('e1')
    const there = { ...fp('e2'), id: 'fp2' }
    const r = rig({ devices: [sd, here, there] })
    r.send(here, { occupied: true })
    r.send(there, { occupied: true })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
    r.send(sd, { alarm: true })
    expect(r.raises('fire_passage.blocked_during_fire').map((s) => s.subject)).toEqual(['fp1'])
  })

  it('a test alarm is no fire in the estate either', () => {
    const sd = detector()
    const here = fp('e1')
    const r = rig({ devices: [sd, here] })
    r.send(here, { occupied: true })
    r.send(sd, { alarm: true, test_alarm: true })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
  })
})

describe('smoke_detector.removed / fault', () => {
  it('raises removed at once (major, property duty) and clears when the detector is back on its base', () => {
    const { r, sd } = started()
    r.send(sd, { removed: true })
    expect(r.raises('smoke_detector.removed')[0]).toMatchObject({
      severity: 'major',
      crew: 'property_duty',
      latched: false,
    })
    expect(r.raises('smoke_detector.fire_alarm')).toHaveLength(0)
    r.send(sd, { removed: false })
    expect(r.clears('smoke_detector.removed')).toHaveLength(1)
  })

  it('raises fault while the device reports one, not for a healthy report, and clears with it', () => {
    const { r, sd } = started()
    r.send(sd, NORMAL)
    expect(r.raises('smoke_detector.fault')).toHaveLength(0)
    r.send(sd, { fault: true })
    expect(r.raises('smoke_detector.fault')[0]).toMatchObject({ severity: 'warning', latched: false })
    r.send(sd, { fault: false })
    expect(r.clears('smoke_detector.fault')).toHaveLength(1)
  })
})

describe('smoke_detector.fault on a failed self-test', () => {
  it('raises fault when a self-test fails, not when it passes, and clears after a day without another', () => {
    const { r, sd } = started()
    r.event(sd, 'self_test', { passed: true })
    expect(r.raises('smoke_detector.fault')).toHaveLength(0)
    r.event(sd, 'self_test', { passed: false })
    expect(r.raises('smoke_detector.fault')).toHaveLength(1)
    expect(r.raises('smoke_detector.fire_alarm')).toHaveLength(0)
    r.advance(24 * H - S)
    expect(r.clears('smoke_detector.fault')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('smoke_detector.fault')).toHaveLength(1)
  })
})

describe('smoke_detector.low_battery / offline', () => {
  it('raises low_battery under 20 %, not at 20 %', () => {
    const { r, sd } = started()
    r.send(sd, { battery_pct: 20 })
    expect(r.raises('smoke_detector.low_battery')).toHaveLength(0)
    r.send(sd, { battery_pct: 19 })
    expect(r.raises('smoke_detector.low_battery')).toHaveLength(1)
  })

  it('goes offline after 2 × 24 h + 1 h without a report (daily heartbeat), not a second earlier', () => {
    const { r } = started()
    r.advance(49 * H - S)
    expect(r.raises('smoke_detector.offline')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('smoke_detector.offline')).toHaveLength(1)
  })
})
