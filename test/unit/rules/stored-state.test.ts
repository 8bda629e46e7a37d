import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../src/core/clock.ts'
import type { RuleSnapshot } from '../../../src/rules/engine.ts'
import type { TriggerData } from '../../../src/rules/state.ts'
import { D, device, MIN, rig } from './harness.ts'

/**
 * Rule state as the engine wrote it before each primitive's state machine got its own file (rows of
 * `rule_triggers` and `rule_devices`, taken from that version at minute 6 of the scenario below):
 * a hub upgraded with such state in its store must carry on exactly where it stopped.
 *
 * Minute 0: fp1 occupied, lifts l1 and l2 report, mh1 at 10 cm and level, bays pb1 and pb2 of zone z
 * occupied. Minute 1: l1's door cycles twice and its alarm button is pressed. Minute 6: mh1 at 40 cm
 * and tilted 7°, pb2 free, l1 reports.
 */
const T0 = Date.UTC(2026, 0, 1)
const STORED_TRIGGERS: [subject: string, alert: string, idx: number, state: string][] = [
  [
    'l1',
    'elevator.door_cycling',
    0,
    '{"phase":0,"since":0,"mark":1767225660000,"hits":[1767225660000,1767225660000]}',
  ],
  ['l1', 'elevator.alarm_button', 0, '{"phase":2,"since":1767225660000,"mark":0}'],
  ['l2', 'elevator.offline', 0, '{"phase":2,"since":1767225600000,"mark":0}'],
  ['fp1', 'fire_passage.occupied', 0, '{"phase":2,"since":1767225600000,"mark":0}'],
  ['fp1', 'fire_passage.blocked', 0, '{"phase":1,"since":1767225600000,"mark":0}'],
  ['fp1', 'fire_passage.persistent_blockage', 0, '{"phase":1,"since":1767225600000,"mark":0}'],
  ['mh1', 'manhole.cover_loose', 0, '{"phase":0,"since":0,"mark":0,"episodeSince":1767225960000}'],
  ['mh1', 'manhole.cover_loose', 1, '{"phase":1,"since":1767225960000,"mark":0}'],
  [
    'mh1',
    'manhole.water_rising',
    0,
    '{"phase":2,"since":1767225960000,"mark":1767225960000,"samples":[[1767225600000,10],[1767225960000,40]]}',
  ],
  ['pb1', 'parking_bay.overstay', 0, '{"phase":1,"since":1767225600000,"mark":0}'],
  [
    'pb2',
    'parking_bay.sensor_flapping',
    0,
    '{"phase":0,"since":0,"mark":1767225960000,"hits":[1767225960000]}',
  ],
  ['zone:e1:z', 'parking_bay.zone_full', 0, '{"phase":3,"since":1767225600000,"mark":1767225960000}'],
]
const STORED_DEVICES: [id: string, lastSeen: number, values: Record<string, unknown>][] = [
  ['l1', 1767225960000, { floor: 3, door: 'closed', moving: false }],
  ['l2', 1767225600000, { floor: 1 }],
  ['fp1', 1767225600000, { occupied: true }],
  ['mh1', 1767225960000, { water_level_cm: 40, tilt_deg: 7 }],
  ['pb1', 1767225600000, { occupied: true }],
  ['pb2', 1767225960000, { occupied: false }],
]

const key = (subject: string, alert: string, idx: number) => `${subject}\u0000${alert}\u0000${idx}`

/** A fresh copy each time: the engine takes what it restores out of the snapshot. */
function stored(): RuleSnapshot {
  return {
    devices: new Map(
      STORED_DEVICES.map(([id, last_seen, values]) => [id, { last_seen, interval_s: undefined, values }]),
    ),
    triggers: new Map(
      STORED_TRIGGERS.map(([s, a, i, state]) => [key(s, a, i), JSON.parse(state) as TriggerData]),
    ),
  }
}

const lift = (id: string) => device(id, 'elevator', { top_floor: 10, bottom_floor: -1 })
const DEVICES = [
  lift('l1'),
  lift('l2'),
  device('fp1', 'fire_passage'),
  device('mh1', 'manhole'),
  device('pb1', 'parking_bay', { zone: 'z' }),
  device('pb2', 'parking_bay', { zone: 'z' }),
]
const OVERRIDES = { e1: { 'parking_bay.zone_full': { clear_for: '2m' } } }

function restarted() {
  const clock = new FakeClock(T0 + 6 * MIN)
  return { clock, r: rig({ devices: DEVICES, clock, snapshot: stored(), overrides: OVERRIDES }) }
}

describe('rule state stored by the previous version', () => {
  it('loads unchanged: held, event, count, rate, zone and offline state read back as stored', () => {
    const { r } = restarted()
    const snap = r.engine.takeSnapshot({ all: true })
    const back = [...snap.triggers].filter(([, v]) => v !== null)
    expect(Object.fromEntries(back)).toEqual(Object.fromEntries(stored().triggers))
    expect(r.engine.stateOf('mh1')).toEqual({ water_level_cm: 40, tilt_deg: 7 })
    expect(r.engine.zoneAggregates('e1')).toMatchObject([{ zone: 'z', total: 2, occupied: 1 }])
  })

  it('runs every stored timer on from its stored times, as the previous version did', () => {
    const { clock, r } = restarted()
    clock.advance(30 * MIN)
    r.send(DEVICES[1]!, { floor: 2 })
    clock.advance(D)
    const seen = r.signals.map((s) => `${s.op} ${s.alert} ${s.subject} +${(s.at - T0) / 1000}s`)
    expect(seen).toEqual([
      // clearing since minute 6, clear_for 2 min
      'clear parking_bay.zone_full zone:e1:z +480s',
      // l1 last seen at minute 6: 3 × 60 s + 30 s later
      'raise elevator.offline l1 +570s',
      // pending since minute 0, for 10 min: the stored deadline, not 10 min after the restart
      'raise fire_passage.blocked fp1 +600s',
      // the steady tilt pending since minute 6 (10 min); the rise of minute 6 quiet for 10 min
      'raise manhole.cover_loose mh1 +960s',
      'clear manhole.water_rising mh1 +960s',
      // last seen at minute 0, but a full window (2 × 300 s + 5 min) from the restart at minute 6
      'raise fire_passage.offline fp1 +1260s',
      'raise fire_passage.persistent_blockage fp1 +1800s',
      // stored as raised: l2's message clears it, and its silence raises it again
      'clear elevator.offline l2 +2160s',
      'raise elevator.offline l2 +2370s',
      'raise manhole.offline mh1 +7560s',
    ])
  })
})
