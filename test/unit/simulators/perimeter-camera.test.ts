import { describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import { Fleet } from '../../../simulators/fleet.ts'
import type { RecordedMessage } from '../../../simulators/links.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
import type { Device } from '../../../src/core/bus.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import { RuleEngine, type RuleSignal } from '../../../src/rules/engine.ts'
import { DEMO_ESTATE } from '../../helpers/hub.ts'

/**
 * The perimeter zones' and AI cameras' simulated life and scripted detections, fed to the real rule
 * engine: nights of birds and heartbeats raise nothing; an intruder, a throw, an e-bike, a parked car
 * and a car on the passage raise exactly their alerts, on the devices they concern.
 */
const MIN = 60_000
const H = 60 * MIN
const IDS = [
  'per_north',
  'per_east',
  'cam_elev_b1_1',
  'cam_b1_facade',
  'cam_east_gate',
  'cam_fp_1',
  'elev_b1_1',
  'fp_1',
]
/** 2026-01-15 20:00 in Asia/Shanghai. */
const START = Date.UTC(2026, 0, 15, 12, 0)

async function play(hours: number, script: (fleet: Fleet) => void): Promise<string[]> {
  const estate = loadEstateFile(DEMO_ESTATE)
  const devices = estate.devices.filter((d) => IDS.includes(d.id))
  const messages: RecordedMessage[] = []
  const fleet = new Fleet({
    estate: { ...estate, devices },
    seed: 5,
    start: START,
    faultRate: 0,
    record: (m) => messages.push(m),
  })
  await fleet.start()
  script(fleet)
  fleet.clock.advance(hours * H)
  await fleet.stop()

  const clock = new FakeClock(START)
  const signals: RuleSignal[] = []
  const engine = new RuleEngine({ clock, kinds: KINDS, overrides: {}, sink: (s) => signals.push(s) })
  const byId = new Map<string, Device>(
    devices.map((d) => {
      const site = { street: 'zhalongkou', community: 'xinfeng', estate: d.estate, building: d.building }
      return [d.id, { ...d, location: d.location, params: d.params ?? {}, site } as unknown as Device]
    }),
  )
  engine.start([...byId.values()])
  for (const m of messages.sort((a, b) => a.t - b.t)) {
    if (m.t > clock.now()) clock.advance(m.t - clock.now())
    const [, , id, suffix] = m.topic.split('/')
    const dev = byId.get(id!)!
    if (suffix === 'state') {
      const { seq: _seq, ts: _ts, ...values } = JSON.parse(m.payload)
      engine.reading(dev, values)
    } else if (suffix === 'event') {
      const { type, data } = JSON.parse(m.payload)
      engine.event(dev, type, data ?? {})
    }
  }
  engine.stop()
  return signals.filter((s) => s.op === 'raise' && !s.retrigger).map((s) => `${s.alert} ${s.subject}`)
}

describe('perimeter zones and AI cameras, simulated', () => {
  it('raise nothing in two nights and days of their normal life (birds on one beam included)', async () => {
    expect(await play(48, () => {})).toEqual([])
  })

  it('a scripted night: a bird, an intruder, a throw, an e-bike, a parked car and a car on the passage', async () => {
    const raised = await play(4, (fleet) => {
      const at = (ms: number, id: string, action: string, args = {}) =>
        fleet.clock.after(ms, () => fleet.act(id, action, args))
      at(3 * H, 'per_north', 'bird') // 23:00: one beam once, no intrusion
      at(3 * H + 10 * MIN, 'per_east', 'intrude', { beams: 2 }) // 23:10
      at(3 * H + 20 * MIN, 'cam_b1_facade', 'throw', { floor: 12 })
      at(3 * H + 21 * MIN, 'cam_elev_b1_1', 'ebike')
      at(3 * H + 22 * MIN, 'cam_east_gate', 'park', { for: '10m', plate: '浙A88888' })
      at(3 * H + 23 * MIN, 'cam_fp_1', 'occupy_passage', { for: '5m', object: 'car' })
      at(30 * MIN, 'per_north', 'intrude', { beams: 3 }) // 20:30: before the arming hours, no intrusion
    })
    expect(raised.sort()).toEqual(
      [
        'perimeter.intrusion per_east',
        'ai_camera.high_altitude_throw cam_b1_facade',
        'elevator.ebike_in_lift elev_b1_1',
        'ai_camera.illegal_parking cam_east_gate',
        'fire_passage.occupied fp_1',
      ].sort(),
    )
  })
})
