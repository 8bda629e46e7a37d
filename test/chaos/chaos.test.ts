import { describe, expect, it } from 'vitest'
import { formatReport, runChaos } from './harness.ts'

/**
 * The bounded chaos run (harness.ts): about 75 s of random SIGKILLs against a hub process with
 * rules, dispatch and InfluxDB, then the checks — ~2 min in all. A failure prints its seed; rerun it
 * with `ZHIAN_CHAOS_SEED=<seed> npx vitest run test/chaos`, or soak with `npm run chaos -- --minutes N`.
 */

const seed = Number(process.env.ZHIAN_CHAOS_SEED) || Math.floor(Math.random() * 2 ** 31)

describe('chaos: a hub killed at random moments loses nothing and doubles nothing', () => {
  it(`keeps every acknowledged reading once in InfluxDB and raises every implied alert, work order and notification once (seed ${seed})`, async () => {
    // One block at the end: the kill log, then the figures.
    const lines: string[] = []
    const report = await runChaos({ seed, chaosMs: 75_000, log: (line) => lines.push(line) })
    console.log(`${lines.join('\n')}\n${formatReport(report)}`)
    // The run must have exercised something: kills, traffic, alerts.
    const k = report.kills
    expect(k.startup + k.storm + k.steady + k['after-puback']).toBeGreaterThanOrEqual(4)
    expect(report.readings.acked).toBeGreaterThan(1000)
    expect(report.alerts.expected).toBeGreaterThanOrEqual(12)
    expect(report.problems).toEqual([])
  }, 360_000)
})
