import { raisedBy, type Scenario, type ScenarioStep } from './types.ts'

const steps: ScenarioStep[] = [
  {
    at: '+30s',
    target: { kind: 'parking_bay', count: 50 },
    do: 'silence',
    with: { for: '56h' },
    raises: ['parking_bay.offline'],
  },
]

export const gatewayOutage: Scenario = {
  name: 'gateway-outage',
  title: '网关故障 50个车位失联 / Gateway outage: 50 bays go silent',
  description:
    "At 09:00:30 the LoRa gateway of 前新福苑's parking lots dies: 50 of its 60 bays (the ground lot and " +
    'most of B1) lose their connection without ' +
    'a goodbye (the broker publishes their "offline" wills) and stay silent for 56 hours — geomagnetic bays ' +
    'send one heartbeat a day, so the hub can only call them offline after two missed ones plus grace ' +
    "(49 h) — then come back and report their state. Only 前新福苑's parking bays take part: the street's " +
    "other lots are another gateway's, and 57 hours of their ordinary life would fill a zone now and then.",
  estate: 'simulators/estates/demo.yaml',
  start: '09:00:00',
  kinds: ['parking_bay'],
  estates: ['qianxin_fuyuan'],
  duration: '57h',
  seed: 5,
  faultRate: 0,
  expect: raisedBy(steps),
  exact: true,
  steps,
}
