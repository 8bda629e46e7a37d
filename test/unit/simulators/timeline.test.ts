import { describe, expect, test } from 'vitest'
import { Fleet } from '../../../simulators/fleet.ts'
import type { RecordedMessage } from '../../../simulators/links.ts'
import { findScenario, recordScenario, scenarioStart } from '../../../simulators/scenario-runner.ts'
import { parseDuration } from '../../../simulators/time.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
import { DEMO_ESTATE } from '../../helpers/hub.ts'
import { longestRun, stateAt, timelines } from './timeline-helpers.ts'

const DAY = Date.UTC(2026, 0, 15, 12)

describe('scenario timelines', () => {
  test('are the same message for message when replayed with the same seed, and differ with another seed', async () => {
    const scenario = findScenario('trapped')
    const first = await recordScenario(scenario, { day: DAY })
    const again = await recordScenario(scenario, { day: DAY })
    const other = await recordScenario(scenario, { day: DAY, seed: 99 })
    expect(first.length).toBeGreaterThan(300)
    expect(again).toEqual(first)
    expect(other).not.toEqual(first)
  })

  test('trapped: lift 2 holds a passenger behind closed doors from 10:02:00 until the rescue five minutes later', async () => {
    const scenario = findScenario('trapped')
    const messages = await recordScenario(scenario, { day: DAY })
    const start = scenarioStart(scenario, DAY)
    const lift = timelines(messages).get('elev_b1_2')!
    const trapped = (s: Record<string, unknown>) =>
      s.passenger === true && s.moving === false && s.door === 'closed'
    const trapAt = start + 2 * 60_000
    expect(
      longestRun(
        lift.filter((e) => e.t < trapAt),
        trapped,
        trapAt,
      ),
    ).toBeLessThan(5000)
    for (const offset of [1000, 60_000, 290_000]) expect(trapped(stateAt(lift, trapAt + offset))).toBe(true)
    expect(stateAt(lift, trapAt + 320_000).passenger).toBe(false)
  })

  test('passage-blocked: segment 3 is occupied from 10:01 for twelve minutes without a break', async () => {
    const scenario = findScenario('passage-blocked')
    const messages = await recordScenario(scenario, { day: DAY })
    const start = scenarioStart(scenario, DAY)
    const fp3 = timelines(messages).get('fp_3')!
    const occupied = (s: Record<string, unknown>) => s.occupied === true
    const run = longestRun(fp3, occupied, start + parseDuration(scenario.duration))
    expect(run).toBeGreaterThanOrEqual(12 * 60_000)
    expect(run).toBeLessThan(13 * 60_000)
    expect(stateAt(fp3, start + 14 * 60_000).occupied).toBe(false)
  })

  test('flood: the four low wells overflow their 80 cm limit and the other six stay well below it', async () => {
    const messages = await recordScenario(findScenario('flood'), { day: DAY })
    const lines = timelines(messages)
    const peak = (id: string) => Math.max(...lines.get(id)!.map((e) => Number(e.s.water_level_cm ?? 0)))
    for (const id of ['mh_01', 'mh_02', 'mh_04', 'mh_06']) expect(peak(id)).toBeGreaterThan(80)
    for (const id of ['mh_03', 'mh_05', 'mh_07', 'mh_08', 'mh_09', 'mh_10']) expect(peak(id)).toBeLessThan(40)
  })

  test('gateway outage: fifty bays send nothing for 56 hours (past the 49 h offline window), then come back and report', async () => {
    const scenario = findScenario('gateway-outage')
    const messages = await recordScenario(scenario, { day: DAY })
    const start = scenarioStart(scenario, DAY)
    const from = start + 30_000
    const to = from + 56 * 3_600_000
    const bays = new Set(Array.from({ length: 50 }, (_, i) => `pb_${String(i + 1).padStart(3, '0')}`))
    const deviceOf = (m: RecordedMessage) => m.topic.split('/')[2]!
    const during = messages.filter((m) => m.t > from + 1 && m.t < to - 1)
    expect(during.filter((m) => bays.has(deviceOf(m)))).toEqual([])
    // The other ten bays go on: at least their daily heartbeats.
    expect(during.filter((m) => deviceOf(m) === 'pb_051').length).toBeGreaterThan(0)
    expect(during.every((m) => m.topic.split('/')[1] === 'parking_bay')).toBe(true) // only the bays take part
    const back = messages.filter(
      (m) => m.t >= to && bays.has(deviceOf(m)) && m.topic.endsWith('/availability'),
    )
    expect(new Set(back.map(deviceOf)).size).toBe(50)
  })
})

describe('normal operation (no faults scripted or random)', () => {
  test('gives the rule engine nothing to alert on over a whole simulated day', async () => {
    const messages: RecordedMessage[] = []
    const start = new Date(2026, 0, 15).getTime() // local midnight: day curves run on local time
    const fleet = new Fleet({
      estate: loadEstateFile(DEMO_ESTATE),
      seed: 11,
      start,
      faultRate: 0,
      record: (m) => messages.push(m),
    })
    await fleet.start()
    const end = start + 24 * 3_600_000
    fleet.clock.advanceTo(end)
    await fleet.stop()
    const lines = timelines(messages)
    const params = new Map(fleet.estate.devices.map((d) => [d.id, d.params ?? {}]))
    for (const [id, line] of lines) {
      const kind = fleet.device(id).kind
      const run = (pred: (s: Record<string, unknown>) => boolean) => longestRun(line, pred, end)
      if (kind === 'elevator') {
        const rated = Number(params.get(id)!.rated_speed)
        expect(
          run((s) => s.passenger === true && s.moving === false && s.door === 'closed'),
          id,
        ).toBeLessThan(5000)
        expect(
          run((s) => s.moving === false && s.in_door_zone === false),
          id,
        ).toBe(0)
        expect(
          run((s) => s.moving === true && (s.door === 'open' || s.door === 'opening')),
          id,
        ).toBe(0)
        expect(Math.max(...line.map((e) => Number(e.s.speed ?? 0))), id).toBeLessThanOrEqual(rated)
        expect(
          line.every((e) => e.s.service_mode === 'normal' && e.s.fault_code === 0),
          id,
        ).toBe(true)
      } else if (kind === 'fire_passage') {
        expect(
          run((s) => s.occupied === true),
          id,
        ).toBeLessThan(60_000)
      } else if (kind === 'manhole') {
        expect(
          run((s) => Number(s.tilt_deg) > 10),
          id,
        ).toBeLessThan(2000)
        expect(
          line.some((e) => e.s.cover_open === true || Number(e.s.water_level_cm) >= 80),
          id,
        ).toBe(false)
      } else {
        // parking_bay: never 10 changes within 10 minutes (flapping)
        const changes = line
          .filter((e, i) => i > 0 && e.s.occupied !== line[i - 1]!.s.occupied)
          .map((e) => e.t)
        const burst = changes.some((t, i) => i >= 9 && t - changes[i - 9]! <= 10 * 60_000)
        expect(burst, id).toBe(false)
      }
    }
    // And the estate did live: lifts ran, bays filled in the evening and emptied by mid-morning.
    const bays = [...lines].filter(([id]) => id.startsWith('pb_')).map(([, l]) => l)
    const share = (t: number) => bays.filter((l) => stateAt(l, t).occupied === true).length / bays.length
    expect(share(start + 10.5 * 3_600_000)).toBeLessThan(0.35)
    expect(share(start + 22 * 3_600_000)).toBeGreaterThan(0.7)
    const trips = messages.filter(
      (m) => m.topic.includes('/elevator/') && m.payload.includes('"moving":true'),
    ).length
    expect(trips).toBeGreaterThan(6 * 50)
  })
})
