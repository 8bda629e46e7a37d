import { describe, expect, it } from 'vitest'
import { D, IDLE_LIFT, lift, MIN, rig, S } from './harness.ts'

/** Every elevator alert of the catalogue: what raises it, what must not, gating, and its clear. */

function started(values: Record<string, unknown> = {}) {
  const l = lift()
  const r = rig({ devices: [l] })
  r.send(l, { ...IDLE_LIFT, ...values })
  return { r, l }
}

describe('elevator.trapped', () => {
  it('raises 60 s after the car stops at level with a passenger inside and the doors closed, with the floor in the text', () => {
    const { r, l } = started()
    r.send(l, { passenger: true })
    r.advance(60 * S)
    const [raise] = r.raises('elevator.trapped')
    expect(raise).toMatchObject({ severity: 'critical', crew: 'elevator_contractor', latched: true })
    expect(raise!.message.zh).toBe('1号楼2号电梯 7层困人(平层) 已持续 60 秒')
    expect(raise!.values.subtype).toBe('in_zone')
  })

  it('does not raise at 59 s, nor when the doors open before 60 s', () => {
    const { r, l } = started()
    r.send(l, { passenger: true })
    r.advance(59 * S)
    expect(r.raises('elevator.trapped')).toHaveLength(0)
    r.send(l, { door: 'open' })
    r.advance(10 * MIN)
    expect(r.raises('elevator.trapped')).toHaveLength(0)
  })

  it('raises after 30 s when the car stopped between floors', () => {
    const { r, l } = started()
    r.send(l, { passenger: true, in_door_zone: false })
    r.advance(29 * S)
    expect(r.raises('elevator.trapped')).toHaveLength(0)
    r.advance(1 * S)
    expect(r.raises('elevator.trapped')[0]!.message.en).toContain('between floors')
  })

  it('is recorded as suppressed during inspection or fire service modes', () => {
    for (const mode of ['inspection', 'fire_return', 'firefighter']) {
      const { r, l } = started({ service_mode: mode })
      r.send(l, { passenger: true })
      r.advance(60 * S)
      expect(r.raises('elevator.trapped')[0]!.suppressed).toBe(`service_mode:${mode}`)
    }
    const { r, l } = started({ service_mode: 'normal' })
    r.send(l, { passenger: true })
    r.advance(60 * S)
    expect(r.raises('elevator.trapped')[0]!.suppressed).toBeNull()
  })

  it('is suppressed when the mode comes as a code in the state (fault_code 43 inspection, 44 fire return)', () => {
    for (const [code, mode] of [
      [43, 'inspection'],
      [44, 'fire_return'],
      [45, 'firefighter'],
    ] as const) {
      const { r, l } = started({ fault_code: code })
      r.send(l, { passenger: true })
      r.advance(60 * S)
      expect(r.raises('elevator.trapped')[0]!.suppressed, `code ${code}`).toBe(`service_mode:${mode}`)
      expect(r.raises('elevator.mode_change')).toHaveLength(1)
    }
  })

  it('is notified (signal unsuppress) when service goes back to normal with the passenger still trapped', () => {
    const { r, l } = started({ service_mode: 'inspection' })
    r.send(l, { passenger: true })
    r.advance(60 * S)
    expect(r.raises('elevator.trapped')[0]!.suppressed).toBe('service_mode:inspection')
    r.send(l, { service_mode: 'fire_return' })
    expect(r.signals.filter((s) => s.op === 'unsuppress')).toHaveLength(0)
    r.send(l, { service_mode: 'normal' })
    const [un] = r.signals.filter((s) => s.op === 'unsuppress')
    expect(un).toMatchObject({ alert: 'elevator.trapped', suppressed: null, severity: 'critical' })
    expect(un!.message.zh).toBe('1号楼2号电梯 7层困人(平层) 已持续 60 秒')
  })

  it('clears when the doors open (the incident stays open: latched)', () => {
    const { r, l } = started()
    r.send(l, { passenger: true })
    r.advance(60 * S)
    r.send(l, { door: 'open' })
    expect(r.clears('elevator.trapped')).toHaveLength(1)
  })
})

describe('elevator.moving_door_open', () => {
  it('raises after the 5 s confirm window when the car moves outside the door zone with the door open', () => {
    const { r, l } = started()
    r.send(l, { moving: true, door: 'open', in_door_zone: false })
    r.advance(5 * S)
    expect(r.raises('elevator.moving_door_open')).toHaveLength(1)
    expect(r.raises('elevator.moving_door_open')[0]!.latched).toBe(true)
  })

  it('drops a sensor glitch shorter than the confirm window', () => {
    const { r, l } = started()
    r.send(l, { moving: true, door: 'open', in_door_zone: false })
    r.advance(4 * S)
    r.send(l, { moving: false })
    r.advance(MIN)
    expect(r.raises('elevator.moving_door_open')).toHaveLength(0)
  })

  it('raises at once on controller code 5 (UCM) and clears when the code goes', () => {
    const { r, l } = started()
    r.send(l, { fault_code: 5 })
    expect(r.raises('elevator.moving_door_open')).toHaveLength(1)
    r.send(l, { fault_code: 0 })
    expect(r.clears('elevator.moving_door_open')).toHaveLength(1)
  })
})

describe('elevator.overtravel_top / overtravel_bottom', () => {
  it('raises overtravel_top 20 s after the car goes past the top floor going up, not at 19 s', () => {
    const { r, l } = started()
    r.send(l, { floor: 18, direction: 'up', in_door_zone: false, moving: true })
    r.advance(19 * S)
    expect(r.raises('elevator.overtravel_top')).toHaveLength(0)
    r.advance(1 * S)
    expect(r.raises('elevator.overtravel_top')).toHaveLength(1)
    r.send(l, { in_door_zone: true, direction: 'none' })
    expect(r.clears('elevator.overtravel_top')).toHaveLength(1)
  })

  it('does not raise overtravel_top one floor below the top', () => {
    const { r, l } = started()
    r.send(l, { floor: 17, direction: 'up', in_door_zone: false, moving: true })
    r.advance(MIN)
    expect(r.raises('elevator.overtravel_top')).toHaveLength(0)
  })

  it('does not raise overtravel_bottom at 19 s, one floor above the bottom, or going up; clears once level', () => {
    const { r, l } = started()
    r.send(l, { floor: -1, direction: 'down', in_door_zone: false, moving: true })
    r.advance(19 * S)
    expect(r.raises('elevator.overtravel_bottom')).toHaveLength(0)
    r.send(l, { in_door_zone: true, direction: 'none' })
    r.advance(MIN)
    expect(r.raises('elevator.overtravel_bottom')).toHaveLength(0)
    r.send(l, { floor: 0, direction: 'down', in_door_zone: false })
    r.advance(MIN)
    r.send(l, { floor: -1, direction: 'up', in_door_zone: false })
    r.advance(MIN)
    expect(r.raises('elevator.overtravel_bottom')).toHaveLength(0)
    r.send(l, { direction: 'down' })
    r.advance(20 * S)
    expect(r.raises('elevator.overtravel_bottom')).toHaveLength(1)
    r.send(l, { in_door_zone: true, direction: 'none' })
    expect(r.clears('elevator.overtravel_bottom')).toHaveLength(1)
    expect(r.clears('elevator.overtravel_bottom')[0]!.latched).toBe(true)
  })

  it('raises overtravel_bottom below the bottom floor going down, and at once on code 91', () => {
    const { r, l } = started()
    r.send(l, { floor: -1, direction: 'down', in_door_zone: false, moving: true })
    r.advance(20 * S)
    expect(r.raises('elevator.overtravel_bottom')).toHaveLength(1)
    const other = started()
    other.r.send(other.l, { fault_code: 91 })
    expect(other.r.raises('elevator.overtravel_bottom')).toHaveLength(1)
    expect(other.r.raises('elevator.overtravel_top')).toHaveLength(0)
  })
})

describe('elevator.overspeed', () => {
  it('raises when speed stays above 1.2× rated for 3 s, with speeds in the text', () => {
    const { r, l } = started()
    r.send(l, { moving: true, speed: 1.9 })
    r.advance(3 * S)
    const [raise] = r.raises('elevator.overspeed')
    expect(raise!.message.zh).toContain('1.9 m/s')
    expect(raise!.message.zh).toContain('额定 1.5 m/s')
  })

  it('does not raise at exactly 1.2× rated, nor for a 2 s burst', () => {
    const { r, l } = started()
    r.send(l, { moving: true, speed: 1.8 })
    r.advance(MIN)
    r.send(l, { speed: 1.95 })
    r.advance(2 * S)
    r.send(l, { speed: 1.5 })
    r.advance(MIN)
    expect(r.raises('elevator.overspeed')).toHaveLength(0)
  })

  it('raises at once above 1.4× rated and clears once back under 1.2×', () => {
    const { r, l } = started()
    r.send(l, { moving: true, speed: 2.2 })
    expect(r.raises('elevator.overspeed')).toHaveLength(1)
    r.send(l, { speed: 1.0 })
    expect(r.clears('elevator.overspeed')).toHaveLength(1)
  })

  it('stays quiet for a lift without a rated speed', () => {
    const l = { ...lift(), params: {} }
    const r = rig({ devices: [l] })
    r.send(l, { ...IDLE_LIFT, moving: true, speed: 10 })
    r.advance(MIN)
    expect(r.raises('elevator.overspeed')).toHaveLength(0)
  })
})

describe('elevator.stopped_outside_zone', () => {
  it('raises after 45 s stopped outside the door zone with nobody inside, and clears once level', () => {
    const { r, l } = started()
    r.send(l, { in_door_zone: false })
    r.advance(44 * S)
    expect(r.raises('elevator.stopped_outside_zone')).toHaveLength(0)
    r.advance(1 * S)
    expect(r.raises('elevator.stopped_outside_zone')[0]!.severity).toBe('major')
    r.send(l, { in_door_zone: true })
    expect(r.clears('elevator.stopped_outside_zone')).toHaveLength(1)
  })

  it('becomes trapped instead when a passenger is inside', () => {
    const { r, l } = started()
    r.send(l, { in_door_zone: false, passenger: true })
    r.advance(MIN)
    expect(r.raises('elevator.stopped_outside_zone')).toHaveLength(0)
    expect(r.raises('elevator.trapped')).toHaveLength(1)
  })

  it('raises at once on controller code 4 and is suppressed during inspection', () => {
    const { r, l } = started({ service_mode: 'inspection' })
    r.send(l, { fault_code: 4 })
    expect(r.raises('elevator.stopped_outside_zone')[0]!.suppressed).toBe('service_mode:inspection')
  })
})

describe('elevator.safety_circuit_open / restart_blocked (GB/T 24476-2017 codes 1, 6, 7, 8)', () => {
  it('maps code 1 to safety_circuit_open and codes 6–8 to restart_blocked, latched', () => {
    const { r, l } = started()
    r.send(l, { fault_code: 1 })
    expect(r.raises('elevator.safety_circuit_open')[0]!.latched).toBe(true)
    for (const code of [6, 7, 8]) {
      const x = started()
      x.r.send(x.l, { fault_code: code })
      expect(x.r.raises('elevator.restart_blocked')[0]!.message.zh).toContain(`代码 ${code}`)
    }
  })

  it('folds fault begin/end events into the fault code', () => {
    const { r, l } = started()
    r.event(l, 'fault', { code: 7, active: true })
    expect(r.raises('elevator.restart_blocked')).toHaveLength(1)
    r.event(l, 'fault', { code: 7, active: false })
    expect(r.clears('elevator.restart_blocked')).toHaveLength(1)
    expect(r.engine.stateOf('lift1')?.fault_code).toBe(0)
  })

  it('keeps every begun fault active until its own end event: code 1 then 7, 7 ends, 1 still holds', () => {
    const { r, l } = started()
    r.event(l, 'fault', { code: 1, active: true })
    r.event(l, 'fault', { code: 7, active: true })
    expect(r.raises('elevator.safety_circuit_open')).toHaveLength(1)
    expect(r.raises('elevator.restart_blocked')).toHaveLength(1)
    r.event(l, 'fault', { code: 7, active: false })
    expect(r.clears('elevator.restart_blocked')).toHaveLength(1)
    expect(r.clears('elevator.safety_circuit_open')).toHaveLength(0)
    expect(r.engine.stateOf('lift1')?.fault_code).toBe(1)
    r.event(l, 'fault', { code: 1, active: false })
    expect(r.clears('elevator.safety_circuit_open')).toHaveLength(1)
    expect(r.engine.stateOf('lift1')?.fault_code).toBe(0)
  })

  it('ends every begun fault when the state reports fault_code 0 (an end event was lost)', () => {
    const { r, l } = started()
    r.event(l, 'fault', { code: 1, active: true })
    r.event(l, 'fault', { code: 7, active: true })
    r.send(l, { fault_code: 7 })
    expect(r.clears('elevator.safety_circuit_open')).toHaveLength(0)
    r.send(l, { fault_code: 0 })
    expect(r.clears('elevator.safety_circuit_open')).toHaveLength(1)
    expect(r.clears('elevator.restart_blocked')).toHaveLength(1)
  })

  it('raises nothing for code 0 or an unknown code', () => {
    const { r, l } = started()
    r.send(l, { fault_code: 0 })
    r.send(l, { fault_code: 9 })
    r.advance(MIN)
    expect(r.signals).toHaveLength(0)
  })
})

describe('elevator.door_fault', () => {
  it('raises at once on codes 2 and 3, and when the door stays open 120 s while stopped', () => {
    for (const code of [2, 3]) {
      const { r, l } = started()
      r.send(l, { fault_code: code })
      expect(r.raises('elevator.door_fault')).toHaveLength(1)
    }
    const { r, l } = started()
    r.send(l, { door: 'open' })
    r.advance(119 * S)
    expect(r.raises('elevator.door_fault')).toHaveLength(0)
    r.advance(1 * S)
    expect(r.raises('elevator.door_fault')[0]!.severity).toBe('minor')
    r.send(l, { door: 'closed' })
    expect(r.clears('elevator.door_fault')).toHaveLength(1)
  })
})

describe('elevator.door_cycling', () => {
  const cycle = (r: ReturnType<typeof started>['r'], l: ReturnType<typeof started>['l'], n: number) => {
    for (let i = 0; i < n; i++) {
      r.send(l, { door: 'open' })
      r.advance(5 * S)
      r.send(l, { door: 'closed' })
      r.advance(5 * S)
    }
  }

  it('raises after 5 open/close cycles without a trip, and clears on the next trip', () => {
    const { r, l } = started()
    cycle(r, l, 4)
    expect(r.raises('elevator.door_cycling')).toHaveLength(0)
    cycle(r, l, 1)
    const [raise] = r.raises('elevator.door_cycling')
    expect(raise!.crew).toBe('property_duty')
    expect(raise!.message.zh).toContain('5 次')
    r.send(l, { moving: true })
    expect(r.clears('elevator.door_cycling')).toHaveLength(1)
  })

  it('does not count a lift in normal service opening its doors at landing after landing', () => {
    const { r, l } = started()
    for (let floor = 1; floor <= 12; floor++) {
      r.send(l, { moving: true, door: 'closed', floor })
      r.advance(10 * S)
      r.send(l, { moving: false, in_door_zone: true, floor: floor + 1 })
      r.send(l, { door: 'open' })
      r.advance(5 * S)
      r.send(l, { door: 'closed' })
      r.advance(5 * S)
    }
    expect(r.raises('elevator.door_cycling')).toHaveLength(0)
  })

  it('does not count cycles spread wider than the window', () => {
    const { r, l } = started()
    for (let i = 0; i < 6; i++) {
      r.send(l, { door: 'open' })
      r.send(l, { door: 'closed' })
      r.advance(3 * MIN)
    }
    expect(r.raises('elevator.door_cycling')).toHaveLength(0)
  })
})

describe('elevator.power_loss', () => {
  it('raises on battery power, critical with a passenger inside, and clears back on mains', () => {
    const { r, l } = started()
    r.send(l, { power_source: 'battery' })
    expect(r.raises('elevator.power_loss')[0]!.severity).toBe('major')
    r.send(l, { power_source: 'mains' })
    expect(r.clears('elevator.power_loss')).toHaveLength(1)
    const other = started({ passenger: true })
    other.r.event(other.l, 'fault', { code: 41, active: true })
    expect(other.r.raises('elevator.power_loss')[0]!.severity).toBe('critical')
  })
})

describe('elevator.alarm_button', () => {
  it('raises on the alarm-button event or code 90; a repeat press is a re-trigger of the same alert', () => {
    const { r, l } = started()
    r.event(l, 'alarm_button')
    r.send(l, { fault_code: 90 })
    const raises = r.raises('elevator.alarm_button')
    expect(raises.map((s) => s.retrigger)).toEqual([false, true])
    expect(raises[0]).toMatchObject({ severity: 'critical', latched: true })
  })

  it('raises nothing without a press', () => {
    const { r, l } = started()
    r.event(l, 'fault', { code: 2, active: true })
    expect(r.raises('elevator.alarm_button')).toHaveLength(0)
  })
})

describe('elevator.mode_change', () => {
  it('raises info on inspection, major on fire modes (codes 43–45), and clears on code 40 / normal', () => {
    const { r, l } = started()
    r.event(l, 'fault', { code: 43, active: true })
    const [inspection] = r.raises('elevator.mode_change')
    expect(inspection!.severity).toBe('info')
    expect(inspection!.message.zh).toBe('1号楼2号电梯 进入检修模式')
    r.event(l, 'fault', { code: 40, active: true })
    expect(r.clears('elevator.mode_change')).toHaveLength(1)
    r.send(l, { service_mode: 'fire_return' })
    expect(r.raises('elevator.mode_change')[1]!.severity).toBe('major')
  })

  it('re-triggers on a change between non-normal modes, with the new mode in the text and its severity', () => {
    const { r, l } = started()
    r.send(l, { service_mode: 'inspection' })
    r.send(l, { service_mode: 'inspection' })
    expect(r.raises('elevator.mode_change')).toHaveLength(1)
    r.send(l, { service_mode: 'fire_return' })
    const [, fire] = r.raises('elevator.mode_change')
    expect(fire).toMatchObject({ retrigger: true, changed: true, severity: 'major' })
    expect(fire!.message.en).toBe('1号楼2号电梯 entered fire return mode')
    r.event(l, 'fault', { code: 46, active: true })
    const [, , power] = r.raises('elevator.mode_change')
    expect(power).toMatchObject({ retrigger: true, changed: true, severity: 'info' })
    expect(power!.message.zh).toBe('1号楼2号电梯 进入应急电源运行模式')
    expect(r.clears('elevator.mode_change')).toHaveLength(0)
  })

  it('stays quiet in normal service', () => {
    const { r, l } = started()
    r.send(l, { service_mode: 'normal', fault_code: 0 })
    expect(r.raises('elevator.mode_change')).toHaveLength(0)
  })
})

describe('elevator.frequent_faults', () => {
  it('raises on the third fault alert within 30 days, not on two, and not when spread over more than 30 days', () => {
    const { r, l } = started()
    const fault = () => {
      r.send(l, { fault_code: 1 })
      r.send(l, { fault_code: 0 })
      r.engine.resolved('lift1', 'elevator.safety_circuit_open')
    }
    fault()
    r.advance(10 * D)
    fault()
    r.advance(21 * D)
    fault()
    expect(r.raises('elevator.frequent_faults')).toHaveLength(0)
    r.advance(5 * D)
    fault()
    const [raise] = r.raises('elevator.frequent_faults')
    expect(raise).toMatchObject({ severity: 'major', latched: true, crew: 'community_grid' })
    expect(raise!.message.zh).toContain('30 天内故障 3 次')
  })

  it('does not count faults raised while suppressed (inspection)', () => {
    const { r, l } = started({ service_mode: 'inspection' })
    for (let i = 0; i < 4; i++) {
      r.send(l, { fault_code: 4 })
      r.send(l, { fault_code: 0 })
    }
    expect(r.raises('elevator.frequent_faults')).toHaveLength(0)
  })
})

describe('elevator.offline', () => {
  it('raises after 3 missed 60 s heartbeats plus 30 s grace, and clears on the next message', () => {
    const { r, l } = started()
    r.advance(3 * MIN + 29 * S)
    expect(r.raises('elevator.offline')).toHaveLength(0)
    r.advance(1 * S)
    expect(r.raises('elevator.offline')[0]).toMatchObject({
      severity: 'warning',
      crew: 'property_engineering',
    })
    r.send(l, { floor: 3 })
    expect(r.clears('elevator.offline')).toHaveLength(1)
  })
})

describe('GB/T 24476-2017 code mapping', () => {
  const MAP: [number, string][] = [
    [1, 'elevator.safety_circuit_open'],
    [2, 'elevator.door_fault'],
    [3, 'elevator.door_fault'],
    [4, 'elevator.stopped_outside_zone'],
    [5, 'elevator.moving_door_open'],
    [6, 'elevator.restart_blocked'],
    [7, 'elevator.restart_blocked'],
    [8, 'elevator.restart_blocked'],
    [41, 'elevator.power_loss'],
    [42, 'elevator.mode_change'],
    [43, 'elevator.mode_change'],
    [44, 'elevator.mode_change'],
    [45, 'elevator.mode_change'],
    [46, 'elevator.mode_change'],
    [47, 'elevator.mode_change'],
    [90, 'elevator.alarm_button'],
  ]

  it('raises the mapped alert, and only that one, for every code sent as a fault event', () => {
    for (const [code, alert] of MAP) {
      const { r, l } = started()
      r.event(l, 'fault', { code, active: true })
      expect(
        r.signals.map((s) => s.alert),
        `code ${code}`,
      ).toEqual([alert])
    }
  })

  it('raises the same alerts for codes reported in the state’s fault_code', () => {
    for (const [code, alert] of MAP) {
      const { r, l } = started()
      r.send(l, { fault_code: code })
      expect(r.raises(alert).length, `code ${code}`).toBe(1)
    }
  })

  it('ends a mode with code 40 (back to normal service)', () => {
    const { r, l } = started()
    r.event(l, 'fault', { code: 45, active: true })
    r.event(l, 'fault', { code: 40, active: true })
    expect(r.clears('elevator.mode_change')).toHaveLength(1)
    expect(r.engine.stateOf('lift1')?.service_mode).toBe('normal')
  })
})
