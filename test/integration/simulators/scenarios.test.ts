import { describe, expect, test } from 'vitest'
import { findScenario } from '../../../simulators/scenario-runner.ts'
import { playScenario } from './run-scenario.ts'

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
      return !(scenario.expect as string[]).includes(type)
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
