import { raisedBy, type Scenario, type ScenarioStep } from './types.ts'

const B1_LIFTS = ['elev_b1_1', 'elev_b1_2', 'elev_b1_3']

const steps: ScenarioStep[] = [
  {
    at: '02:03:00',
    target: 'gas_b1_k03',
    do: 'set',
    // The detector's low alarm; it closes its shut-off valve and starts the fan as it should.
    with: { gas_lel_pct: 32, alarm_level: 'low', valve: 'closed', fan_on: true },
    raises: ['gas_detector.gas_alarm'],
  },
  {
    at: '02:03:08',
    target: 'sd_b1_k03',
    do: 'set',
    with: { alarm: true, smoke_db_m: 1.6, temperature_c: 46 },
    raises: ['smoke_detector.fire_alarm'],
  },
  {
    // A resident's car stops on the lane beside building 1 (not an entrance) and is moved after 2 min.
    at: '02:03:16',
    target: 'fp_2',
    do: 'block',
    with: { for: '2m', object: 'car' },
    raises: ['fire_passage.blocked_during_fire'],
  },
  {
    // The duty switches building 1's lifts to fire return by hand at 02:04:30. 30 s into the gas alarm
    // (02:03:30) they were still in normal service: each got the fire_in_service hint, which this clears.
    at: '02:04:30',
    target: B1_LIFTS,
    do: 'mode',
    with: { mode: 'fire_return', for: '1h' },
    raises: ['elevator.fire_in_service', 'elevator.mode_change'],
  },
]

export const fireNight: Scenario = {
  name: 'fire-night',
  title: '1号楼301厨房夜间火灾 / A kitchen fire in building 1 at night',
  description:
    'At 02:03 the gas detector in flat 301 of building 1 (gas_b1_k03) alarms, 8 s later the smoke detector ' +
    'in the kitchen corridor (sd_b1_k03); a car stops on fire-passage segment 2 beside building 1 (blocked ' +
    'during a fire); building 1’s lifts, still in normal service 30 s into the alarm, get the fire-return ' +
    'hint until the duty switches them to fire return at 02:04:30. Building 2’s lifts run on: no fire there.',
  estate: 'simulators/estates/demo.yaml',
  kinds: ['elevator', 'fire_passage', 'smoke_detector', 'gas_detector'],
  start: '02:02:00',
  duration: '4m',
  seed: 2,
  faultRate: 0,
  // In the order they are raised: gas, smoke, the passage, the lifts' hint, then their fire-return mode.
  expect: raisedBy(steps),
  exact: true,
  steps,
}
