import { expect, test } from 'vitest'
import { findScenario } from '../../../simulators/scenario-runner.ts'
import { playScenario } from './run-scenario.ts'

/**
 * The fire-night scenario through a real hub and real MQTT (×10, rule durations ÷ 10): a kitchen fire
 * in building 1 is one story of exactly these alerts, in this order.
 */
test('fire-night: gas alarm, smoke alarm, the blocked passage, the lifts’ fire-return hint, their fire-return mode — exactly these, in order', {
  timeout: 150_000,
}, async () => {
  const scenario = findScenario('fire-night')
  const { raises, detail, fleet } = await playScenario('fire-night', 10)
  expect(fleet.stats.rejected).toBe(0)
  expect(raises, detail.join('\n')).toEqual({
    'gas_detector.gas_alarm gas_b1_k03': 1,
    'smoke_detector.fire_alarm sd_b1_k03': 1,
    'fire_passage.blocked_during_fire fp_2': 1,
    'elevator.fire_in_service elev_b1_1': 1,
    'elevator.fire_in_service elev_b1_2': 1,
    'elevator.fire_in_service elev_b1_3': 1,
    'elevator.mode_change elev_b1_1': 1,
    'elevator.mode_change elev_b1_2': 1,
    'elevator.mode_change elev_b1_3': 1,
  })
  // The order they reached the console (the hub's alert events), each type where it first appears.
  const order = [...new Set(detail.map((line) => line.split(' ')[0]))]
  expect(order, detail.join('\n')).toEqual([
    'gas_detector.gas_alarm',
    'smoke_detector.fire_alarm',
    'fire_passage.blocked_during_fire',
    'elevator.fire_in_service',
    'elevator.mode_change',
  ])
  expect(scenario.expect).toEqual(order)
  // Every lift's hint comes before its fire-return mode, and building 2's lifts stay out of it.
  for (const lift of ['elev_b1_1', 'elev_b1_2', 'elev_b1_3']) {
    const hint = detail.findIndex((l) => l.startsWith(`elevator.fire_in_service ${lift} `))
    const mode = detail.findIndex((l) => l.startsWith(`elevator.mode_change ${lift} `))
    expect(hint).toBeLessThan(mode)
  }
})
