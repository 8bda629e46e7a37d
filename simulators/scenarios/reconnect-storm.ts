import { raisedBy, type Scenario, type ScenarioStep } from './types.ts'

/** Nothing here raises an alert. */
const steps: ScenarioStep[] = [{ at: '+1m', target: '*', do: 'drop' }]

export const reconnectStorm: Scenario = {
  name: 'reconnect-storm',
  title: '重连风暴 1000台设备同时重连 / Reconnect storm: 1,000 devices reconnect at once',
  description:
    'A 1,000-device fleet (the demo estate plus 920 synthesised devices: start the hub with ' +
    '`zhian simulate --generate-estate 1000 > storm.yaml`) loses every connection at once at +1m ' +
    '(a broker-side network blip) and reconnects with jittered backoff. No device is gone long enough ' +
    'to count as offline, so it should raise no alert at all.',
  estate: 'simulators/estates/demo.yaml',
  devices: 1000,
  start: '11:00:00',
  duration: '5m',
  seed: 6,
  faultRate: 0,
  expect: raisedBy(steps),
  exact: true,
  steps,
}
