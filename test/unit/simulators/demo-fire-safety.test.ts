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
 * The demo estate's fire-safety and help devices (smoke, gas, electrical fire, hydrants, one-key
 * alarms): where a property manager would expect them, and quiet — three simulated days of their
 * healthy life, fed to the real rule engine, raise nothing.
 */
const KINDS_HERE = ['smoke_detector', 'gas_detector', 'electrical_fire', 'fire_hydrant', 'sos_button']
const DAY = 86_400_000

describe('the demo estate’s fire-safety and help devices', () => {
  const estate = loadEstateFile(DEMO_ESTATE)
  const mine = estate.devices.filter((d) => d.estate === 'qianxin_fuyuan' && KINDS_HERE.includes(d.kind))

  it('cover each building’s stairwells, the boiler room and canteen, the distribution rooms and the e-bike shed, the hydrants, residents and lift cars', () => {
    const of = (kind: string) => mine.filter((d) => d.kind === kind)
    for (const b of ['qxfy_b1', 'qxfy_b2'])
      expect(
        of('smoke_detector').filter((d) => d.building === b && (d.name ?? '').includes('楼梯间')).length,
      ).toBeGreaterThanOrEqual(3)
    expect(of('gas_detector').map((d) => d.name)).toEqual([
      '1号楼301厨房燃气探测器',
      '锅炉房燃气探测器',
      '食堂后厨燃气探测器',
    ])
    expect(of('electrical_fire').some((d) => (d.name ?? '').includes('电动车充电棚'))).toBe(true)
    expect(of('fire_hydrant').every((d) => typeof d.params?.building_class === 'string')).toBe(true)
    const lifts = of('sos_button')
      .map((d) => d.params?.lift)
      .filter(Boolean)
    expect(lifts).toEqual(['elev_b1_1', 'elev_b2_1'])
    for (const lift of lifts)
      expect(estate.devices.some((d) => d.id === lift && d.kind === 'elevator')).toBe(true)
  })

  it('raise nothing in three simulated days of healthy life', async () => {
    const start = new Date(2026, 0, 15).getTime()
    const messages: RecordedMessage[] = []
    const fleet = new Fleet({
      estate: { ...estate, devices: mine },
      seed: 11,
      start,
      faultRate: 0,
      record: (m) => messages.push(m),
    })
    await fleet.start()
    fleet.clock.advance(3 * DAY)
    await fleet.stop()

    const clock = new FakeClock(start)
    const signals: RuleSignal[] = []
    const engine = new RuleEngine({ clock, kinds: KINDS, overrides: {}, sink: (s) => signals.push(s) })
    const devices = new Map<string, Device>(
      mine.map((d) => {
        const site = { street: 'zhalongkou', community: 'xinfeng', estate: d.estate, building: d.building }
        const dev = { ...d, location: d.location, params: d.params ?? {}, site } as unknown as Device
        return [d.id, dev]
      }),
    )
    engine.start([...devices.values()])
    let readings = 0
    for (const m of messages.sort((a, b) => a.t - b.t)) {
      if (m.t > clock.now()) clock.advance(m.t - clock.now())
      const [, , id, suffix] = m.topic.split('/')
      const dev = devices.get(id!)!
      if (suffix === 'state') {
        const { seq: _seq, ts: _ts, ...values } = JSON.parse(m.payload)
        engine.reading(dev, values)
        readings++
      } else if (suffix === 'event') {
        const { type, data } = JSON.parse(m.payload)
        engine.event(dev, type, data ?? {})
      }
    }
    engine.stop()
    expect(readings).toBeGreaterThan(mine.length)
    expect(signals.filter((s) => s.op === 'raise').map((s) => `${s.alert} ${s.subject}`)).toEqual([])
  })
})
