import {
  bool,
  dur,
  faultAlert,
  float,
  held,
  type KindDefinition,
  num,
  offlineAlert,
  REPORT_INTERVAL,
  type RuleContext,
} from './types.ts'

const n = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN)
const TEMPS = ['temp1_c', 'temp2_c', 'temp3_c', 'temp4_c'] as const
/** The hottest channel reported (NaN when none). */
const hottest = (c: RuleContext) => Math.max(...TEMPS.map((f) => n(c.s[f])).filter((t) => !Number.isNaN(t)))
/** The device's configured set value (param) wins over the alert's default. */
const residualSet = (c: RuleContext) =>
  typeof c.params.residual_set_ma === 'number' ? c.params.residual_set_ma : c.p.residual_ma!
const tempSet = (c: RuleContext) =>
  typeof c.params.temp_set_c === 'number' ? c.params.temp_set_c : c.p.temp_c!

const channel = (zh: string, en: string) => float(zh, en, -40, 200, '°C')

/**
 * Electrical-fire monitoring detector (电气火灾监控探测器) in a distribution box or the e-bike charging
 * shed: residual current (GB 14287.2-2014, set value settable 20–1000 mA) and up to four temperature
 * channels on cables and terminals (GB 14287.3-2014, set value settable 55–140 °C), load current,
 * the linkage trip. Alerts at the configured set values, each held for a confirm window so a motor or
 * charger's inrush spike is no alarm.
 *
 * Not marked `fire`: an electrical-fire alarm is a pre-fire warning (a leaking or hot circuit that may
 * ignite), not a fire. GB 50116-2013 §9.1 keeps it apart from fire alarms — shown in the fire control
 * room but distinct from them, and not wired into the fire detector loops — so it does not send lifts to
 * fire return or make a car on the fire passage an emergency. Its crew is the property electrician.
 */
export const electrical_fire = {
  id: 'electrical_fire',
  names: { zh: '电气火灾监控', en: 'Electrical fire monitor' },
  // Mains powered, reporting every 5 min: offline after 3 × 5 min + 5 min.
  interval_s: 300,
  state: {
    residual_ma: float('剩余电流', 'Residual current', 0, 3000, 'mA'),
    temp1_c: channel('温度1', 'Temperature 1'),
    temp2_c: channel('温度2', 'Temperature 2'),
    temp3_c: channel('温度3', 'Temperature 3'),
    temp4_c: channel('温度4', 'Temperature 4'),
    current_a: float('负载电流', 'Load current', 0, 1000, 'A'),
    tripped: bool('脱扣', 'Tripped'),
    fault: bool('故障', 'Fault'),
  },
  events: {},
  settable: {
    report_interval_s: REPORT_INTERVAL,
    residual_set_ma: float('剩余电流报警设定值', 'Residual current set value', 20, 1000, 'mA'),
    temp_set_c: float('温度报警设定值', 'Temperature set value', 55, 140, '°C'),
  },
  params: {
    // The set values configured on the detector (GB 14287.2 / .3 ranges); absent: the alerts' defaults.
    residual_set_ma: float('剩余电流报警设定值', 'Residual current set value', 20, 1000, 'mA'),
    temp_set_c: float('温度报警设定值', 'Temperature set value', 55, 140, '°C'),
  },
  simulator: {
    mix: { weight: 0, abbr: 'ef' },
    healthy: (i) => ({
      residual_ma: 40 + (i % 30),
      temp1_c: 28 + (i % 8),
      temp2_c: 27 + (i % 6),
      temp3_c: 26 + (i % 5),
      temp4_c: 25 + (i % 4),
      current_a: 12 + (i % 20),
      tripped: false,
      fault: false,
    }),
    faulty: { state: { fault: true }, raises: 'fault' },
  },
  view: {
    title: { zh: '电气火灾监控', en: 'Electrical fire monitors' },
    order: 6,
    columns: [
      { field: 'residual_ma', header: { zh: '漏电', en: 'Residual' }, limitParam: 'residual_set_ma' },
      { field: 'temp1_c', header: { zh: '温度1', en: 'T1' }, limitParam: 'temp_set_c' },
      { field: 'temp2_c', header: { zh: '温度2', en: 'T2' } },
      { field: 'current_a', header: { zh: '电流', en: 'Load' } },
      {
        field: 'tripped',
        header: { zh: '开关', en: 'Breaker' },
        yes: { zh: '已脱扣', en: 'tripped' },
        no: { zh: '合闸', en: 'on' },
      },
    ],
  },
  report: {
    id: 'electrical_fire',
    title: { zh: '电气火灾监控', en: 'Electrical fire monitoring' },
    device: { zh: '监控点', en: 'Monitor' },
    counts: [
      { alert: 'residual_current', header: { zh: '漏电报警', en: 'Residual current' } },
      { alert: 'overtemp', header: { zh: '超温报警', en: 'Over-temperature' } },
      { alert: 'tripped', header: { zh: '脱扣', en: 'Trips' } },
      { alert: 'fault', header: { zh: '故障', en: 'Faults' } },
    ],
    rankBy: ['residual_current', 'overtemp'],
  },
  dashboard: {
    file: 'electrical-fire.json',
    title: { zh: '智安 电气火灾监控', en: 'Electrical fire monitoring' },
    panels: [
      { field: 'residual_ma', select: 'max', fill: 'none', w: 12, h: 9 },
      { field: 'temp1_c', select: 'max', fill: 'none', w: 12, h: 9 },
      { field: 'temp2_c', select: 'max', fill: 'none', w: 12, h: 8 },
      { field: 'current_a', select: 'mean', fill: 'none', w: 12, h: 8 },
      {
        type: 'timeseries',
        title: { zh: '漏电与超温报警', en: 'Residual-current and over-temperature alarms' },
        w: 24,
        h: 8,
        query: `SELECT count("alert_id") FROM "alert_event" WHERE "kind" = 'electrical_fire' AND "action" = 'raised' AND "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time($__interval), "type" fill(none)`,
        custom: { drawStyle: 'bars' },
      },
    ],
  },
  alerts: {
    residual_current: {
      severity: 'major',
      // From the printed critical level on: a leak that large is a fire risk now.
      severityWhen: (c) => (n(c.s.residual_ma) >= c.p.critical_ma! ? 'critical' : undefined),
      crew: 'property_engineering',
      latched: false,
      title: { zh: '剩余电流超限', en: 'Residual current high' },
      message: {
        zh: '{name} 剩余电流 {residual_ma} mA(设定 {set_ma} mA),请检查线路绝缘',
        en: '{name}: residual current {residual_ma} mA (set {set_ma} mA); check the insulation',
      },
      // 300 mA: GB 50116-2013 §9.2.3 sets the alarm at 300–500 mA, above the 100–200 mA a healthy
      // installation leaks. 10 s confirm window: inrush spikes last well under it, and the detector
      // itself must alarm within 30 s (GB 14287.2).
      params: {
        residual_ma: num(300, 20, 1000, 'mA'),
        critical_ma: num(500, 20, 3000, 'mA'),
        for: dur('10s'),
        clear_for: dur('60s'),
      },
      triggers: [held((c) => n(c.s.residual_ma) >= residualSet(c))],
      vars: (c) => ({ set_ma: residualSet(c) }),
    },
    overtemp: {
      severity: 'major',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '线缆/端子超温', en: 'Cable or terminal over-temperature' },
      message: {
        zh: '{name} 温度 {max_temp_c}°C(设定 {set_c}°C),请检查接头是否松动或过载',
        en: '{name}: {max_temp_c} °C (set {set_c} °C); check for a loose terminal or an overload',
      },
      // 70 °C: the rated conductor temperature of PVC-insulated cable (GB/T 5023.1); a terminal hotter
      // than its cable is a fault. Within GB 14287.3's settable 55–140 °C; temperature does not spike,
      // the 30 s window drops a single bad sample.
      params: { temp_c: num(70, 55, 140, '°C'), for: dur('30s'), clear_for: dur('5m') },
      triggers: [held((c) => hottest(c) >= tempSet(c))],
      vars: (c) => ({ max_temp_c: hottest(c), set_c: tempSet(c) }),
    },
    tripped: {
      severity: 'major',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '回路脱扣断电', en: 'Circuit tripped' },
      message: {
        zh: '{name} 回路已脱扣断电,查明原因后再合闸',
        en: '{name}: the circuit tripped; find the cause before switching it back on',
      },
      params: {},
      triggers: [held((c) => c.s.tripped === true, { for: false })],
    },
    fault: faultAlert(
      { zh: '电气火灾探测器故障', en: 'Electrical fire monitor fault' },
      {
        zh: '{name} 报告故障(传感器断线或短路)',
        en: '{name} reports a fault (a sensor lead open or shorted)',
      },
    ),
    offline: offlineAlert(3, '5m'),
  },
} as const satisfies KindDefinition
