import {
  BATTERY_PCT,
  bool,
  dur,
  type KindDefinition,
  lowBatteryAlert,
  offlineAlert,
  onEvent,
  oneOf,
  REPORT_INTERVAL,
  type RuleContext,
  text,
} from './types.ts'

const MIN = 60_000

/** The press an event names; a press without data is a plain (short) press. */
const pressOf = (c: RuleContext) =>
  c.event?.type === 'pressed' ? (c.event.data.press ?? 'short') : undefined
/**
 * A call for help: any press but `cancel`. Where the button asks for a long press (public toilets,
 * where children press buttons), a short one is not counted: vendors report that a ≥ 1.5 s hold cuts
 * accidental presses by about nine in ten.
 */
const sosPress = (c: RuleContext) => {
  const press = pressOf(c)
  if (press === undefined || press === 'cancel') return false
  return press === 'long' || c.params.long_press_only !== true
}

/**
 * One-key alarm (居民一键报警) by the bed of an elderly resident living alone, in a public toilet or in
 * a lift car: a battery button (LoRaWAN / NB-IoT) that sends `pressed` and a daily heartbeat.
 */
export const sos_button = {
  id: 'sos_button',
  names: { zh: '一键报警', en: 'SOS button' },
  interval_s: 86_400,
  state: {
    battery_pct: BATTERY_PCT,
  },
  events: {
    pressed: {
      label: { zh: '按下', en: 'Pressed' },
      data: {
        press: oneOf('按键方式', 'Press', ['short', 'long', 'cancel'], {
          short: { zh: '短按', en: 'short press' },
          long: { zh: '长按', en: 'long press' },
          cancel: { zh: '取消', en: 'cancel' },
        }),
      },
    },
  },
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    // Only a long press calls for help (a button in a public place).
    long_press_only: bool('仅长按报警', 'Long press only'),
    // A button in a lift car: the id of that lift (the car's alerts and the press belong together).
    lift: text('所在电梯', 'Lift (device id)', 64),
  },
  // In a lift car: a call for help shows on that lift too (elevator.sos_in_car); this alert pages.
  links: [
    { event: 'pressed', param: 'lift', kind: 'elevator', as: { event: 'sos_pressed' }, when: sosPress },
  ],
  simulator: {
    behaviour: 'sos_button',
    mix: { weight: 0, abbr: 'sos' },
    healthy: (n) => ({ battery_pct: 95 - (n % 10) }),
    faulty: { state: { battery_pct: 5 }, raises: 'low_battery' },
  },
  view: {
    title: { zh: '一键报警', en: 'SOS buttons' },
    order: 8,
    columns: [{ field: 'battery_pct', header: { zh: '电量', en: 'Battery' } }],
  },
  report: {
    id: 'sos_buttons',
    title: { zh: '一键报警', en: 'SOS buttons' },
    device: { zh: '报警按钮', en: 'Button' },
    counts: [
      { alert: 'sos', header: { zh: '求助', en: 'Calls for help' } },
      { alert: 'cancelled', header: { zh: '取消', en: 'Cancelled' } },
    ],
    rankBy: ['sos'],
  },
  dashboard: {
    file: 'sos-buttons.json',
    title: { zh: '智安 一键报警', en: 'SOS buttons' },
    panels: [
      {
        type: 'timeseries',
        title: { zh: '求助次数', en: 'Calls for help' },
        w: 12,
        h: 8,
        query: `SELECT count("alert_id") FROM "alert_event" WHERE "type" = 'sos_button.sos' AND "action" = 'raised' AND "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time($__interval), "device_id" fill(none)`,
        custom: { drawStyle: 'bars' },
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
  alerts: {
    sos: {
      severity: 'critical',
      crew: 'property_duty',
      // A cancel press does not end it: someone else may have pressed it, or the resident pressed by
      // mistake after all; the duty person calls back or goes there, then resolves it.
      latched: true,
      title: { zh: '一键报警求助', en: 'SOS: call for help' },
      message: {
        zh: '{name} 一键报警求助,请立即联系住户并到场',
        en: '{name}: SOS pressed; call the resident and go there now',
      },
      params: {},
      // The duty person accepts within 2 min (else the escalation chain moves on) and is there within
      // 10 min: an estate guard should not be slower than the city's ambulance (urban 120 response
      // under 12 min, 关于进一步完善院前医疗急救服务的指导意见, 国卫医发〔2020〕19号).
      sla: { accept: 2 * MIN, arrive: 10 * MIN },
      // Every press is news: a second press while open re-triggers it.
      triggers: [onEvent(sosPress)],
    },
    cancelled: {
      severity: 'info',
      crew: 'property_duty',
      latched: false,
      title: { zh: '一键报警已按取消', en: 'SOS cancel pressed' },
      message: {
        zh: '{name} 按了取消键(求助仍需人工确认后关闭)',
        en: '{name}: cancel pressed (an open call for help still needs a person to close it)',
      },
      params: { clear_for: dur('10m') },
      triggers: [onEvent((c) => pressOf(c) === 'cancel', { clearFor: 'clear_for' })],
    },
    low_battery: lowBatteryAlert(),
    offline: offlineAlert(2, '1h'),
  },
} as const satisfies KindDefinition
