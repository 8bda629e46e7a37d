import { raisedBy, type Scenario, type ScenarioStep } from './types.ts'

const steps: ScenarioStep[] = [
  { at: '10:02:00', target: 'elev_b1_2', do: 'trapped', with: { for: '5m' }, raises: ['elevator.trapped'] },
]

export const trapped: Scenario = {
  name: 'trapped',
  title: '2号电梯 10:02 困人 / Lift 2 traps a passenger at 10:02:00',
  description:
    'Building 1, lift 2 (elev_b1_2) stops level at a landing at 10:02:00 with a passenger inside and the doors ' +
    'shut; the rescue opens the doors five minutes later. Everything else runs normally.',
  estate: 'simulators/estates/demo.yaml',
  start: '10:00:00',
  duration: '10m',
  seed: 2,
  faultRate: 0,
  expect: raisedBy(steps),
  exact: true,
  steps,
}
