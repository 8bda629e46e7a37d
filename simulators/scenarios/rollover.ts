import { raisedBy, type Scenario, type ScenarioStep } from './types.ts'

/** Nothing here raises an alert. */
const steps: ScenarioStep[] = [
  { at: '+1m', target: 'mh_07', do: 'roll_over', with: { count: 30, every: '20s' } },
  { at: '+2m', target: 'mh_01', do: 'roll_over', with: { count: 20, every: '30s' } },
]

export const rollover: Scenario = {
  name: 'rollover',
  title: '车辆碾压井盖 / Vehicles rolling over manholes (must not alert)',
  description:
    'Rush hour on the ramp: 30 vehicles roll over manhole mh_07 and 20 over mh_01, each a one-second tilt ' +
    'spike of 12–35°. Short spikes are vehicles, not an open cover: no alert.',
  estate: 'simulators/estates/demo.yaml',
  start: '08:00:00',
  duration: '15m',
  seed: 7,
  faultRate: 0,
  expect: raisedBy(steps),
  exact: true,
  steps,
}
