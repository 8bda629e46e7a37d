import { describe, expect, test } from 'vitest'
import type { Fleet } from '../../../simulators/fleet.ts'
import { findScenario, scenarioFleetOptions } from '../../../simulators/scenario-runner.ts'
import type { Scenario } from '../../../simulators/scenarios/index.ts'
import { playScenario } from './run-scenario.ts'

/**
 * Raises per `<type> <device>` a scenario's steps declare (`raises`, on each resolved target, once
 * each): the one place a scenario's expected alerts are written.
 */
function expectedRaises(scenario: Scenario, fleet: Fleet): Record<string, number> {
  const out: Record<string, number> = {}
  for (const step of scenario.steps) {
    for (const id of fleet.resolve(step.target)) {
      for (const type of step.raises ?? []) out[`${type} ${id}`] = (out[`${type} ${id}`] ?? 0) + 1
    }
  }
  return out
}

describe.each([
  ['trapped', 30],
  ['passage-blocked', 40],
  ['flood', 90],
  ['rollover', 30],
  ['lift-faults', 30],
  // 57 simulated hours: bays heartbeat daily, so the offline window is 49 h (devices/parking_bay.ts).
  ['gateway-outage', 3000],
])('scenario %s (×%i, rule durations ÷ the same factor)', (name, speed) => {
  test('raises exactly the alerts its steps declare, on those devices, once each, and no others', {
    timeout: 150_000,
  }, async () => {
    const scenario = findScenario(name)
    expect(scenario.exact).toBe(true)
    const { raises, detail, fleet } = await playScenario(name, speed)
    expect(fleet.stats.rejected).toBe(0)
    expect(raises, detail.join('\n')).toEqual(expectedRaises(scenario, fleet))
    expect(new Set(Object.keys(raises).map((k) => k.split(' ')[0]))).toEqual(new Set(scenario.expect))
  })
})

test('the scenarios hold the devices the task names: trapped on elev_b1_2, blocked on fp_3, flood on four wells, 50 bays offline', () => {
  const targets = (name: string) =>
    findScenario(name)
      .steps.filter((s) => s.raises?.length)
      .map((s) => s.target)
  expect(targets('trapped')).toEqual(['elev_b1_2'])
  expect(targets('passage-blocked')).toEqual(['fp_3'])
  expect(targets('flood')).toEqual([['mh_01', 'mh_02', 'mh_04', 'mh_06']])
  expect(targets('gateway-outage')).toEqual([{ kind: 'parking_bay', count: 50 }])
  // One estate's gateway: the street's other lots (天城家园's) live on and are no part of it.
  const outage = scenarioFleetOptions(findScenario('gateway-outage')).estate.devices
  expect(new Set(outage.map((d) => `${d.estate} ${d.kind}`))).toEqual(new Set(['qianxin_fuyuan parking_bay']))
  expect(outage).toHaveLength(60)
})

test('reconnect-storm: 1,000 devices through a real hub lose their connections at once, all come back, nothing refused, no alert', {
  timeout: 300_000,
}, async () => {
  const scenario = findScenario('reconnect-storm')
  // ×3, 3 simulated minutes (the drop at +1m, two minutes after it). Reconnect backoff is wall time, so a
  // faster clock stretches the outage in simulated time: at ×10 a passage vacated during the ~1 s
  // outage is reported up to 10 simulated s late, past the entrance threshold (60 s vs dwells ≤ 45 s).
  const { raises, detail, fleet, hub, atEnd } = await playScenario('reconnect-storm', 3, { duration: '3m' })
  expect(fleet.size).toBe(1000)
  expect(raises, detail.join('\n')).toEqual(expectedRaises(scenario, fleet))
  expect(raises).toEqual({})
  expect(atEnd).toEqual({ fleetConnected: 1000, hubConnections: 1000 })
  // Connected, dropped by the storm, reconnected: two CONNACKs per device, none refused.
  expect(fleet.stats.connects).toBe(2000)
  expect(fleet.stats.rejected).toBe(0)
  const refused = (await hub.hub.metrics.connectRefused.get()).values.reduce((s, v) => s + v.value, 0)
  expect(refused).toBe(0)
  const rejected = (await hub.hub.metrics.messagesRejected.get()).values.reduce((s, v) => s + v.value, 0)
  expect(rejected).toBe(0)
})

test('the demo scenario raises every alert type it promises within its hour (×60)', {
  timeout: 150_000,
}, async () => {
  const scenario = findScenario('demo')
  const { raised } = await playScenario('demo', 60)
  expect(scenario.expect.filter((t) => !raised.has(t))).toEqual([])
  expect(raised.size).toBeGreaterThanOrEqual(scenario.expect.length)
})
