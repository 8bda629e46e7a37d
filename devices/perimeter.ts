import {
  bool,
  count,
  dur,
  float,
  held,
  type KindDefinition,
  num,
  offlineAlert,
  REPORT_INTERVAL,
  type RuleContext,
  schedule,
  text,
} from './types.ts'

/**
 * A beam or fence trigger that counts towards an intrusion: the zone is armed (the panel says so)
 * and the time is inside its arming hours. Outside them people walk past the beams all day: those
 * triggers are not even counted.
 */
const armedTrigger = (c: RuleContext) =>
  c.event?.type === 'trigger' && c.s.armed === true && c.within('arm_schedule')

/**
 * One zone (防区) of the estate's perimeter (周界): active infrared beam pairs (主动红外对射) and/or a
 * pulse electric fence (脉冲电子围栏, GB/T 7946-2015) or vibration cable along the wall, reported by
 * the perimeter alarm panel (入侵报警控制器, GB/T 32581-2016). The panel reports the zone's armed
 * state, tamper and fence faults as state and each beam or fence trigger as a `trigger` event naming
 * its beam. The hub decides "intrusion": only while armed and inside the arming hours, and confirmed
 * against birds and leaves.
 */
export const perimeter = {
  id: 'perimeter',
  names: { zh: '周界防区', en: 'Perimeter zone' },
  interval_s: 300,
  state: {
    armed: bool('布防', 'Armed'),
    tamper: bool('防拆报警', 'Tamper'),
    fence_fault: bool('围栏故障', 'Fence fault'),
    // Pulse fences: the peak voltage on the wire (GB/T 7946-2015 caps it; the panel reports a fault below its floor).
    fence_kv: float('脉冲电压', 'Pulse voltage', 0, 15, 'kV'),
  },
  events: {
    trigger: {
      label: { zh: '对射/围栏触发', en: 'Beam or fence trigger' },
      data: { beam: text('探测器', 'Beam', 32) },
    },
  },
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    // The zone's own arming hours (e.g. "21:00-07:00"), over the alert's default and the estate's override.
    arm_schedule: text('布防时段', 'Arming hours', 64),
  },
  simulator: {
    behaviour: 'perimeter',
    mix: { weight: 0, abbr: 'per' },
    healthy: (n) => ({ armed: true, tamper: false, fence_fault: false, fence_kv: 8 + (n % 5) / 10 }),
    faulty: { state: { tamper: true }, raises: 'tamper' },
  },
  view: {
    title: { zh: '周界防区', en: 'Perimeter zones' },
    order: 6,
    columns: [
      { field: 'armed', yes: { zh: '布防', en: 'armed' }, no: { zh: '撤防', en: 'disarmed' } },
      { field: 'tamper', yes: { zh: '被拆', en: 'tampered' }, no: { zh: '正常', en: 'ok' } },
      { field: 'fence_fault', yes: { zh: '故障', en: 'fault' }, no: { zh: '正常', en: 'ok' } },
    ],
  },
  dashboard: {
    file: 'perimeter.json',
    title: { zh: '智安 周界防区', en: 'Perimeter zones' },
    panels: [
      {
        type: 'timeseries',
        title: { zh: '对射/围栏触发(按防区)', en: 'Beam and fence triggers per zone' },
        w: 24,
        h: 8,
        query: `SELECT sum("count") FROM "perimeter_event" WHERE "type" = 'trigger' AND "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time($__interval), "device_id" fill(none)`,
        custom: { drawStyle: 'bars' },
      },
      { field: 'armed', select: 'last', fill: 'previous', w: 12, h: 8 },
      { field: 'fence_kv', select: 'min', fill: 'none', w: 12, h: 8 },
    ],
  },
  report: {
    title: { zh: '周界防区', en: 'Perimeter zones' },
    device: { zh: '防区', en: 'Zone' },
    counts: [
      { alert: 'intrusion', header: { zh: '入侵报警', en: 'Intrusions' } },
      { alert: 'tamper', header: { zh: '防拆报警', en: 'Tamper' } },
      { alert: 'fence_fault', header: { zh: '围栏故障', en: 'Fence faults' } },
    ],
    rankBy: ['intrusion'],
  },
  alerts: {
    intrusion: {
      severity: 'critical',
      crew: 'property_duty',
      latched: true,
      title: { zh: '周界入侵', en: 'Perimeter intrusion' },
      message: {
        zh: '{name} 周界入侵报警({count} 次触发),请保安立即到场核实',
        en: '{name}: perimeter intrusion ({count} triggers); send a guard to check now',
      },
      // Confirmed against birds and leaves: two different beams of the zone within `window`, or
      // `count` triggers of any beam within it (a bird crosses one beam once).
      params: {
        arm_schedule: schedule('22:00-06:00'),
        beams: num(2, 2, 10),
        count: num(3, 2, 20),
        window: dur('60s'),
      },
      triggers: [
        count({ hit: armedTrigger, distinct: (c) => c.event?.data.beam, count: 'beams' }),
        count({ hit: armedTrigger }),
      ],
    },
    tamper: {
      severity: 'major',
      crew: 'property_duty',
      latched: true,
      title: { zh: '周界防拆报警', en: 'Perimeter tamper' },
      message: { zh: '{name} 探测器被拆或被遮挡', en: '{name}: a detector was opened or covered' },
      // Tamper is reported armed or disarmed (GB 50394-2007, 入侵报警系统工程设计规范).
      params: {},
      triggers: [held((c) => c.s.tamper === true)],
    },
    fence_fault: {
      severity: 'minor',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '周界围栏故障', en: 'Perimeter fence fault' },
      message: {
        zh: '{name} 围栏故障(断线、短路或脉冲电压低)已 {held_min} 分钟',
        en: '{name}: fence fault (broken or shorted wire, low pulse voltage) for {held_min} min',
      },
      // A fault that lasts `for`: a branch touching the wire for a moment is no fault.
      params: { for: dur('2m'), clear_for: dur('1m') },
      triggers: [held((c) => c.s.fence_fault === true)],
    },
    offline: offlineAlert(2, '5m'),
  },
} as const satisfies KindDefinition
