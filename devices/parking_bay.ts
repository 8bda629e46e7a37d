import {
  BATTERY_PCT,
  bool,
  count,
  dur,
  held,
  type KindDefinition,
  lowBatteryAlert,
  num,
  offlineAlert,
  REPORT_INTERVAL,
  text,
  type ZoneRollup,
  zone,
} from './types.ts'

/** Occupancy per estate and zone, the zone from the `zone` param: the dashboard's zones and `zone_full` count the same. */
const ZONES: ZoneRollup = { field: 'occupied', zoneParam: 'zone' }

/** In-ground geomagnetic parking-bay sensor: reports on change plus a daily-ish heartbeat (domain-catalog §4). */
export const parking_bay = {
  id: 'parking_bay',
  names: { zh: '车位', en: 'Parking bay' },
  // Geomagnetic bays report on change plus one heartbeat a day (domain-catalog §0.3, §4.1 [S43]): offline at 2 × 24 h + 1 h = 49 h.
  interval_s: 86_400,
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
  simulator: {
    behaviour: 'parking_bay',
    mix: { weight: 75, abbr: 'pb' },
    params: (i) => ({ zone: ['ground', 'b1', 'b2'][i % 3] }),
    healthy: (n) => ({ occupied: false, battery_pct: 70 + (n % 30) }),
    faulty: { state: { battery_pct: 5 }, raises: 'low_battery' },
  },
  dashboard: {
    file: 'parking.json',
    title: { zh: '智安 停车', en: 'Parking' },
    from: 'now-24h',
    panels: [
      {
        type: 'timeseries',
        title: { zh: '每小时占用车位 (按分区)', en: 'Occupied bays per hour, by zone' },
        w: 16,
        h: 9,
        query: `SELECT count("v") FROM (SELECT last("occupied") AS "v" FROM "parking_bay" WHERE "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time(1h), "device_id", "zone" fill(previous)) WHERE "v" = true AND $timeFilter GROUP BY time(1h), "zone" fill(0)`,
        custom: { drawStyle: 'bars' },
      },
      {
        type: 'table',
        title: { zh: '当前占用 (按分区)', en: 'Occupied now, by zone' },
        w: 8,
        h: 9,
        query: `SELECT count("v") AS "occupied" FROM (SELECT last("occupied") AS "v" FROM "parking_bay" WHERE "estate" =~ /^$estate$/ AND $timeFilter GROUP BY "device_id", "zone") WHERE "v" = true GROUP BY "zone"`,
      },
      {
        type: 'timeseries',
        title: { zh: '上报车位数 (按分区)', en: 'Bays reporting per hour, by zone' },
        w: 24,
        h: 8,
        query: `SELECT count("v") FROM (SELECT last("occupied") AS "v" FROM "parking_bay" WHERE "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time(1h), "device_id", "zone" fill(previous)) WHERE $timeFilter GROUP BY time(1h), "zone" fill(0)`,
      },
    ],
  },
  report: { section: 'parking' },
  view: { panel: 'zones', title: { zh: '停车位', en: 'Parking' }, order: 0, wide: true },
  zones: ZONES,
  // Thresholds: domain-catalog §4.3.
  alerts: {
    overstay: {
      severity: 'minor',
      crew: 'property_duty',
      latched: false,
      title: { zh: '车辆长时间停放', en: 'Vehicle overstay' },
      message: {
        zh: '{name} 车辆已停放 {held_h} 小时(疑似僵尸车)',
        en: '{name}: vehicle parked for {held_h} h (abandoned?)',
      },
      params: { for: dur('72h') },
      triggers: [held((c) => c.s.occupied === true)],
    },
    zone_full: {
      severity: 'info',
      crew: 'property_duty',
      latched: false,
      title: { zh: '车位区已满', en: 'Parking zone full' },
      message: {
        zh: '{name} 车位已满:{occupied}/{total}({percent}%)',
        en: 'Parking {name} full: {occupied}/{total} ({percent}%)',
      },
      // Hysteresis: raise at ≥ full_pct held `for`, clear at ≤ clear_pct held `clear_for`.
      params: {
        full_pct: num(95, 1, 100, '%'),
        clear_pct: num(90, 0, 100, '%'),
        for: dur('5m'),
        clear_for: dur('0s'),
      },
      triggers: [
        zone({
          ...ZONES,
          when: (agg, p) => agg.total > 0 && agg.percent >= p.full_pct!,
          clearWhen: (agg, p) => agg.percent <= p.clear_pct!,
        }),
      ],
    },
    sensor_flapping: {
      severity: 'warning',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '车位传感器抖动', en: 'Sensor flapping' },
      message: {
        zh: '{name} 传感器 {window_min} 分钟内状态变化 {count} 次,请重新标定',
        en: '{name} sensor changed state {count} times within {window_min} min; recalibrate it',
      },
      params: { count: num(10, 2, 1000), window: dur('10m'), clear_for: dur('1h') },
      triggers: [
        count({
          hit: (c) =>
            typeof c.input?.occupied === 'boolean' &&
            typeof c.prev.occupied === 'boolean' &&
            c.input.occupied !== c.prev.occupied,
        }),
      ],
      vars: (c) => ({ window_min: Math.round(c.p.window! / 60_000) }),
    },
    low_battery: lowBatteryAlert(),
    offline: offlineAlert(2, '1h'),
  },
} as const satisfies KindDefinition
