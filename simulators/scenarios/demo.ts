import type { Scenario } from './types.ts'

/**
 * What `npm run demo` plays: an ordinary hour of the street told at 1× — a van on a fire passage, a
 * sensor battery running low, a flapping bay, then the trapped passenger at 2½ minutes, the one
 * emergency of the first minutes, and the rest of the hour's incidents a few minutes apart, in
 * every estate of the street. Random faults after that are rare (≈ one an hour over the street): a
 * wall screen full of red in the first minutes tells nobody anything. Times are offsets from the
 * start; each alert appears after its rule's hold time. `raises` says what each step raises.
 */
export const demo: Scenario = {
  name: 'demo',
  title: '闸弄口街道 演示 / Demo: an ordinary hour on the street',
  description:
    'A scripted hour: cars and e-bikes on fire passages, low batteries, a flapping bay, a trapped passenger ' +
    'at 2½ minutes, rain filling four wells, door faults in the old estate, a planned inspection, a lifted ' +
    'cover, an elderly resident pressing her SOS button, a full car park, then rare random faults.',
  estate: 'simulators/estates/demo.yaml',
  start: '09:30:00',
  duration: '60m',
  seed: 42,
  faultRate: 0.005,
  expect: [
    'fire_passage.occupied',
    'manhole.low_battery',
    'parking_bay.sensor_flapping',
    'elevator.trapped',
    'elevator.door_fault',
    'manhole.water_rising',
    'manhole.water_high',
    'elevator.stopped_outside_zone',
    'fire_passage.blocked',
    'manhole.cover_open',
    'elevator.mode_change',
    'sos_button.sos',
    'parking_bay.low_battery',
    'manhole.cover_loose',
    'elevator.door_cycling',
    'parking_bay.zone_full',
    'elevator.moving_door_open',
    'elevator.power_loss',
    'elevator.overspeed',
    'elevator.alarm_button',
  ],
  exact: false,
  steps: [
    // The first minutes: small things, nothing critical.
    {
      at: '+20s',
      target: 'fp_1',
      do: 'block',
      with: { for: '3m', object: 'car' },
      raises: ['fire_passage.occupied'],
    },
    { at: '+45s', target: 'mh_03', do: 'battery_low', with: { pct: 7 }, raises: ['manhole.low_battery'] },
    {
      at: '+70s',
      target: 'pb_017',
      do: 'flap',
      with: { for: '12m', every: '15s' },
      raises: ['parking_bay.sensor_flapping'],
    },
    // The emergency: a passenger trapped in 1号楼2号电梯.
    { at: '+150s', target: 'elev_b1_2', do: 'trapped', with: { for: '6m' }, raises: ['elevator.trapped'] },
    // The old estate's retrofitted lifts: a door that will not close.
    {
      at: '+5m',
      target: 'hpxc_el_3_1',
      do: 'door_fault',
      with: { for: '4m' },
      raises: ['elevator.door_fault'],
    },
    {
      at: '+7m',
      target: ['mh_01', 'mh_02', 'mh_04', 'mh_06'],
      do: 'rain',
      with: { rise_cm_per_min: 15, for: '8m' },
      raises: ['manhole.water_rising', 'manhole.water_high'],
    },
    {
      at: '+10m',
      target: 'hpxc_el_5_2',
      do: 'stopped_outside_zone',
      with: { for: '3m' },
      raises: ['elevator.stopped_outside_zone'],
    },
    {
      at: '+13m',
      target: 'tcjy_fp_2',
      do: 'block',
      with: { for: '35m', object: 'car' },
      raises: ['fire_passage.blocked'],
    },
    { at: '+16m', target: 'mh_07', do: 'lift_cover', with: { for: '8m' }, raises: ['manhole.cover_open'] },
    // A planned inspection: the lift leaves normal service for an hour.
    {
      at: '+19m',
      target: 'elev_b1_3',
      do: 'mode',
      with: { mode: 'inspection', for: '60m' },
      raises: ['elevator.mode_change'],
    },
    // The duty guard gets it at once; not accepted within 2 min, the estate manager (demo routing).
    { at: '+22m', target: 'sos_b1_301', do: 'press', with: { press: 'long' }, raises: ['sos_button.sos'] },
    {
      at: '+25m',
      target: 'tcjy_pb_s07',
      do: 'battery_low',
      with: { pct: 5 },
      raises: ['parking_bay.low_battery'],
    },
    {
      at: '+28m',
      target: 'xfya_mh_2',
      do: 'loosen',
      with: { for: '15m', tilt: 7 },
      raises: ['manhole.cover_loose'],
    },
    {
      at: '+31m',
      target: 'hpxc_el_3_1',
      do: 'door_cycling',
      with: { cycles: 7 },
      raises: ['elevator.door_cycling'],
    },
    { at: '+34m', target: { kind: 'parking_bay', zone: 'ground' }, do: 'occupy', with: { for: '20m' } },
    {
      at: '+38m',
      target: 'tcjy_el_3',
      do: 'moving_door_open',
      with: { for: '20s' },
      raises: ['elevator.moving_door_open'],
    },
    {
      at: '+43m',
      target: 'elev_b2_2',
      do: 'power_loss',
      with: { for: '3m' },
      raises: ['elevator.power_loss'],
    },
    {
      at: '+48m',
      target: 'tcjy_el_2',
      do: 'overspeed',
      with: { factor: 1.5, for: '4s' },
      raises: ['elevator.overspeed'],
    },
    { at: '+53m', target: 'elev_b1_1', do: 'alarm_button', raises: ['elevator.alarm_button'] },
  ],
}
