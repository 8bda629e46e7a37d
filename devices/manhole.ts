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
  REPORT_INTERVAL,
  type RuleContext,
  rate,
} from './types.ts'

const tilt = (c: RuleContext) => (typeof c.s.tilt_deg === 'number' ? c.s.tilt_deg : Number.NaN)
const limit = (c: RuleContext) =>
  typeof c.params.water_limit_cm === 'number' ? c.params.water_limit_cm : c.p.limit_cm!
const level = (c: RuleContext) => (typeof c.s.water_level_cm === 'number' ? c.s.water_level_cm : Number.NaN)
const reseated = (c: RuleContext) => c.s.cover_open !== true && !(tilt(c) > c.p.clear_tilt_deg!)

/** Smart manhole-cover monitor (GB/T 41401-2022; domain-catalog §3.3): tilt, cover switch, water level. */
export const manhole = {
  id: 'manhole',
  names: { zh: '井盖', en: 'Manhole' },
  interval_s: 1800,
  state: {
    tilt_deg: { ...float('倾角', 'Tilt', 0, 180, '°'), decimals: 0 },
    cover_open: bool('井盖开启', 'Cover open'),
    water_level_cm: { ...float('水位', 'Water level', 0, 1000, 'cm'), decimals: 0 },
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
  simulator: {
    behaviour: 'manhole',
    mix: { weight: 15, abbr: 'mh' },
    params: () => ({ water_limit_cm: 80 }),
    healthy: (n) => ({
      tilt_deg: 0.5 + (n % 10) / 10,
      cover_open: false,
      water_level_cm: 10 + (n % 20),
      battery_pct: 60 + (n % 40),
    }),
    faulty: { state: { cover_open: true }, raises: 'cover_open' },
  },
  report: {
    id: 'manholes',
    title: { zh: '井盖', en: 'Manholes' },
    device: { zh: '井盖', en: 'Manhole' },
    counts: [
      { alert: 'cover_open', header: { zh: '开启', en: 'Opened' } },
      { alert: 'cover_loose', header: { zh: '松动', en: 'Loose' } },
      { alert: 'water_high', header: { zh: '水位超限', en: 'Water high' } },
      { alert: 'water_rising', header: { zh: '水位陡升', en: 'Water rising' } },
    ],
    rankBy: ['cover_open', 'water_high'],
  },
  view: {
    title: { zh: '井盖', en: 'Manholes' },
    order: 3,
    columns: [
      { field: 'tilt_deg' },
      { field: 'water_level_cm', header: { zh: '水位', en: 'Water' }, limitParam: 'water_limit_cm' },
      {
        field: 'cover_open',
        header: { zh: '井盖', en: 'Cover' },
        yes: { zh: '开启', en: 'open' },
        no: { zh: '关闭', en: 'closed' },
      },
      { field: 'battery_pct', header: { zh: '电量', en: 'Battery' } },
    ],
  },
  dashboard: {
    file: 'manholes.json',
    title: { zh: '智安 井盖', en: 'Manholes' },
    panels: [
      { field: 'tilt_deg', select: 'max', fill: 'none', w: 12, h: 9 },
      { field: 'water_level_cm', select: 'max', fill: 'none', w: 12, h: 9 },
      {
        type: 'table',
        title: { zh: '井盖开启次数', en: 'Cover-open reports' },
        w: 12,
        h: 8,
        query: `SELECT count("cover_open") AS "open_reports" FROM "manhole" WHERE "cover_open" = true AND "estate" =~ /^$estate$/ AND $timeFilter GROUP BY "device_id"`,
      },
      {
        field: 'battery_pct',
        select: 'last',
        fill: 'previous',
        title: { zh: '电池', en: 'Battery' },
        w: 12,
        h: 8,
      },
    ],
  },
  // Thresholds: domain-catalog §3.4 (GB/T 41401-2022; vendor defaults 10° / 90°, 30 s cloud rule).
  alerts: {
    cover_open: {
      severity: 'critical',
      crew: 'property_duty',
      // The device's "recovered" message is not enough: a person confirms the cover was re-seated.
      latched: true,
      title: { zh: '井盖开启', en: 'Manhole cover open' },
      message: {
        zh: '{name} 井盖开启/移位(倾角 {tilt_deg}°),请先设置围挡',
        en: '{name} cover open or displaced (tilt {tilt_deg}°); cordon it off first',
      },
      params: {
        tilt_deg: num(10, 1, 90, '°'),
        for: dur('30s'),
        clear_tilt_deg: num(5, 0, 90, '°'),
        clear_for: dur('60s'),
      },
      triggers: [
        held((c) => tilt(c) > c.p.tilt_deg!, { clearWhen: reseated }),
        held((c) => c.s.cover_open === true || tilt(c) > 90, { for: false, clearWhen: reseated }),
      ],
    },
    cover_loose: {
      severity: 'minor',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '井盖松动', en: 'Manhole cover loose' },
      message: { zh: '{name} 井盖松动(倾角 {tilt_deg}°)', en: '{name} cover loose (tilt {tilt_deg}°)' },
      // `count` movements that recover within `window`, or a steady small tilt. A tilt above move_deg for
      // less than `min_move` is a vehicle rolling over the cover (domain-catalog §3.2: < 2 s), not a movement.
      params: {
        move_deg: num(5, 1, 90, '°'),
        min_move: dur('2s'),
        count: num(3, 2, 100),
        window: dur('1h'),
        steady_max_deg: num(10, 1, 90, '°'),
        for_steady: dur('10m'),
        clear_for: dur('24h'),
      },
      triggers: [
        count({ episode: (c) => tilt(c) > c.p.move_deg!, confirm: 'min_move' }),
        held((c) => tilt(c) >= c.p.move_deg! && tilt(c) <= c.p.steady_max_deg!, {
          for: 'for_steady',
          clearWhen: (c) => tilt(c) < c.p.move_deg!,
        }),
      ],
    },
    water_high: {
      severity: 'major',
      crew: 'utility_owner',
      latched: false,
      title: { zh: '水位超限', en: 'Water level high' },
      message: {
        zh: '{name} 水位超限:{water_level_cm} cm(上限 {limit_cm} cm)',
        en: '{name} water level high: {water_level_cm} cm (limit {limit_cm} cm)',
      },
      // The device param water_limit_cm (well depth) wins over `limit_cm`; clears `clear_margin_cm` below it.
      params: {
        limit_cm: num(100, 1, 1000, 'cm'),
        for: dur('30s'),
        clear_margin_cm: num(5, 0, 500, 'cm'),
        clear_for: dur('10m'),
      },
      triggers: [
        held((c) => level(c) >= limit(c), { clearWhen: (c) => level(c) < limit(c) - c.p.clear_margin_cm! }),
      ],
      vars: (c) => ({ limit_cm: limit(c) }),
    },
    water_rising: {
      severity: 'major',
      crew: 'utility_owner',
      latched: false,
      title: { zh: '水位快速上涨', en: 'Water rising fast' },
      message: {
        zh: '{name} 水位 {window_min} 分钟内上涨 {rise} cm(现 {water_level_cm} cm)',
        en: '{name} water rose {rise} cm within {window_min} min (now {water_level_cm} cm)',
      },
      params: { rise_cm: num(20, 1, 1000, 'cm'), window: dur('10m'), clear_for: dur('10m') },
      triggers: [rate({ field: 'water_level_cm', rise: 'rise_cm', window: 'window' })],
      vars: (c) => ({ window_min: Math.round(c.p.window! / 60_000) }),
    },
    low_battery: lowBatteryAlert(),
    offline: offlineAlert(2, '1h'),
  },
} as const satisfies KindDefinition
