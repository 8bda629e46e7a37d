import { describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import { held, type KindDefinition } from '../../../devices/types.ts'
import type { Device } from '../../../src/core/bus.ts'
import { IDLE_LIFT, MIN, rig, S } from './harness.ts'

/** A fire detector of the test only: its `alarm` raises an alert marked `fire`. */
const detector: KindDefinition = {
  id: 'detector',
  names: { zh: '探测器', en: 'Detector' },
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
const kinds = { ...KINDS, detector }

function at(
  id: string,
  kind: string,
  building: string | undefined,
  params: Record<string, unknown> = {},
): Device {
  return {
    id,
    kind: kind as Device['kind'],
    estate: 'e1',
    building,
    name: `${id}-name`,
    location: undefined,
    params,
    site: { street: 's1', community: 'c1', estate: 'e1', building },
  }
}
const liftIn = (id: string, building: string) =>
  at(id, 'elevator', building, { bottom_floor: -1, top_floor: 18, rated_speed: 1.5 })

describe('fire in a building: elevator.fire_in_service', () => {
  it('raises (critical, fire safety) when a fire alarm in its building lasts 30 s while the lift is in normal service, not at 29 s', () => {
    const l = liftIn('l1', 'b1')
    const sd = at('sd1', 'detector', 'b1')
    const r = rig({ kinds, devices: [l, sd] })
    r.send(l, IDLE_LIFT)
    r.send(sd, { alarm: true })
    r.advance(29 * S)
    expect(r.raises('elevator.fire_in_service')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('elevator.fire_in_service')[0]).toMatchObject({
      subject: 'l1',
      severity: 'critical',
      crew: 'fire_safety',
    })
    expect(r.raises('elevator.fire_in_service')[0]!.message.zh).toContain('请切换到消防返回')
  })

  it('clears when the lift goes to fire return, and never raises for a lift that went in time', () => {
    const l1 = liftIn('l1', 'b1')
    const l2 = liftIn('l2', 'b1')
    const sd = at('sd1', 'detector', 'b1')
    const r = rig({ kinds, devices: [l1, l2, sd] })
    r.send(l1, IDLE_LIFT)
    r.send(l2, IDLE_LIFT)
    r.send(sd, { alarm: true })
    r.advance(10 * S)
    r.send(l2, { service_mode: 'fire_return' })
    r.advance(30 * S)
    expect(r.raises('elevator.fire_in_service', 'l1')).toHaveLength(1)
    expect(r.raises('elevator.fire_in_service', 'l2')).toHaveLength(0)
    r.send(l1, { service_mode: 'fire_return' })
    expect(r.clears('elevator.fire_in_service', 'l1')).toHaveLength(1)
  })

  it('clears when the fire alarm clears', () => {
    const l = liftIn('l1', 'b1')
    const sd = at('sd1', 'detector', 'b1')
    const r = rig({ kinds, devices: [l, sd] })
    r.send(l, IDLE_LIFT)
    r.send(sd, { alarm: true })
    r.advance(MIN)
    r.send(sd, { alarm: false })
    expect(r.clears('elevator.fire_in_service')).toHaveLength(1)
  })

  it('ignores a fire in another building, in no building, and a lift under inspection or out of service', () => {
    const l = liftIn('l1', 'b1')
    const other = at('sd2', 'detector', 'b2')
    const yard = at('sd3', 'detector', undefined)
    const r = rig({ kinds, devices: [l, other, yard] })
    r.send(l, IDLE_LIFT)
    r.send(other, { alarm: true })
    r.send(yard, { alarm: true })
    r.advance(MIN)
    expect(r.raises('elevator.fire_in_service')).toHaveLength(0)

    const l2 = liftIn('l2', 'b2')
    const r2 = rig({ kinds, devices: [l2, other] })
    r2.send(l2, { ...IDLE_LIFT, service_mode: 'inspection' })
    r2.send(other, { alarm: true })
    r2.advance(MIN)
    r2.send(l2, { service_mode: 'out_of_service' })
    r2.advance(MIN)
    expect(r2.raises('elevator.fire_in_service')).toHaveLength(0)
  })

  it('does not take a lift that never said its mode for one in normal service', () => {
    const l = liftIn('l1', 'b1')
    const sd = at('sd1', 'detector', 'b1')
    const r = rig({ kinds, devices: [l, sd] })
    r.send(sd, { alarm: true })
    r.advance(MIN)
    expect(r.raises('elevator.fire_in_service')).toHaveLength(0)
  })

  it('is no fire when a lift goes to fire return (a drill): other lifts of the building stay quiet', () => {
    const l1 = liftIn('l1', 'b1')
    const l2 = liftIn('l2', 'b1')
    const r = rig({ kinds, devices: [l1, l2] })
    r.send(l1, IDLE_LIFT)
    r.send(l2, { ...IDLE_LIFT, service_mode: 'fire_return' })
    r.advance(MIN)
    expect(r.raises('elevator.fire_in_service')).toHaveLength(0)
  })
})

describe('fire_passage.blocked_during_fire: building scope', () => {
  it('takes the fire of its own building, not of another one', () => {
    const fp = at('fp1', 'fire_passage', 'b1')
    const sd2 = at('sd2', 'detector', 'b2')
    const sd1 = at('sd1', 'detector', 'b1')
    const r = rig({ kinds, devices: [fp, sd1, sd2] })
    r.send(fp, { occupied: true })
    r.send(sd2, { alarm: true })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
    r.send(sd1, { alarm: true })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(1)
    r.send(sd1, { alarm: false })
    expect(r.clears('fire_passage.blocked_during_fire')).toHaveLength(1)
  })

  it('takes people on the lane for evacuees, not an obstruction; a car still counts', () => {
    const fp = at('fp1', 'fire_passage', 'b1')
    const sd = at('sd1', 'detector', 'b1')
    const r = rig({ kinds, devices: [fp, sd] })
    r.send(sd, { alarm: true })
    r.send(fp, { occupied: true, object_class: 'person' })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
    r.send(fp, { occupied: true, object_class: 'car' })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(1)
  })

  it('a passage without a building takes a fire anywhere in the estate', () => {
    const fp = at('fp1', 'fire_passage', undefined)
    const sd2 = at('sd2', 'detector', 'b2')
    const r = rig({ kinds, devices: [fp, sd2] })
    r.send(fp, { occupied: true })
    r.send(sd2, { alarm: true })
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(1)
  })

  it('stays on while a second alarm of the building is raised, and clears with the last', () => {
    const fp = at('fp1', 'fire_passage', 'b1')
    const a = at('sd1', 'detector', 'b1')
    const b = at('sd2', 'detector', 'b1')
    const r = rig({ kinds, devices: [fp, a, b] })
    r.send(fp, { occupied: true })
    r.send(a, { alarm: true })
    r.send(b, { alarm: true })
    r.send(a, { alarm: false })
    expect(r.clears('fire_passage.blocked_during_fire')).toHaveLength(0)
    r.send(b, { alarm: false })
    expect(r.clears('fire_passage.blocked_during_fire')).toHaveLength(1)
  })
})

describe('gating of the fire-return hint and the camera alerts', () => {
  const maintenance = (ids: string[]) => ({
    suppression: (d: Device | undefined) => (d && ids.includes(d.id) ? 'maintenance' : undefined),
  })

  it('a lift in maintenance mode records its fire_in_service hint as suppressed; its building fire still counts for the others', () => {
    const l1 = liftIn('l1', 'b1')
    const l2 = liftIn('l2', 'b1')
    const sd = at('sd1', 'detector', 'b1')
    const r = rig({ kinds, devices: [l1, l2, sd], gates: maintenance(['l1']) })
    r.send(l1, IDLE_LIFT)
    r.send(l2, IDLE_LIFT)
    r.send(sd, { alarm: true })
    r.advance(30 * S)
    expect(r.raises('elevator.fire_in_service', 'l1')[0]!.suppressed).toBe('maintenance')
    expect(r.raises('elevator.fire_in_service', 'l2')[0]!.suppressed).toBeNull()
  })

  it('a fire alarm under a gate (a detector in maintenance: a technician testing it) is no evidence of fire, until its gate ends', () => {
    const sd = at('sd1', 'detector', 'b1')
    const fp = at('fp1', 'fire_passage', 'b1')
    let inMaintenance = true
    const gates = {
      suppression: (d: Device | undefined) => (inMaintenance && d?.id === 'sd1' ? 'maintenance' : undefined),
    }
    const r = rig({ kinds, devices: [sd, fp], gates })
    r.send(fp, { occupied: true, object_class: 'car' })
    r.send(sd, { alarm: true })
    expect(r.raises('detector.fire_alarm')[0]!.suppressed).toBe('maintenance')
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(0)
    // Maintenance ends with the alarm still on: now it is a fire.
    inMaintenance = false
    r.engine.regateAll()
    expect(r.signals.filter((s) => s.op === 'unsuppress' && s.alert === 'detector.fire_alarm')).toHaveLength(
      1,
    )
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(1)
  })
})
