import { raisedBy, type Scenario, type ScenarioStep } from './types.ts'

const steps: ScenarioStep[] = [
  { at: '+1m', target: 'elev_b1_1', do: 'trapped', with: { for: '3m' }, raises: ['elevator.trapped'] },
  {
    at: '+1m',
    target: 'elev_b1_2',
    do: 'trapped',
    with: { for: '3m', between_floors: true },
    raises: ['elevator.trapped'],
  },
  {
    at: '+1m',
    target: 'elev_b1_3',
    do: 'moving_door_open',
    with: { for: '20s' },
    raises: ['elevator.moving_door_open'],
  },
  {
    at: '+1m',
    target: 'elev_b2_1',
    do: 'overspeed',
    with: { factor: 1.5, for: '10s' },
    raises: ['elevator.overspeed'],
  },
  {
    at: '+1m',
    target: 'elev_b2_2',
    do: 'overtravel_top',
    with: { for: '60s' },
    raises: ['elevator.overtravel_top'],
  },
  {
    at: '+1m',
    target: 'elev_b2_3',
    do: 'overtravel_bottom',
    with: { for: '60s' },
    raises: ['elevator.overtravel_bottom'],
  },
  {
    at: '+6m',
    target: 'elev_b1_3',
    do: 'stopped_outside_zone',
    with: { for: '2m' },
    raises: ['elevator.stopped_outside_zone'],
  },
  { at: '+6m', target: 'elev_b2_1', do: 'door_fault', with: { for: '4m' }, raises: ['elevator.door_fault'] },
  {
    at: '+6m',
    target: 'elev_b2_2',
    do: 'door_cycling',
    with: { cycles: 7 },
    raises: ['elevator.door_cycling'],
  },
  { at: '+6m', target: 'elev_b2_3', do: 'power_loss', with: { for: '2m' }, raises: ['elevator.power_loss'] },
  {
    at: '+12m',
    target: 'elev_b1_1',
    do: 'mode',
    with: { mode: 'inspection', for: '5m' },
    raises: ['elevator.mode_change'],
  },
  { at: '+12m', target: 'elev_b1_2', do: 'alarm_button', raises: ['elevator.alarm_button'] },
]

export const liftFaults: Scenario = {
  name: 'lift-faults',
  title: '电梯故障巡礼 / Every elevator fault, one after another',
  description:
    'The six demo lifts go through the sensor-derived faults of domain-catalog §1.3/§1.5, spaced so each ' +
    'lift finishes one before the next begins: trapped at level and between floors, moving with the door ' +
    'open, overspeed, overtravel top and bottom, stopped outside the door zone, a door stuck open, door ' +
    'cycling, power loss, inspection mode, the alarm button.',
  estate: 'simulators/estates/demo.yaml',
  start: '13:00:00',
  duration: '20m',
  seed: 8,
  faultRate: 0,
  expect: raisedBy(steps),
  exact: true,
  steps,
}
