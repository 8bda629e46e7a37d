import { BATTERY_PCT, bool, float, type KindDefinition, REPORT_INTERVAL } from './types.ts'

/** Smart manhole-cover monitor (GB/T 41401-2022; domain-catalog §3.3): tilt, cover switch, water level. */
export const manhole = {
  id: 'manhole',
  names: { zh: '井盖', en: 'Manhole' },
  interval_s: 1800,
  state: {
    tilt_deg: float('倾角', 'Tilt', 0, 180, '°'),
    cover_open: bool('井盖开启', 'Cover open'),
    water_level_cm: float('水位', 'Water level', 0, 1000, 'cm'),
    battery_pct: BATTERY_PCT,
  },
  events: {},
  settable: {
    report_interval_s: REPORT_INTERVAL,
    tilt_threshold_deg: float('倾角报警阈值', 'Tilt alarm threshold', 1, 90, '°'),
  },
  params: {
    // Depth at which the well overflows onto the road; water_high compares against it.
    water_limit_cm: float('水位上限', 'Water limit', 1, 1000, 'cm'),
  },
} as const satisfies KindDefinition
