import {
  BATTERY_PCT,
  bool,
  dur,
  float,
  held,
  type KindDefinition,
  lowBatteryAlert,
  offlineAlert,
  onEvent,
  REPORT_INTERVAL,
  type RuleContext,
} from './types.ts'

const MIN = 60_000

/**
 * A real smoke alarm: the device's alarm flag, unless the device says the alarm is its own self-test
 * (the test button sounds the same horn; GB 20517 standalone detectors must have one). A detector that
 * reports both is being tested.
 */
const smokeAlarm = (c: RuleContext) => c.s.alarm === true && c.s.test_alarm !== true

/**
 * Standalone photoelectric smoke alarm (独立式感烟火灾探测报警器, GB 20517-2025, mandatory), NB-IoT
 * or LoRaWAN (e.g. Milesight GS524N), in stairwells and corridors. The detector decides "smoke": the
 * hub takes its alarm flag and does not second-guess it from `smoke_db_m`. GB 20517 asks for a battery
 * check at least every 24 h, so the heartbeat is daily and offline is 2 × 24 h + 1 h.
 */
export const smoke_detector = {
  id: 'smoke_detector',
  names: { zh: '烟感', en: 'Smoke detector' },
  interval_s: 86_400,
  state: {
    alarm: bool('烟雾报警', 'Smoke alarm'),
    test_alarm: bool('自检报警', 'Test alarm'),
    smoke_db_m: float('烟雾浓度', 'Smoke density', 0, 20, 'dB/m'),
    temperature_c: float('温度', 'Temperature', -40, 125, '°C'),
    battery_pct: BATTERY_PCT,
    removed: bool('被拆除', 'Removed from base'),
    fault: bool('故障', 'Fault'),
  },
  events: {
    // The hush button: the horn stops, the alarm stays an alarm until a person resolves it.
    silenced: { label: { zh: '消音', en: 'Silenced' }, data: {} },
    self_test: { label: { zh: '自检', en: 'Self-test' }, data: { passed: bool('自检通过', 'Passed') } },
  },
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {},
  simulator: {
    // Not in a synthesised estate yet: the scaled estates and the benchmark keep the four-kind mix they were measured with.
    mix: { weight: 0, abbr: 'sd' },
    inBuilding: true,
    healthy: (n) => ({
      alarm: false,
      test_alarm: false,
      smoke_db_m: 0.01 * (n % 5),
      temperature_c: 18 + (n % 8),
      battery_pct: 95 - (n % 10),
      removed: false,
      fault: false,
    }),
    // Its random fault is a device fault, never a fire: the demo must not cry fire by chance.
    faulty: { state: { fault: true }, raises: 'fault' },
  },
  view: {
    title: { zh: '烟感', en: 'Smoke detectors' },
    order: 4,
    columns: [
      {
        field: 'alarm',
        header: { zh: '状态', en: 'State' },
        yes: { zh: '报警', en: 'ALARM' },
        no: { zh: '正常', en: 'normal' },
      },
      { field: 'smoke_db_m' },
      { field: 'temperature_c' },
      {
        field: 'removed',
        header: { zh: '底座', en: 'Base' },
        yes: { zh: '已拆', en: 'removed' },
        no: { zh: '在位', en: 'fitted' },
      },
      { field: 'battery_pct', header: { zh: '电量', en: 'Battery' } },
    ],
  },
  report: {
    id: 'smoke_detectors',
    title: { zh: '烟感', en: 'Smoke detectors' },
    device: { zh: '烟感', en: 'Smoke detector' },
    counts: [
      { alert: 'fire_alarm', header: { zh: '火警', en: 'Fire alarms' } },
      { alert: 'removed', header: { zh: '被拆除', en: 'Removed' } },
      { alert: 'fault', header: { zh: '故障', en: 'Faults' } },
    ],
    rankBy: ['fire_alarm', 'removed'],
  },
  dashboard: {
    file: 'smoke-detectors.json',
    title: { zh: '智安 烟感', en: 'Smoke detectors' },
    panels: [
      {
        type: 'timeseries',
        title: { zh: '火警', en: 'Fire alarms' },
        w: 12,
        h: 8,
        query: `SELECT count("alert_id") FROM "alert_event" WHERE "type" = 'smoke_detector.fire_alarm' AND "action" = 'raised' AND "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time($__interval), "device_id" fill(none)`,
        custom: { drawStyle: 'bars' },
      },
      { field: 'smoke_db_m', select: 'max', fill: 'none', w: 12, h: 8 },
      { field: 'temperature_c', select: 'max', fill: 'none', w: 12, h: 8 },
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
  alerts: {
    fire_alarm: {
      severity: 'critical',
      crew: 'fire_safety',
      // Silencing the horn or the smoke clearing is not "checked": a person confirms it on site.
      latched: true,
      fire: true,
      title: { zh: '烟感火警', en: 'Smoke alarm' },
      message: {
        zh: '{name} 烟雾报警,请立即到场确认',
        en: '{name}: smoke alarm; confirm on site now',
      },
      params: {},
      // The micro fire station arrives within 3 min of a fire alarm (微型消防站建设标准(试行), 2015:
      // "3分钟到场"); the duty person confirms by the fastest means first (GB 25506-2010 §4.2.2).
      // Not accepted within 1 min, the default chain reaches the property duty (team:property_duty).
      sla: { accept: 1 * MIN, arrive: 3 * MIN },
      triggers: [held(smokeAlarm, { for: false })],
    },
    removed: {
      // A detector off its base protects nobody: safety degraded, fix the same day.
      severity: 'major',
      crew: 'property_duty',
      latched: false,
      title: { zh: '烟感被拆除', en: 'Smoke detector removed' },
      message: { zh: '{name} 已从底座拆下,请复位', en: '{name} was taken off its base; refit it' },
      params: {},
      triggers: [held((c) => c.s.removed === true, { for: false })],
    },
    fault: {
      severity: 'warning',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '烟感故障', en: 'Smoke detector fault' },
      message: {
        zh: '{name} 报告故障或自检未通过(如迷宫污染)',
        en: '{name} reports a fault or a failed self-test (e.g. a dirty chamber)',
      },
      // A failed self-test is a fault too: it is an event, so it stays until a person resolves it or a
      // day passes without another failure.
      params: { clear_for_test: dur('24h') },
      triggers: [
        held((c) => c.s.fault === true, { for: false }),
        onEvent((c) => c.event?.type === 'self_test' && c.event.data.passed === false, {
          clearFor: 'clear_for_test',
        }),
      ],
    },
    low_battery: lowBatteryAlert(),
    offline: offlineAlert(2, '1h'),
  },
} as const satisfies KindDefinition
