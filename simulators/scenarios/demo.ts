import type { Scenario } from './types.ts'

/**
 * What `npm run demo` plays: in the first minutes a varied stream of alerts (all rule durations at
 * their defaults, the clock at 1×), then the estate keeps living with random faults.
 * Times are offsets from the start; the expected alert appears after the rule's hold time.
 */
export const demo: Scenario = {
  name: 'demo',
  title: '前新福苑 演示 / Demo: a busy morning at 前新福苑',
  description:
    'A scripted first quarter of an hour that touches every kind — an open manhole, a trapped passenger, ' +
    'cars on the fire passage, a flapping parking sensor, rain flooding four wells, lift faults and mode ' +
    'changes, a full parking zone, low batteries, an elderly resident pressing her SOS button — then random ' +
    'faults at a gentle rate.',
  estate: 'simulators/estates/demo.yaml',
  start: '09:30:00',
  duration: '20m',
  seed: 42,
  faultRate: 0.2,
  expect: [
    'manhole.cover_open',
    'manhole.low_battery',
    'manhole.water_rising',
    'manhole.water_high',
    'manhole.cover_loose',
    'elevator.trapped',
    'elevator.moving_door_open',
    'elevator.overspeed',
    'elevator.mode_change',
    'elevator.power_loss',
    'elevator.alarm_button',
    'sos_button.sos',
    'elevator.stopped_outside_zone',
    'elevator.door_fault',
    'elevator.door_cycling',
    'fire_passage.occupied',
    'fire_passage.blocked',
    'parking_bay.sensor_flapping',
    'parking_bay.low_battery',
    'parking_bay.zone_full',
  ],
  exact: false,
  steps: [
    { at: '+10s', target: 'mh_07', do: 'lift_cover', with: { for: '8m' } },
    { at: '+15s', target: 'mh_03', do: 'battery_low', with: { pct: 7 } },
    { at: '+20s', target: 'elev_b1_2', do: 'trapped', with: { for: '4m' } },
    { at: '+30s', target: 'fp_1', do: 'block', with: { for: '3m', object: 'car' } },
    { at: '+35s', target: 'fp_3', do: 'block', with: { for: '35m', object: 'ebike' } },
    { at: '+40s', target: 'pb_017', do: 'flap', with: { for: '12m', every: '15s' } },
    { at: '+45s', target: 'elev_b2_1', do: 'moving_door_open', with: { for: '20s' } },
    {
      at: '+1m',
      target: ['mh_01', 'mh_02', 'mh_04', 'mh_06'],
      do: 'rain',
      with: { rise_cm_per_min: 15, for: '8m' },
    },
    { at: '+75s', target: 'elev_b2_3', do: 'overspeed', with: { factor: 1.5, for: '4s' } },
    { at: '+90s', target: 'elev_b1_3', do: 'mode', with: { mode: 'fire_return', for: '5m' } },
    { at: '+2m', target: 'elev_b2_2', do: 'power_loss', with: { for: '3m' } },
    { at: '+150s', target: 'elev_b1_1', do: 'alarm_button' },
    { at: '+165s', target: 'pb_042', do: 'battery_low', with: { pct: 5 } },
    { at: '+3m', target: { kind: 'parking_bay', zone: 'ground' }, do: 'occupy', with: { for: '20m' } },
    { at: '+4m', target: 'elev_b2_3', do: 'stopped_outside_zone', with: { for: '3m' } },
    { at: '+5m', target: 'mh_09', do: 'loosen', with: { for: '15m', tilt: 7 } },
    { at: '+6m', target: 'elev_b1_1', do: 'door_fault', with: { for: '3m' } },
    { at: '+7m', target: 'elev_b2_1', do: 'door_cycling', with: { cycles: 7 } },
    // The duty guard gets it at once; not accepted within 2 min, the estate manager (demo routing).
    { at: '+8m', target: 'sos_b1_301', do: 'press', with: { press: 'long' } },
  ],
}
