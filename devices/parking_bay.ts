import { BATTERY_PCT, bool, type KindDefinition, REPORT_INTERVAL, text } from './types.ts'

/** In-ground geomagnetic parking-bay sensor: reports on change plus a daily-ish heartbeat (domain-catalog §4). */
export const parking_bay = {
  id: 'parking_bay',
  names: { zh: '车位', en: 'Parking bay' },
  interval_s: 3600,
  state: {
    occupied: bool('占用', 'Occupied'),
    battery_pct: BATTERY_PCT,
  },
  events: {},
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    // Zone within the estate (e.g. "B1", "ground-east") for occupancy roll-ups.
    zone: text('车位分区', 'Zone', 64),
  },
} as const satisfies KindDefinition
