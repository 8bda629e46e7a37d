import { raisedBy, type Scenario, type ScenarioStep } from './types.ts'

const steps: ScenarioStep[] = [
  {
    at: '10:01:00',
    target: 'fp_3',
    do: 'block',
    with: { for: '12m', object: 'car' },
    raises: ['fire_passage.occupied', 'fire_passage.blocked'],
  },
]

export const passageBlocked: Scenario = {
  name: 'passage-blocked',
  title: '消防通道3段 占用12分钟 / Fire passage segment 3 blocked for 12 minutes',
  description:
    'A car parks on fire-passage segment 3 (fp_3, not an entrance) at 10:01:00 and leaves at 10:13:00: ' +
    '"occupied" after 3 minutes, "blocked" after 10. Other segments only see short stops.',
  estate: 'simulators/estates/demo.yaml',
  start: '10:00:00',
  duration: '16m',
  seed: 3,
  faultRate: 0,
  expect: raisedBy(steps),
  exact: true,
  steps,
}
