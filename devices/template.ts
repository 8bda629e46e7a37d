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

/** Water-leak sensor (水浸) on the floor of a pump room or a basement: leak flag, water depth, battery. */
export const water_leak = {
  id: 'water_leak',
  names: { zh: '水浸', en: 'Water leak' },
  interval_s: 3600,
  state: {
    leak: bool('浸水', 'Water detected'),
    depth_mm: float('积水深度', 'Water depth', 0, 500, 'mm'),
    battery_pct: BATTERY_PCT,
  },
  events: {},
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {},
  alerts: {
    leak: {
      severity: 'major',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '水浸报警', en: 'Water leak' },
      message: { zh: '{name} 检测到浸水', en: '{name}: water detected' },
      params: {},
      triggers: [held((c) => c.s.leak === true)],
    },
    low_battery: lowBatteryAlert(),
    offline: offlineAlert(2, '1h'),
  },
  simulator: {
    mix: { weight: 0, abbr: 'wl' },
    healthy: (n) => ({ leak: false, depth_mm: 0, battery_pct: 90 - (n % 10) }),
    faulty: { state: { leak: true, depth_mm: 12 }, raises: 'leak' },
  },
} as const satisfies KindDefinition
