import {
  bool,
  count,
  dur,
  float,
  held,
  int,
  type KindDefinition,
  num,
  offlineAlert,
  onEvent,
  oneOf,
  REPORT_INTERVAL,
  type RuleContext,
  type Text,
  text,
} from './types.ts'

const n = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN)
const stopped = (c: RuleContext) => c.s.moving === false
const doorOpen = (c: RuleContext) => c.s.door === 'open' || c.s.door === 'opening'
const code = (c: RuleContext) => c.s.fault_code
/**
 * A fault code is active: the one the state reports, or any begun and not yet ended by a fault event
 * (GB/T 24476-2017 §11 begin/end events; several faults can be active at once).
 */
const hasCode = (c: RuleContext, k: number) =>
  code(c) === k || (Array.isArray(c.s.fault_codes) && c.s.fault_codes.includes(k))
/** Modes in which trapped/door rules do not alert (domain-catalog §6.3: inspection and fire modes). */
const GATED_MODES = new Set(['inspection', 'fire_return', 'firefighter'])
/** Gated on the effective mode: `service_mode`, or a mode code (43 inspection, 44/45 fire) in `fault_code`. */
const serviceModeGate = (c: RuleContext) => {
  const mode = modeOf(c)
  return mode !== undefined && GATED_MODES.has(mode) ? `service_mode:${mode}` : undefined
}
const rated = (c: RuleContext) => n(c.params.rated_speed)
/** 1.2 × 1.5 is 1.7999999999999998 in floating point; "above" means above the printed value. */
const EPSILON = 1e-9
/** GB/T 24476-2017 event codes 42–47 → service mode; 40 is back to normal. */
const MODE_OF_CODE: Record<number, string> = {
  40: 'normal',
  42: 'out_of_service',
  43: 'inspection',
  44: 'fire_return',
  45: 'firefighter',
  46: 'emergency_power',
  47: 'earthquake',
}
const MODE_TEXT: Record<string, Text> = {
  out_of_service: { zh: '停止服务', en: 'out of service' },
  inspection: { zh: '检修', en: 'inspection' },
  fire_return: { zh: '消防返回', en: 'fire return' },
  firefighter: { zh: '消防员运行', en: 'firefighter operation' },
  emergency_power: { zh: '应急电源运行', en: 'emergency power' },
  earthquake: { zh: '地震', en: 'earthquake' },
}
/** The lift said something about its mode, and it is normal service (not inspection, fire, out of service…). */
const inNormalService = (c: RuleContext) =>
  (c.s.service_mode !== undefined || c.s.fault_code !== undefined) && modeOf(c) === undefined
const modeOf = (c: RuleContext): string | undefined => {
  if (typeof c.s.service_mode === 'string' && c.s.service_mode !== 'normal') return c.s.service_mode
  const m = MODE_OF_CODE[n(code(c))]
  return m && m !== 'normal' ? m : undefined
}
/** Alerts that count as a fault for `frequent_faults`. */
const FAULTS = [
  'trapped',
  'moving_door_open',
  'overtravel_top',
  'overtravel_bottom',
  'overspeed',
  'stopped_outside_zone',
  'safety_circuit_open',
  'door_fault',
  'restart_blocked',
  'power_loss',
] as const

/** GB/T 24476-2017 fault starts of fault codes (≥ 1, not the mode/event codes 40–47 nor the alarm button 90), in InfluxQL. */
const FAULT_STARTS = `"type" = 'fault' AND "active" = true AND "code" >= 1 AND ("code" < 40 OR "code" > 47) AND "code" != 90 AND "estate" =~ /^$estate$/ AND $timeFilter`

/**
 * Passenger lift monitored by an IoT terminal (GB/T 24476-2017 §9 real-time status, §11 faults).
 * Field names follow research/domain-catalog.md §1.4 in snake_case.
 */
export const elevator = {
  id: 'elevator',
  names: { zh: '电梯', en: 'Elevator' },
  interval_s: 60,
  state: {
    floor: int('当前楼层', 'Floor', -20, 300),
    direction: oneOf('运行方向', 'Direction', ['up', 'down', 'none'], {
      up: { zh: '上行', en: 'up' },
      down: { zh: '下行', en: 'down' },
      none: { zh: '停止', en: 'idle' },
    }),
    door: oneOf('轿门状态', 'Door', ['open', 'closed', 'opening', 'closing'], {
      open: { zh: '开', en: 'open' },
      closed: { zh: '关', en: 'closed' },
      opening: { zh: '开门中', en: 'opening' },
      closing: { zh: '关门中', en: 'closing' },
    }),
    moving: bool('运行中', 'Moving'),
    in_door_zone: bool('平层(门区内)', 'In door zone'),
    passenger: bool('轿内有人', 'Passenger inside'),
    speed: float('运行速度', 'Speed', 0, 20, 'm/s'),
    service_mode: oneOf(
      '服务模式',
      'Service mode',
      [
        'normal',
        'inspection',
        'fire_return',
        'firefighter',
        'emergency_power',
        'earthquake',
        'out_of_service',
      ],
      {
        normal: { zh: '正常', en: 'normal' },
        inspection: { zh: '检修', en: 'inspection' },
        fire_return: { zh: '消防返回', en: 'fire return' },
        firefighter: { zh: '消防员运行', en: 'firefighter' },
        emergency_power: { zh: '应急电源', en: 'emergency power' },
        earthquake: { zh: '地震', en: 'earthquake' },
        out_of_service: { zh: '停止服务', en: 'out of service' },
      },
    ),
    // GB/T 24476-2017 fault/event codes (0 none, 1–8 faults, 40–47 events, 90 alarm button); 91–93 are Chongqing extensions.
    fault_code: int('故障代码', 'Fault code', 0, 999),
    power_source: oneOf('供电', 'Power source', ['mains', 'battery'], {
      mains: { zh: '市电', en: 'mains' },
      battery: { zh: '备用电池', en: 'battery' },
    }),
  },
  events: {
    alarm_button: { label: { zh: '报警按钮', en: 'Alarm button' }, data: {} },
    fault: {
      label: { zh: '故障', en: 'Fault' },
      data: { code: int('故障代码', 'Fault code', 0, 999), active: bool('进行中', 'Active') },
    },
    // A one-key alarm (sos_button) in this car was pressed for help (its `lift` link).
    sos_pressed: { label: { zh: '轿厢一键报警', en: 'SOS pressed in the car' }, data: {} },
    // From the lift's own AI terminal, or an ai_camera watching the car (its `elevator` link).
    ebike_in_lift: {
      label: { zh: '电动车进入轿厢', en: 'E-bike entered the car' },
      data: {
        snapshot_url: text('抓拍图片', 'Snapshot', 1024),
        confidence: float('置信度', 'Confidence', 0, 1),
      },
    },
  },
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    bottom_floor: int('最低层', 'Bottom floor', -20, 300),
    top_floor: int('最高层', 'Top floor', -20, 300),
    rated_speed: float('额定速度', 'Rated speed', 0.1, 20, 'm/s'),
  },
  /** GB/T 24476-2017 §11 fault begin/end events fold into `fault_code`; mode events 40–47 into `service_mode`. */
  foldEvent: (type, data, s) => {
    if (type !== 'fault' || typeof data.code !== 'number') return
    const active = data.active !== false
    const mode = MODE_OF_CODE[data.code]
    if (mode) s.service_mode = active ? mode : 'normal'
    else if (data.code === 41) s.power_source = active ? 'battery' : 'mains'
    else if (data.code !== 90) {
      // Every begun fault stays active until its own end event (code 1 then 7: both active).
      const codes = new Set<number>(Array.isArray(s.fault_codes) ? (s.fault_codes as number[]) : [])
      if (active) {
        codes.add(data.code)
        s.fault_code = data.code
      } else {
        codes.delete(data.code)
        if (s.fault_code === data.code) s.fault_code = [...codes].at(-1) ?? 0
      }
      s.fault_codes = [...codes]
    }
  },
  // The state's `fault_code: 0` is the controller saying "no fault": it ends faults whose end event was lost.
  foldReading: (values, s) => {
    if (values.fault_code === 0 && Array.isArray(s.fault_codes) && s.fault_codes.length > 0)
      s.fault_codes = []
  },
  simulator: {
    behaviour: 'elevator',
    mix: { weight: 6, abbr: 'elev' },
    inBuilding: true,
    params: (i) => ({ bottom_floor: -1, top_floor: 6 + (i % 28), rated_speed: [1, 1.5, 1.75, 2.5][i % 4] }),
    // A trip with passengers: moving, so neither trapped nor a door alert.
    healthy: (n) => ({
      floor: 1 + (n % 18),
      direction: n % 36 < 18 ? 'up' : 'down',
      door: 'closed',
      moving: true,
      in_door_zone: n % 3 === 0,
      passenger: true,
      speed: 1 + (n % 5) / 10,
      service_mode: 'normal',
      fault_code: 0,
      power_source: 'mains',
    }),
    faulty: { state: { fault_code: 1 }, raises: 'safety_circuit_open' },
  },
  report: { section: 'lifts' },
  // E-bikes carried into each lift (each sighting: a repeat re-triggers the open alert).
  extraReports: [
    {
      id: 'ebike_in_lift',
      title: { zh: '电动车进电梯(按电梯)', en: 'E-bikes in lifts (per lift)' },
      device: { zh: '电梯', en: 'Lift' },
      counts: [{ alert: 'ebike_in_lift', header: { zh: '发现次数', en: 'Sightings' } }],
      occurrences: true,
    },
  ],
  view: { panel: 'lift_cards', title: { zh: '电梯运行', en: 'Elevators' }, order: 1, wide: true },
  dashboard: {
    file: 'elevators.json',
    title: { zh: '智安 电梯', en: 'Elevators' },
    panels: [
      {
        type: 'barchart',
        title: { zh: '各电梯故障次数', en: 'Faults per lift' },
        w: 12,
        h: 9,
        // Fault starts of fault codes only: not ends, mode/event codes 40–47 or the alarm button 90 (grafana/README.md).
        query: `SELECT count("code") AS "faults" FROM "elevator_event" WHERE ${FAULT_STARTS} GROUP BY "device_id"`,
        format: 'table',
        options: { xField: 'device_id' },
        transformations: [{ id: 'merge', options: {} }],
      },
      {
        type: 'table',
        title: { zh: '故障最多的电梯', en: 'Most faulty lifts' },
        w: 12,
        h: 9,
        query: `SELECT count("code") AS "faults", last("code") AS "last_code" FROM "elevator_event" WHERE ${FAULT_STARTS} GROUP BY "device_id", "building", "estate"`,
        transformations: [
          { id: 'merge', options: {} },
          { id: 'organize', options: { excludeByName: { Time: true } } },
          { id: 'sortBy', options: { sort: [{ field: 'faults', desc: true }] } },
          { id: 'limit', options: { limitField: 10 } },
        ],
      },
      {
        type: 'timeseries',
        title: { zh: '困人事件', en: 'Trapped-passenger incidents' },
        w: 12,
        h: 8,
        query: `SELECT count("alert_id") FROM "alert_event" WHERE "type" = 'elevator.trapped' AND "action" = 'raised' AND "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time($__interval), "device_id" fill(none)`,
        custom: { drawStyle: 'bars' },
      },
      {
        field: 'fault_code',
        select: 'max',
        fill: 'none',
        where: '"fault_code" > 0',
        title: { zh: '故障代码上报', en: 'Fault codes reported (GB/T 24476)' },
        w: 12,
        h: 8,
        custom: { drawStyle: 'points' },
      },
      {
        field: 'floor',
        select: 'last',
        fill: 'previous',
        title: { zh: '楼层', en: 'Floor' },
        w: 12,
        h: 8,
        custom: { lineInterpolation: 'stepAfter' },
      },
      { field: 'speed', select: 'mean', fill: 'none', w: 12, h: 8 },
    ],
  },
  // Thresholds: domain-catalog §1.5 (sources there); every one is an estate-overridable param.
  alerts: {
    trapped: {
      severity: 'critical',
      crew: 'elevator_contractor',
      // The device clears it when the door opens; the incident stays open until rescue is confirmed.
      latched: true,
      title: { zh: '困人', en: 'Passenger trapped' },
      message: {
        zh: '{name} [{floor}层]困人({where}) 已持续 {held_s} 秒',
        en: '{name}: passenger trapped[ at floor {floor}] ({where}) for {held_s} s',
      },
      params: { for: dur('60s'), for_out_of_zone: dur('30s') },
      // The contractor accepts within 5 min and is on site within 30 min (TSG T5002-2017 Art. 5 as cited by DB32/T 4130; domain-catalog §0.2).
      sla: { accept: 5 * 60_000, arrive: 30 * 60_000 },
      triggers: [
        held(
          (c) => c.s.passenger === true && stopped(c) && c.s.door === 'closed' && c.s.in_door_zone !== false,
        ),
        held(
          (c) => c.s.passenger === true && stopped(c) && c.s.door === 'closed' && c.s.in_door_zone === false,
          {
            for: 'for_out_of_zone',
          },
        ),
      ],
      suppressWhen: serviceModeGate,
      vars: (c) =>
        c.s.in_door_zone === false
          ? { where: { zh: '非平层', en: 'between floors' }, subtype: 'out_of_zone' }
          : { where: { zh: '平层', en: 'at floor level' }, subtype: 'in_zone' },
    },
    moving_door_open: {
      severity: 'critical',
      crew: 'elevator_contractor',
      latched: true,
      title: { zh: '开门走车', en: 'Moving with door open' },
      message: {
        zh: '{name} [{floor}层 ]轿厢门开启状态下运行,建议立即停用',
        en: '{name} moved with the door open[ at floor {floor}]; take it out of service',
      },
      // `for` is the confirm window: sensor boxes detect stops late (domain-catalog §6.2). Code 5 (UCM) is immediate.
      params: { for: dur('5s') },
      triggers: [
        held((c) => doorOpen(c) && c.s.moving === true && c.s.in_door_zone === false),
        held((c) => hasCode(c, 5), { for: false }),
      ],
    },
    overtravel_top: {
      severity: 'critical',
      crew: 'elevator_contractor',
      latched: true,
      title: { zh: '冲顶', en: 'Overtravel at top' },
      message: { zh: '{name} 冲顶[({floor}层)]', en: '{name} overtravelled at the top[ (floor {floor})]' },
      params: { for: dur('20s') },
      triggers: [
        held(
          (c) =>
            n(c.s.floor) >= n(c.params.top_floor) && c.s.direction === 'up' && c.s.in_door_zone === false,
        ),
        held((c) => hasCode(c, 92), { for: false }),
      ],
    },
    overtravel_bottom: {
      severity: 'critical',
      crew: 'elevator_contractor',
      latched: true,
      title: { zh: '蹲底', en: 'Overtravel at bottom' },
      message: { zh: '{name} 蹲底[({floor}层)]', en: '{name} overtravelled into the pit[ (floor {floor})]' },
      params: { for: dur('20s') },
      triggers: [
        held(
          (c) =>
            n(c.s.floor) <= n(c.params.bottom_floor) &&
            c.s.direction === 'down' &&
            c.s.in_door_zone === false,
        ),
        held((c) => hasCode(c, 91), { for: false }),
      ],
    },
    overspeed: {
      severity: 'critical',
      crew: 'elevator_contractor',
      latched: true,
      title: { zh: '超速', en: 'Overspeed' },
      message: {
        zh: '{name} 超速:{speed} m/s[(额定 {rated_speed} m/s)]',
        en: '{name} overspeed: {speed} m/s[ (rated {rated_speed} m/s)]',
      },
      // 1.2× sustained, 1.4× at once (one firmware's tiers, domain-catalog §1.3). Needs the device param rated_speed.
      params: { ratio: num(1.2, 1, 5), ratio_instant: num(1.4, 1, 5), for: dur('3s') },
      triggers: [
        held((c) => n(c.s.speed) > c.p.ratio! * rated(c) + EPSILON),
        held((c) => n(c.s.speed) > c.p.ratio_instant! * rated(c) + EPSILON, { for: false }),
      ],
      vars: (c) => ({ rated_speed: rated(c) }),
    },
    stopped_outside_zone: {
      severity: 'major',
      crew: 'elevator_contractor',
      latched: false,
      title: { zh: '门区外停梯', en: 'Stopped outside door zone' },
      message: {
        zh: '{name} 在门区外停梯[({floor}层附近)]',
        en: '{name} stopped outside the door zone[ (near floor {floor})]',
      },
      params: { for: dur('45s') },
      triggers: [
        // With a passenger inside it is `trapped` (between floors) instead.
        held((c) => stopped(c) && c.s.in_door_zone === false && c.s.passenger !== true),
        held((c) => hasCode(c, 4), { for: false }),
      ],
      suppressWhen: serviceModeGate,
    },
    safety_circuit_open: {
      severity: 'major',
      crew: 'elevator_contractor',
      latched: true,
      title: { zh: '安全回路断路', en: 'Safety circuit open' },
      message: {
        zh: '{name} 运行中安全回路断路(故障代码 1)',
        en: '{name}: safety circuit opened (fault code 1)',
      },
      params: {},
      triggers: [held((c) => hasCode(c, 1))],
    },
    door_fault: {
      severity: 'minor',
      crew: 'elevator_contractor',
      latched: false,
      title: { zh: '门故障', en: 'Door fault' },
      message: { zh: '{name} [{floor}层 ]开关门故障', en: '{name}: door fault[ at floor {floor}]' },
      // Codes 2 (closing) / 3 (opening); or the door left open while stopped for `for` (platform default 120 s).
      params: { for: dur('120s') },
      triggers: [
        held((c) => hasCode(c, 2) || hasCode(c, 3), { for: false }),
        held((c) => stopped(c) && (c.s.door === 'open' || c.s.door === 'closing')),
      ],
      suppressWhen: serviceModeGate,
    },
    door_cycling: {
      severity: 'minor',
      crew: 'property_duty',
      latched: false,
      title: { zh: '反复开关门', en: 'Door cycling' },
      message: {
        zh: '{name} [{floor}层 ]反复开关门 {count} 次未运行(可能有遮挡)',
        en: '{name}: door cycled {count} times[ at floor {floor}] without running (obstruction?)',
      },
      params: { count: num(5, 2, 1000), window: dur('10m') },
      triggers: [
        count({
          hit: (c) =>
            c.input?.door !== undefined &&
            doorOpen(c) &&
            (c.prev.door === 'closed' || c.prev.door === 'closing') &&
            c.s.moving !== true,
          // A normal trip ends it, and restarts the tally: opening at every landing is not cycling.
          clearWhen: (c) => c.s.moving === true,
        }),
      ],
      suppressWhen: serviceModeGate,
    },
    restart_blocked: {
      severity: 'major',
      crew: 'elevator_contractor',
      latched: true,
      title: { zh: '阻止再启动故障', en: 'Restart blocked' },
      message: {
        zh: '{name} 阻止再启动故障(代码 {fault_code})',
        en: '{name}: fault preventing restart (code {fault_code})',
      },
      // 6 motor run-time limiter, 7 floor position lost, 8 other fault preventing restart.
      params: {},
      triggers: [held((c) => hasCode(c, 6) || hasCode(c, 7) || hasCode(c, 8))],
    },
    power_loss: {
      severity: 'major',
      severityWhen: (c) => (c.s.passenger === true ? 'critical' : undefined),
      crew: 'property_engineering',
      latched: false,
      title: { zh: '主电源断电', en: 'Main power lost' },
      message: { zh: '{name} 主电源断电', en: '{name}: main power lost' },
      params: {},
      triggers: [held((c) => c.s.power_source === 'battery' || hasCode(c, 41))],
    },
    alarm_button: {
      severity: 'critical',
      crew: 'property_duty',
      latched: true,
      title: { zh: '报警按钮', en: 'Alarm button' },
      message: {
        zh: '{name} 轿厢报警按钮被按下[({floor}层)]',
        en: '{name}: alarm button pressed[ (floor {floor})]',
      },
      params: {},
      triggers: [
        onEvent(
          (c) =>
            c.event?.type === 'alarm_button' ||
            (c.event?.type === 'fault' && c.event.data.code === 90 && c.event.data.active !== false) ||
            c.input?.fault_code === 90,
        ),
      ],
    },
    mode_change: {
      severity: 'info',
      severityWhen: (c) => (modeOf(c) === 'fire_return' || modeOf(c) === 'firefighter' ? 'major' : undefined),
      crew: 'property_duty',
      latched: false,
      title: { zh: '运行模式变更', en: 'Mode change' },
      message: { zh: '{name} 进入{mode}模式', en: '{name} entered {mode} mode' },
      params: {},
      triggers: [held((c) => modeOf(c) !== undefined)],
      // inspection → fire return is news too: re-triggered with the new mode's text and severity.
      retriggerOn: modeOf,
      vars: (c) => ({ mode: MODE_TEXT[modeOf(c) ?? ''] ?? { zh: '未知', en: 'unknown' } }),
    },
    fire_in_service: {
      severity: 'critical',
      crew: 'fire_safety',
      latched: false,
      title: { zh: '火警时电梯仍在正常运行', en: 'Lift in normal service during a fire' },
      message: {
        zh: '{name} 所在楼栋有火警,电梯仍在正常运行 {held_s} 秒:请切换到消防返回',
        en: 'Fire alarm in the building of {name}, still in normal service after {held_s} s: switch it to fire return',
      },
      // GB 50116-2013 §4.7.1: on a confirmed fire the fire linkage forces every lift to the ground
      // floor — a lift that stays in normal service past `for` missed the recall. The fire comes
      // from the building's detectors and cameras (an alert marked `fire`), never from a lift's mode.
      params: { for: dur('30s') },
      triggers: [held((c) => c.buildingFire === true && inNormalService(c))],
    },
    sos_in_car: {
      // Shown on the lift next to its other alerts; the button's own sos_button.sos pages and
      // escalates (one call for help, one page).
      severity: 'info',
      crew: 'property_duty',
      latched: false,
      title: { zh: '轿厢内一键报警', en: 'SOS in the car' },
      message: {
        zh: '{name} 轿厢内一键报警被按下[({floor}层)],求助由一键报警告警跟进',
        en: '{name}: the SOS button in the car was pressed[ (floor {floor})]; the SOS alert carries the call',
      },
      params: { clear_for: dur('30m') },
      triggers: [onEvent((c) => c.event?.type === 'sos_pressed', { clearFor: 'clear_for' })],
    },
    ebike_in_lift: {
      severity: 'warning',
      crew: 'property_duty',
      latched: false,
      title: { zh: '电动车进电梯', en: 'E-bike in a lift' },
      message: {
        zh: '{name} 轿厢内发现电动车,请劝离[(抓拍:{snapshot_url})]',
        en: 'E-bike in the car of {name}; ask the rider to take it out[ (snapshot: {snapshot_url})]',
      },
      // 高层民用建筑消防安全管理规定 (应急管理部令第5号) art. 37 and local e-bike rules forbid e-bikes
      // indoors; one alert per `clear_for` quiet time, each further sighting a re-trigger.
      params: { clear_for: dur('10m') },
      triggers: [onEvent((c) => c.event?.type === 'ebike_in_lift', { clearFor: 'clear_for' })],
    },
    frequent_faults: {
      severity: 'major',
      crew: 'community_grid',
      latched: true,
      title: { zh: '故障频发', en: 'Frequent faults' },
      message: {
        zh: '{name} {window_d} 天内故障 {count} 次,建议大修或更新',
        en: '{name}: {count} faults within {window_d} days; consider overhaul or replacement',
      },
      params: { count: num(3, 2, 1000), window: dur('30d') },
      triggers: [count({ onRaised: FAULTS })],
      vars: (c) => ({ window_d: Math.round(c.p.window! / 86_400_000) }),
    },
    offline: offlineAlert(3, '30s'),
  },
} as const satisfies KindDefinition
