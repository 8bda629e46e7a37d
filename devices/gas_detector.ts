import {
  bool,
  dur,
  faultAlert,
  float,
  held,
  type KindDefinition,
  num,
  offlineAlert,
  oneOf,
  REPORT_INTERVAL,
  type RuleContext,
} from './types.ts'

const MIN = 60_000

const lel = (c: RuleContext) => (typeof c.s.gas_lel_pct === 'number' ? c.s.gas_lel_pct : Number.NaN)
/** The device's own (low) alarm set point: its param, else the alert's `low_pct`. */
const setPoint = (c: RuleContext) =>
  typeof c.params.low_set_lel_pct === 'number' ? c.params.low_set_lel_pct : c.p.low_pct!
/** The device says it is in alarm at one of its levels. */
const deviceAlarm = (c: RuleContext) => c.s.alarm_level === 'low' || c.s.alarm_level === 'high'
/** In alarm: the device says so, or the concentration it reports is at its set point. */
const inAlarm = (c: RuleContext) => deviceAlarm(c) || lel(c) >= setPoint(c)

/**
 * Combustible-gas detector (可燃气体探测器, GB 15322.1-2019 point type for boiler rooms and canteens,
 * GB 15322.2-2019 household) in %LEL, with the linkage it drives: the gas shut-off valve and the
 * exhaust fan. Two-level detectors set their low alarm between 1 and 25 %LEL and the high one at
 * 50 %LEL (GB 15322.1); 20 %LEL is the low level city-gas practice uses. The detector's own alarm
 * counts at once; a concentration reported at the set point without the device's alarm counts after
 * a short confirm window (`for`), so one noisy reading is not an evacuation.
 */
export const gas_detector = {
  id: 'gas_detector',
  names: { zh: '可燃气体探测器', en: 'Gas detector' },
  interval_s: 3600,
  state: {
    gas_lel_pct: float('可燃气体浓度', 'Gas concentration', 0, 100, '%LEL'),
    alarm_level: oneOf('报警级别', 'Alarm level', ['none', 'low', 'high'], {
      none: { zh: '正常', en: 'none' },
      low: { zh: '低限报警', en: 'low alarm' },
      high: { zh: '高限报警', en: 'high alarm' },
    }),
    valve: oneOf('切断阀', 'Shut-off valve', ['open', 'closed'], {
      open: { zh: '开', en: 'open' },
      closed: { zh: '已切断', en: 'closed' },
    }),
    fan_on: bool('排风机', 'Exhaust fan on'),
    fault: bool('故障', 'Fault'),
  },
  events: {},
  settable: {
    report_interval_s: REPORT_INTERVAL,
    low_set_lel_pct: float('低限报警设定值', 'Low alarm set point', 1, 25, '%LEL'),
    high_set_lel_pct: float('高限报警设定值', 'High alarm set point', 25, 60, '%LEL'),
  },
  params: {
    // The low set point the detector is configured with (GB 15322.1: 1–25 %LEL).
    low_set_lel_pct: float('低限报警设定值', 'Low alarm set point', 1, 25, '%LEL'),
    // The detector drives a gas shut-off valve: in alarm it must report it closed (linkage_failed).
    has_valve: bool('联动切断阀', 'Drives a shut-off valve'),
  },
  simulator: {
    mix: { weight: 0, abbr: 'gas' },
    healthy: (n) => ({ gas_lel_pct: n % 3, alarm_level: 'none', valve: 'open', fan_on: false, fault: false }),
    // Its random fault is a sensor fault, never a leak: the demo must not cry fire by chance.
    faulty: { state: { fault: true }, raises: 'fault' },
  },
  view: {
    title: { zh: '燃气探测', en: 'Gas detectors' },
    order: 5,
    columns: [
      { field: 'gas_lel_pct', header: { zh: '浓度', en: 'Gas' }, limitParam: 'low_set_lel_pct' },
      { field: 'alarm_level' },
      { field: 'valve' },
      {
        field: 'fan_on',
        header: { zh: '排风', en: 'Fan' },
        yes: { zh: '开', en: 'on' },
        no: { zh: '关', en: 'off' },
      },
    ],
  },
  report: {
    id: 'gas_detectors',
    title: { zh: '可燃气体探测', en: 'Gas detectors' },
    device: { zh: '探测器', en: 'Detector' },
    counts: [
      { alert: 'gas_alarm', header: { zh: '燃气报警', en: 'Gas alarms' } },
      { alert: 'linkage_failed', header: { zh: '联动失败', en: 'Linkage failed' } },
      { alert: 'fault', header: { zh: '故障', en: 'Faults' } },
    ],
    rankBy: ['gas_alarm', 'linkage_failed'],
  },
  dashboard: {
    file: 'gas-detectors.json',
    title: { zh: '智安 可燃气体探测', en: 'Gas detectors' },
    panels: [
      { field: 'gas_lel_pct', select: 'max', fill: 'none', w: 12, h: 9 },
      {
        type: 'timeseries',
        title: { zh: '燃气报警', en: 'Gas alarms' },
        w: 12,
        h: 9,
        query: `SELECT count("alert_id") FROM "alert_event" WHERE "type" = 'gas_detector.gas_alarm' AND "action" = 'raised' AND "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time($__interval), "device_id" fill(none)`,
        custom: { drawStyle: 'bars' },
      },
    ],
  },
  alerts: {
    gas_alarm: {
      severity: 'critical',
      // The micro fire station handles gas leaks as it does fires (3 min on site).
      crew: 'fire_safety',
      // The valve stays shut and the room unsafe until a person found the leak: resolved by a person.
      latched: true,
      // A gas leak at alarm level counts as a fire in the estate: responders need the fire passage
      // clear and the lifts out of normal service the same way (one spark from a lift motor or a car
      // is the ignition), so the cross-device rules treat it like a smoke alarm.
      fire: true,
      title: { zh: '可燃气体报警', en: 'Gas alarm' },
      message: {
        zh: '{name} 可燃气体报警[({gas_lel_pct}%LEL)]:请关阀、开窗通风、禁止明火和开关电器,并到场',
        en: '{name}: gas alarm[ ({gas_lel_pct} %LEL)]; shut the valve, ventilate, no flames or switches, go there',
      },
      params: { low_pct: num(20, 1, 25, '%LEL'), for: dur('10s'), clear_for: dur('60s') },
      sla: { accept: 1 * MIN, arrive: 3 * MIN },
      triggers: [held(deviceAlarm, { for: false }), held((c) => lel(c) >= setPoint(c))],
    },
    linkage_failed: {
      severity: 'major',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '燃气切断阀未联动', en: 'Gas valve did not close' },
      message: {
        zh: '{name} 报警 {held_s} 秒后切断阀仍未关闭,请人工关阀',
        en: '{name}: the shut-off valve is still not closed {held_s} s into the alarm; close it by hand',
      },
      params: { for: dur('30s') },
      triggers: [held((c) => c.params.has_valve === true && inAlarm(c) && c.s.valve !== 'closed')],
    },
    fault: faultAlert(
      { zh: '燃气探测器故障', en: 'Gas detector fault' },
      { zh: '{name} 报告故障(传感器失效或过期)', en: '{name} reports a fault (sensor failed or expired)' },
    ),
    // Mains powered: hourly heartbeat, offline after 2 × 1 h + 30 min.
    offline: offlineAlert(2, '30m'),
  },
} as const satisfies KindDefinition
