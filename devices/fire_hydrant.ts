import {
  BATTERY_PCT,
  bool,
  dur,
  float,
  held,
  type KindDefinition,
  lowBatteryAlert,
  num,
  offlineAlert,
  oneOf,
  REPORT_INTERVAL,
  type RuleContext,
} from './types.ts'

const n = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN)
const EPSILON = 1e-9

/**
 * The static-pressure floor per building class (GB 50974-2014): §5.2.2, the roof tank's static
 * pressure at the least favourable indoor hydrant — high-rise and multi-storey residential and class-2
 * public 0.07 MPa, class-1 high-rise public 0.10 MPa, over 100 m 0.15 MPa; §7.2.8, a municipal main
 * feeding outdoor hydrants runs at no less than 0.14 MPa in normal operation.
 */
const FLOOR_MPA: Record<string, number> = {
  residential: 0.07,
  public: 0.07,
  public_class1: 0.1,
  over_100m: 0.15,
  municipal: 0.14,
}
/** The hydrant's floor: its design minimum (param), else its building class's, else the alert's `floor_mpa`. */
const floorOf = (c: RuleContext): number => {
  if (typeof c.params.min_pressure_mpa === 'number') return c.params.min_pressure_mpa
  const cls = c.params.building_class
  return (typeof cls === 'string' ? FLOOR_MPA[cls] : undefined) ?? c.p.floor_mpa!
}
const pressure = (c: RuleContext) => n(c.s.pressure_mpa)
/** Static pressure is read with the valve shut: while water is drawn the gauge shows a dynamic pressure. */
const staticLow = (c: RuleContext) => c.s.valve_open !== true && pressure(c) < floorOf(c)

/**
 * Fire hydrant (消火栓) or fire-main end-pressure monitor (GB 50974-2014): pressure, valve opened
 * (water taken or a leak), knocked or tilted (a car hit it), battery; NB-IoT, hourly reports. A dry
 * hydrant is what residents of old estates found when they needed one.
 */
export const fire_hydrant = {
  id: 'fire_hydrant',
  names: { zh: '消火栓', en: 'Fire hydrant' },
  interval_s: 3600,
  state: {
    pressure_mpa: float('水压', 'Pressure', 0, 2.5, 'MPa'),
    valve_open: bool('阀门开启', 'Valve open'),
    tilt_deg: float('倾角', 'Tilt', 0, 90, '°'),
    knocked: bool('撞击', 'Knocked'),
    battery_pct: BATTERY_PCT,
  },
  events: {},
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    building_class: oneOf(
      '建筑类别',
      'Building class',
      ['residential', 'public', 'public_class1', 'over_100m', 'municipal'],
      {
        residential: { zh: '住宅(0.07 MPa)', en: 'residential (0.07 MPa)' },
        public: { zh: '二类高层/多层公共建筑(0.07 MPa)', en: 'class-2 or low-rise public (0.07 MPa)' },
        public_class1: { zh: '一类高层公共建筑(0.10 MPa)', en: 'class-1 high-rise public (0.10 MPa)' },
        over_100m: { zh: '建筑高度超过100 m(0.15 MPa)', en: 'over 100 m (0.15 MPa)' },
        municipal: { zh: '市政管网室外消火栓(0.14 MPa)', en: 'outdoor, municipal main (0.14 MPa)' },
      },
    ),
    // The design minimum of this hydrant, when the designer gave one: wins over the class.
    min_pressure_mpa: float('最低静压', 'Minimum static pressure', 0.01, 2, 'MPa'),
  },
  simulator: {
    mix: { weight: 0, abbr: 'fh' },
    healthy: (i) => ({
      pressure_mpa: (28 + (i % 5)) / 100,
      valve_open: false,
      tilt_deg: 0.5 + (i % 3) / 10,
      knocked: false,
      battery_pct: 90 - (i % 10),
    }),
    faulty: { state: { battery_pct: 5 }, raises: 'low_battery' },
  },
  view: {
    title: { zh: '消火栓水压', en: 'Hydrant pressure' },
    order: 7,
    columns: [
      { field: 'pressure_mpa', header: { zh: '水压', en: 'Pressure' }, limitParam: 'min_pressure_mpa' },
      {
        field: 'valve_open',
        header: { zh: '阀门', en: 'Valve' },
        yes: { zh: '开启', en: 'open' },
        no: { zh: '关闭', en: 'shut' },
      },
      { field: 'tilt_deg' },
      { field: 'battery_pct', header: { zh: '电量', en: 'Battery' } },
    ],
  },
  report: {
    id: 'fire_hydrants',
    title: { zh: '消火栓', en: 'Fire hydrants' },
    device: { zh: '消火栓', en: 'Hydrant' },
    counts: [
      { alert: 'pressure_low', header: { zh: '水压不足', en: 'Pressure low' } },
      { alert: 'opened', header: { zh: '开启', en: 'Opened' } },
      { alert: 'knocked', header: { zh: '撞击/倾斜', en: 'Knocked' } },
    ],
    rankBy: ['pressure_low'],
  },
  dashboard: {
    file: 'fire-hydrants.json',
    title: { zh: '智安 消火栓', en: 'Fire hydrants' },
    panels: [
      { field: 'pressure_mpa', select: 'min', fill: 'none', w: 16, h: 9 },
      {
        type: 'table',
        title: { zh: '最低水压', en: 'Lowest pressure' },
        w: 8,
        h: 9,
        query: `SELECT min("pressure_mpa") AS "min_mpa", last("pressure_mpa") AS "last_mpa" FROM "fire_hydrant" WHERE "estate" =~ /^$estate$/ AND $timeFilter GROUP BY "device_id"`,
      },
      {
        field: 'battery_pct',
        select: 'last',
        fill: 'previous',
        title: { zh: '电池', en: 'Battery' },
        w: 24,
        h: 8,
      },
    ],
  },
  alerts: {
    pressure_low: {
      severity: 'major',
      // Under 0.05 MPa the hydrant is dry: no water if a fire broke out now.
      severityWhen: (c) => (pressure(c) < c.p.dry_mpa! ? 'critical' : undefined),
      crew: 'property_engineering',
      latched: false,
      title: { zh: '消火栓水压不足', en: 'Hydrant pressure low' },
      message: {
        zh: '{name} 静水压 {pressure_mpa} MPa,低于 {min_mpa} MPa(GB 50974)',
        en: '{name}: static pressure {pressure_mpa} MPa, under {min_mpa} MPa (GB 50974)',
      },
      // 15 min: a pressure dip while a pump starts or a main is switched is not a dry hydrant; with
      // hourly reports it still raises on the first low reading that stays. Clears 0.02 MPa above the
      // floor, held 10 min (hysteresis around a floor the network hovers at).
      params: {
        floor_mpa: num(0.1, 0.01, 2, 'MPa'),
        dry_mpa: num(0.05, 0, 2, 'MPa'),
        clear_margin_mpa: num(0.02, 0, 1, 'MPa'),
        for: dur('15m'),
        clear_for: dur('10m'),
      },
      triggers: [
        held(staticLow, {
          // 0.1 + 0.02 is 0.12000000000000001 in floating point: "back at 0.12" means the printed value.
          clearWhen: (c) =>
            c.s.valve_open !== true && pressure(c) >= floorOf(c) + c.p.clear_margin_mpa! - EPSILON,
        }),
      ],
      vars: (c) => ({ min_mpa: floorOf(c) }),
    },
    opened: {
      severity: 'major',
      crew: 'property_duty',
      latched: false,
      title: { zh: '消火栓被开启', en: 'Hydrant opened' },
      message: {
        zh: '{name} 阀门开启(取水或漏水),请到场查看',
        en: '{name}: valve open (water taken or a leak); go and look',
      },
      params: {},
      triggers: [held((c) => c.s.valve_open === true, { for: false })],
      // Firefighters drawing water during a fire are no news.
      suppressWhen: (c) => (c.estateFire ? 'estate_fire' : undefined),
    },
    knocked: {
      // Safety degraded, fix the same day: a knocked hydrant may not open or may leak.
      severity: 'major',
      crew: 'property_engineering',
      // A person checks it was not damaged, even if it stands upright again.
      latched: true,
      title: { zh: '消火栓被撞/倾斜', en: 'Hydrant knocked or tilted' },
      message: {
        zh: '{name} 被撞击或倾斜[(倾角 {tilt_deg}°)],请检查是否损坏',
        en: '{name} knocked or tilted[ (tilt {tilt_deg}°)]; check it for damage',
      },
      params: { tilt_limit_deg: num(15, 1, 90, '°') },
      triggers: [held((c) => c.s.knocked === true || n(c.s.tilt_deg) > c.p.tilt_limit_deg!, { for: false })],
    },
    low_battery: lowBatteryAlert(),
    offline: offlineAlert(2, '1h'),
  },
} as const satisfies KindDefinition
