import {
  BATTERY_PCT,
  bool,
  count,
  dur,
  float,
  held,
  type KindDefinition,
  lowBatteryAlert,
  num,
  offlineAlert,
  oneOf,
  REPORT_INTERVAL,
  text,
} from './types.ts'

/** A fire-passage (消防车通道) segment watched by a camera or a geomagnetic sensor (domain-catalog §2.3). */
export const fire_passage = {
  id: 'fire_passage',
  names: { zh: '消防通道', en: 'Fire passage' },
  interval_s: 300,
  state: {
    occupied: bool('占用', 'Occupied'),
    object_class: oneOf('占用物', 'Object', ['car', 'ebike', 'goods', 'person', 'unknown'], {
      car: { zh: '汽车', en: 'car' },
      ebike: { zh: '电动车', en: 'e-bike' },
      goods: { zh: '杂物', en: 'goods' },
      person: { zh: '行人', en: 'person' },
      unknown: { zh: '未知', en: 'unknown' },
    }),
    confidence: float('置信度', 'Confidence', 0, 1),
    plate: text('车牌', 'Plate', 16),
    battery_pct: BATTERY_PCT,
  },
  events: {},
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    // Entrances and turning areas alert sooner (1 min vs 3 min, domain-catalog §2.4).
    entrance: bool('通道入口/转弯处', 'Entrance or turning area'),
  },
  simulator: {
    behaviour: 'fire_passage',
    mix: { weight: 4, abbr: 'fp' },
    params: (i) => ({ entrance: i % 2 === 0 }),
    healthy: (n) => ({ occupied: false, confidence: 0.9, battery_pct: 80 + (n % 20) }),
    faulty: { state: { battery_pct: 5 }, raises: 'low_battery' },
  },
  report: { section: 'fire_passages' },
  view: { panel: 'passages', title: { zh: '消防通道', en: 'Fire passages' }, order: 2 },
  dashboard: {
    file: 'fire-passages.json',
    title: { zh: '智安 消防通道', en: 'Fire passages' },
    panels: [
      {
        type: 'bargauge',
        title: { zh: '各段占用分钟数', en: 'Blocked minutes per segment' },
        w: 12,
        h: 9,
        query: `SELECT count("v") AS "blocked_min" FROM (SELECT last("occupied") AS "v" FROM "fire_passage" WHERE "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time(1m), "device_id" fill(previous)) WHERE "v" = true GROUP BY "device_id"`,
        format: 'table',
        unit: 'm',
        options: { reduceOptions: { values: true, calcs: ['lastNotNull'] }, orientation: 'horizontal' },
      },
      {
        type: 'timeseries',
        title: { zh: '占用路段数', en: 'Segments blocked' },
        w: 12,
        h: 9,
        query: `SELECT count("v") FROM (SELECT last("occupied") AS "v" FROM "fire_passage" WHERE "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time(10m), "device_id" fill(previous)) WHERE "v" = true AND $timeFilter GROUP BY time(10m) fill(0)`,
        custom: { lineInterpolation: 'stepAfter' },
      },
      {
        type: 'timeseries',
        title: { zh: '占用报警', en: 'Blocked-passage alerts' },
        w: 24,
        h: 8,
        query: `SELECT count("alert_id") FROM "alert_event" WHERE "kind" = 'fire_passage' AND "action" = 'raised' AND "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time($__interval), "type" fill(none)`,
        custom: { drawStyle: 'bars' },
      },
    ],
  },
  // Thresholds: domain-catalog §2.4 (Suining 1 min at entrances, Ningbo 30 min / 3 times).
  alerts: {
    occupied: {
      severity: 'warning',
      crew: 'property_duty',
      latched: false,
      title: { zh: '消防通道占用', en: 'Fire passage occupied' },
      message: {
        zh: '{name} 被[{object_class}]占用 已持续 {held_s} 秒',
        en: '{name} occupied[ by {object_class}] for {held_s} s',
      },
      params: { for: dur('3m'), for_entrance: dur('60s'), clear_for: dur('30s') },
      triggers: [
        held((c) => c.s.occupied === true && c.params.entrance !== true),
        held((c) => c.s.occupied === true && c.params.entrance === true, { for: 'for_entrance' }),
      ],
    },
    blocked: {
      severity: 'major',
      crew: 'property_duty',
      latched: false,
      title: { zh: '消防通道堵塞', en: 'Fire passage blocked' },
      message: {
        zh: '{name} 被[{object_class}]堵塞 已持续 {held_min} 分钟,请立即清理',
        en: '{name} blocked[ by {object_class}] for {held_min} min; clear it now',
      },
      params: { for: dur('10m'), clear_for: dur('60s') },
      triggers: [held((c) => c.s.occupied === true)],
    },
    persistent_blockage: {
      severity: 'major',
      crew: 'community_grid',
      latched: true,
      title: { zh: '消防通道长期堵塞', en: 'Persistent fire-passage blockage' },
      message: {
        zh: '{name} 长期或反复堵塞,需执法介入',
        en: '{name} is blocked for long or again and again; refer for enforcement',
      },
      // ≥ 30 min at once, or `blocked` raised `count` times within `window` (Ningbo rule).
      params: { for: dur('30m'), count: num(3, 2, 100), window: dur('24h') },
      triggers: [held((c) => c.s.occupied === true), count({ onRaised: ['blocked'] })],
    },
    blocked_during_fire: {
      severity: 'critical',
      crew: 'fire_safety',
      latched: false,
      title: { zh: '火警期间消防通道被占', en: 'Fire passage occupied during a fire alarm' },
      message: {
        zh: '{name} 在火警期间被占用,请立即清理',
        en: '{name} is occupied while a fire alarm is active; clear it now',
      },
      // Cross-device: a raised alert marked `fire` in the passage's building, or in its estate when the
      // passage belongs to no building (src/rules/README.md "Cross-device"). People on the lane are
      // no obstruction: during a fire they are the evacuation.
      params: {},
      triggers: [
        held(
          (c) => c.s.occupied === true && c.s.object_class !== 'person' && (c.buildingFire ?? c.estateFire),
        ),
      ],
    },
    low_battery: lowBatteryAlert(),
    offline: offlineAlert(2, '5m'),
  },
} as const satisfies KindDefinition
