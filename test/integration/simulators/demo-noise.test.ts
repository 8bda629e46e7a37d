import { expect, test } from 'vitest'
import { findScenario, recordScenario, scenarioStart } from '../../../simulators/scenario-runner.ts'
import { Hub } from '../../../src/app.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import { DEMO_ESTATE, tempDir, testConfig } from '../../helpers/hub.ts'

/**
 * The demo's first minutes, as a street officer watching the wall screen sees them: the demo
 * scenario's own timeline (its random faults included, same seed) fed through a real hub's ingest,
 * rules and alert store on a clock the test moves — no waiting, no timing.
 */
test('the demo raises nothing critical in its first two minutes; its first emergency is the scripted trapped passenger', async () => {
  const scenario = findScenario('demo')
  const day = Date.UTC(2026, 0, 15, 12)
  const start = scenarioStart(scenario, day)
  const messages = await recordScenario(scenario, { day, duration: '8m' })
  const clock = new FakeClock(start)
  const hub = new Hub(
    testConfig(tempDir('zhian-demo-noise-'), { estateFile: DEMO_ESTATE, journal: { mode: 'off' } }),
    clock,
  )
  await hub.start()
  const raised: { type: string; device: string | null; severity: string; after_s: number }[] = []
  hub.bus.on('alert', ({ alert, entry }) => {
    if (entry.action === 'raised')
      raised.push({
        type: alert.type,
        device: alert.device_id,
        severity: alert.severity,
        after_s: (entry.at - start) / 1000,
      })
  })
  try {
    for (const m of messages) {
      if (m.t > clock.now()) clock.advance(m.t - clock.now())
      hub.ingest.handle(m.topic.split('/')[2]!, { topic: m.topic, payload: Buffer.from(m.payload) }, m.t)
    }
    clock.advance(start + 8 * 60_000 - clock.now())
  } finally {
    await hub.stop()
  }
  const critical = raised.filter((a) => a.severity === 'critical')
  expect(critical.filter((a) => a.after_s < 120)).toEqual([])
  expect(critical.map((a) => `${a.type} ${a.device}`)).toEqual(['elevator.trapped elev_b1_2'])
  // Something happens all the same: the van on the fire passage, a sensor battery running low.
  expect(raised.filter((a) => a.after_s < 120).map((a) => a.type)).toEqual(
    expect.arrayContaining(['fire_passage.occupied', 'manhole.low_battery']),
  )
})
