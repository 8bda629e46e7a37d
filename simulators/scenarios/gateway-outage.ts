import type { Scenario } from './types.ts'

export const gatewayOutage: Scenario = {
  name: 'gateway-outage',
  title: '网关故障 50个车位失联 / Gateway outage: 50 bays go silent',
  description:
    'At 09:00:30 the LoRa gateway of the parking lots dies: 50 parking bays lose their connection without ' +
    'a goodbye (the broker publishes their "offline" wills) and stay silent for 4 hours, longer than two ' +
    'heartbeat intervals plus grace, then come back and report their state.',
  estate: 'simulators/estates/demo.yaml',
  start: '09:00:00',
  duration: '4h30m',
  seed: 5,
  faultRate: 0,
  expect: ['parking_bay.offline'],
  exact: true,
  steps: [{ at: '+30s', target: { kind: 'parking_bay', count: 50 }, do: 'silence', with: { for: '4h' } }],
}
