import { raisedBy, type Scenario, type ScenarioStep } from './types.ts'

const steps: ScenarioStep[] = [
  {
    at: '14:00:00',
    target: ['mh_01', 'mh_02', 'mh_04', 'mh_06'],
    do: 'rain',
    with: { rise_cm_per_min: 5, for: '30m' },
    raises: ['manhole.water_rising', 'manhole.water_high'],
  },
]

export const flood: Scenario = {
  name: 'flood',
  title: '暴雨积水 / Flood: water rising in 4 manholes',
  description:
    'A downpour from 14:00: the water in four low-lying wells (mh_01, mh_02, mh_04, mh_06) rises about ' +
    '5 cm a minute for 30 minutes, well past their 80 cm limit, then drains. The other six stay dry.',
  estate: 'simulators/estates/demo.yaml',
  start: '14:00:00',
  duration: '60m',
  seed: 4,
  faultRate: 0,
  expect: raisedBy(steps),
  exact: true,
  steps,
}
