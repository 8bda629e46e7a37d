/*
 * A new device kind: copy this file to devices/<kind>.ts (here it is type-checked, not registered),
 * rename the export and `id`, and add one line to devices/index.ts (the import, and the key in KINDS).
 * Everything else — ingest schemas, rules and alerts, history, live state and the estate view (a
 * table of its state fields), the simulators (generic behaviour), scaled estates, the load generator,
 * its Grafana dashboard (`npm run gen`), reports (its alerts counted per device) — derives from it.
 * Then add its rows to the README's telemetry and alert tables (test/devices/readme.test.ts checks
 * them) and run `npm run gen`. test/devices/new-kind.test.ts proves this with this very file.
 */
import {
  BATTERY_PCT,
  bool,
  float,
  held,
  type KindDefinition,
  lowBatteryAlert,
  offlineAlert,
  REPORT_INTERVAL,
} from './types.ts'

/** Smoke detector in a stairwell: alarm flag, smoke density, battery. */
export const smoke_detector = {
  id: 'smoke_detector',
  names: { zh: '烟感', en: 'Smoke detector' },
  interval_s: 3600,
  state: {
    alarm: bool('烟雾报警', 'Smoke alarm'),
    smoke_db_m: float('烟雾浓度', 'Smoke density', 0, 10, 'dB/m'),
    battery_pct: BATTERY_PCT,
  },
  events: {},
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {},
  alerts: {
    smoke: {
      severity: 'critical',
      crew: 'fire_safety',
      latched: true,
      fire: true,
      title: { zh: '烟雾报警', en: 'Smoke alarm' },
      message: { zh: '{name} 烟雾报警', en: '{name}: smoke alarm' },
      params: {},
      triggers: [held((c) => c.s.alarm === true)],
    },
    low_battery: lowBatteryAlert(),
    offline: offlineAlert(2, '1h'),
  },
  simulator: {
    mix: { weight: 0, abbr: 'sd' },
    healthy: (n) => ({ alarm: false, smoke_db_m: 0.01 * (n % 5), battery_pct: 90 - (n % 10) }),
    faulty: { state: { alarm: true, smoke_db_m: 2.5 }, raises: 'smoke' },
  },
} as const satisfies KindDefinition
