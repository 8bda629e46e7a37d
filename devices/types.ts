/**
 * The shape of a device-kind definition. Each kind is declared once, in devices/<kind>.ts, as a
 * plain object; validation, storage field types, dashboard labels and the simulators derive from it.
 */

export interface Text {
  zh: string
  en: string
}

interface FieldBase {
  label: Text
}
export interface BoolField extends FieldBase {
  type: 'bool'
}
export interface NumberField extends FieldBase {
  type: 'int' | 'float'
  unit?: string
  min: number
  max: number
  /**
   * Decimals a person reads: the resolution the sensor means (a water level to the centimetre, a
   * tilt to the degree). Screens and alert texts round to it; stored values keep what was sent.
   */
  decimals?: number
}
export interface EnumField extends FieldBase {
  type: 'enum'
  values: readonly [string, ...string[]]
  valueLabels?: Record<string, Text>
}
export interface StringField extends FieldBase {
  type: 'string'
  maxLength: number
}
export type FieldSpec = BoolField | NumberField | EnumField | StringField
export type Fields = Record<string, FieldSpec>

export interface EventSpec {
  label: Text
  data: Fields
}

export interface KindDefinition {
  /** Topic segment, InfluxDB measurement and file name: `[a-z_]+`. */
  id: string
  names: Text
  /** How often a healthy device reports at least once (heartbeat), in seconds; a device may announce its own in `info.interval_s`. */
  interval_s: number
  /** Telemetry on `<base>/<kind>/<id>/state`; every field optional (devices report on change), unknown keys refused. */
  state: Fields
  /** Discrete events on `<base>/<kind>/<id>/event`, keyed by `type`. */
  events: Record<string, EventSpec>
  /** Properties a hub or user may set on `<base>/<kind>/<id>/set`. */
  settable: Fields
  /** Per-device installation parameters (estate YAML `params`), e.g. an elevator's top floor. */
  params: Fields
  /** Alerts of this kind, keyed by type: the alert id is `<kind>.<type>` (declared below). */
  alerts: Record<string, AlertDefinition>
  /** Fold a discrete event into the device's last known state (e.g. a fault begin/end event sets `fault_code`). */
  foldEvent?: (type: string, data: Record<string, unknown>, s: Record<string, unknown>) => void
  /** Fold a reading's fields into derived state after they are merged (e.g. `fault_code: 0` ends every fault). */
  foldReading?: (values: Record<string, unknown>, s: Record<string, unknown>) => void
  /**
   * Messages of this kind that are about another device (a camera watching a lift, an SOS button in
   * a lift car): the rules apply them to the device a param names, as that device's event or reading.
   */
  links?: readonly DeviceLink[]
  /**
   * How the simulators, the scaled-estate generator and the load generator make devices of this kind
   * (every registered kind declares it, a meta-test checks; absent: `simulatorOf` derives one).
   */
  simulator?: SimulatorSpec
  /** Devices of this kind roll up per estate and zone (parking occupancy): the dashboard's zones and the `zone` trigger count the same. */
  zones?: ZoneRollup
  /** The kind's section of the periodic report (absent: how often each of its alerts, but offline and low battery, was raised per device). */
  report?: KindReport
  /** More alert-count sections of the kind (e-bikes per lift, throws per building), after `report`. */
  extraReports?: readonly CountsReport[]
  /** How the dashboard's estate view shows the kind's devices (absent: a half-width table of every state field). */
  view?: KindView
  /** The kind's Grafana dashboard (grafana/dashboards/, written by `npm run gen`); absent: one time series per numeric or boolean state field. */
  dashboard?: KindDashboard
}

/**
 * A cross-device link: the source kind's event `event`, from a device whose param `param` names a
 * device of kind `kind` (same estate), is applied to that device — as its event `as.event` (the data
 * fields that event declares) or as a reading of the state fields it declares (`as.reading`). Only
 * the rules see it: it is no life sign of the target, and it is applied again when the rules replay
 * the source's journalled message.
 */
export interface DeviceLink {
  event: string
  param: string
  kind: string
  as: { event: string } | { reading: true }
  /** Only when this holds for the source's message (`c.event`, its params): an SOS press, not a cancel. */
  when?: Predicate
}

/** A section of the periodic report (src/reports). */
export type KindReport = NamedReport | CountsReport
/** A section src/reports writes for this kind by name: `lifts` (fault ranking, black list), `fire_passages`, `parking`. */
export interface NamedReport {
  section: string
}
/** Per device, how often each listed alert was raised in the period; devices with none are left out. */
export interface CountsReport {
  /** Table id in CSV, XLSX and HTML (default: the kind id). */
  id?: string
  title: Text
  /** Heading of the device column. */
  device: Text
  counts: readonly { alert: string; header: Text }[]
  /** Rows by the sum of these counts, highest first (default: every count). */
  rankBy?: readonly string[]
  /** One row per building of the devices (a device without one: its own row), not per device. */
  by?: 'device' | 'building'
  /** Count every sighting (an open alert's re-triggers too), not only raises. */
  occurrences?: boolean
}

/** A panel of the estate view. */
export interface KindView {
  /** Heading (default: the kind's name). */
  title?: Text
  /** A named panel of src/web/app/panels/ (the lift cards, the parking zones…); absent: a table of `columns`. */
  panel?: string
  /** Table columns (default: every state field). */
  columns?: readonly ViewColumn[]
  /** Place among the panels, lower first (default: after the declared ones, in devices/index.ts order). */
  order?: number
  /** The whole width of the view rather than half. */
  wide?: boolean
}
export interface ViewColumn {
  field: string
  /** Heading (default: the field's label). */
  header?: Text
  /** A boolean's texts for true and false (default ✓ / ✗). */
  yes?: Text
  no?: Text
  /** A device param shown after the value as its limit (`/ 80 cm`, the param's unit). */
  limitParam?: string
}

/** A boolean state field counted per estate and zone, the zone named by a device param. */
export interface ZoneRollup {
  /** The boolean state field counted (e.g. `occupied`). */
  field: string
  /** The device param naming the zone (devices without it count in `DEFAULT_ZONE`). */
  zoneParam: string
}
/** The zone of a device whose kind rolls up by zone but that names none. */
export const DEFAULT_ZONE = 'default'

export function zoneOf(rollup: ZoneRollup, params: Record<string, unknown>): string {
  const zone = params[rollup.zoneParam]
  return typeof zone === 'string' ? zone : DEFAULT_ZONE
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
/** A declared duration (`dur('1h')`) in ms. */
export function durationMs(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value)
  if (!m) throw new Error(`not a duration: ${value}`)
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!)
}

/**
 * The kind's "online" rule: a device is online while its last life sign is at most this old — the
 * heartbeat interval (its own `info.interval_s`, else the kind's) × `missed` + `grace`, the window of
 * the kind's `offline` alert. `p` are the alert's resolved parameters (an estate's overrides; grace
 * in ms); without them, the kind's defaults.
 */
export function onlineWindowMs(
  def: KindDefinition,
  intervalS?: number | null,
  p?: { missed?: number; grace?: number },
): number {
  const declared = def.alerts.offline?.params
  const missed = p?.missed ?? (declared?.missed?.type === 'number' ? declared.missed.default : 2)
  const grace = p?.grace ?? (declared?.grace?.type === 'duration' ? durationMs(declared.grace.default) : 0)
  return (intervalS ?? def.interval_s) * 1000 * missed + grace
}

/** A Grafana dashboard of one kind's history; the generator adds the datasource, the estate variable and the layout. */
export interface KindDashboard {
  /** File name in grafana/dashboards/; the dashboard uid is `zhian-<file without .json>`. */
  file: string
  title: Text
  /** Start of the default time range (`now-7d`). */
  from?: string
  panels: readonly DashboardPanel[]
}
interface PanelBase {
  /** Panel size on Grafana's 24-column grid; panels flow left to right, then wrap. */
  w: number
  h: number
  /** `fieldConfig.defaults.custom`, e.g. `{ drawStyle: 'bars' }`. */
  custom?: Record<string, unknown>
}
/** A time series of one state field per device: `SELECT <select>("<field>") FROM "<kind>" … GROUP BY time($__interval), "device_id" fill(<fill>)`. */
export interface FieldPanel extends PanelBase {
  field: string
  select: 'max' | 'min' | 'mean' | 'last'
  fill: 'none' | 'previous' | '0'
  /** An extra condition before the estate filter, e.g. `"fault_code" > 0`. */
  where?: string
  /** Default: the field's label. */
  title?: Text
}
/** Any InfluxQL query (`$estate`, `$timeFilter`, `$__interval` as Grafana gives them). */
export interface QueryPanel extends PanelBase {
  type: 'timeseries' | 'table' | 'barchart' | 'bargauge' | 'stat' | 'piechart'
  title: Text
  query: string
  format?: 'time_series' | 'table'
  unit?: string
  options?: Record<string, unknown>
  transformations?: readonly Record<string, unknown>[]
}
export type DashboardPanel = FieldPanel | QueryPanel

/** A kind as the simulators see it; everything in simulators/ and bench/ that is per kind comes from here. */
export interface SimulatorSpec {
  /**
   * A named behaviour of simulators/behaviours/ (a realistic life with scripted actions); absent: the
   * generic behaviour, which reports `healthy` readings and, as its fault, `faulty.state`.
   */
  behaviour?: string
  /** In a synthesised estate: devices of this kind per `weight` of the mix (a real estate's 100 devices hold 6 lifts), and the id's abbreviation (`sim_<abbr>_000123`). */
  mix: { weight: number; abbr: string }
  /** Synthesised devices belong to one of their estate's buildings. */
  inBuilding?: boolean
  /** Installation params of the i-th synthesised device. */
  params?: (i: number) => Record<string, unknown>
  /**
   * Ordinary telemetry of a healthy device, varying with `n`: it raises nothing. The load generator
   * sends it (the benchmark measures ingest, not an alert storm).
   */
  healthy: (n: number) => Record<string, unknown>
  /** A reading that raises the alert `raises` (a type of this kind) at once, with default parameters. */
  faulty?: { state: Record<string, unknown>; raises: string }
}

/**
 * The kind's simulator spec, or one derived from its `state` schema: not part of a synthesised
 * estate, healthy readings at the middle of each numeric range, `false`, the first enum value.
 */
export function simulatorOf(def: KindDefinition): SimulatorSpec {
  if (def.simulator) return def.simulator
  const reading: Record<string, unknown> = {}
  for (const [name, f] of Object.entries(def.state)) {
    if (f.type === 'bool') reading[name] = false
    else if (f.type === 'enum') reading[name] = f.values[0]
    else if (f.type === 'int') reading[name] = Math.round((f.min + f.max) / 2)
    else if (f.type === 'float') reading[name] = (f.min + f.max) / 2
  }
  return { mix: { weight: 0, abbr: def.id }, healthy: () => ({ ...reading }) }
}

export const bool = (zh: string, en: string): BoolField => ({ type: 'bool', label: { zh, en } })
export const int = (zh: string, en: string, min: number, max: number, unit?: string): NumberField => ({
  type: 'int',
  label: { zh, en },
  min,
  max,
  ...(unit ? { unit } : {}),
})
export const float = (zh: string, en: string, min: number, max: number, unit?: string): NumberField => ({
  type: 'float',
  label: { zh, en },
  min,
  max,
  ...(unit ? { unit } : {}),
})
export const oneOf = (
  zh: string,
  en: string,
  values: readonly [string, ...string[]],
  valueLabels?: Record<string, Text>,
): EnumField => ({ type: 'enum', label: { zh, en }, values, ...(valueLabels ? { valueLabels } : {}) })
export const text = (zh: string, en: string, maxLength: number): StringField => ({
  type: 'string',
  label: { zh, en },
  maxLength,
})

/** Fields every battery-powered kind shares. */
export const BATTERY_PCT = float('电池电量', 'Battery', 0, 100, '%')
/** Report interval is settable on every kind. */
export const REPORT_INTERVAL = int('上报间隔', 'Report interval', 5, 86_400, 's')

// ───────────────────────────── alerts ─────────────────────────────
// Each kind declares its alerts next to its schemas, in one style: an alert is a severity, a crew,
// named parameters with defaults, zh/en text templates and one or more triggers built from the
// rule-engine primitives below (src/rules interprets them; see src/rules/README.md).

export type Severity = 'critical' | 'major' | 'minor' | 'warning' | 'info'

/** A tunable of an alert; an estate overrides it with `overrides.<estate>.<kind>.<type>.<param>`. */
export type AlertParam =
  | { type: 'duration'; default: string; label?: Text }
  | { type: 'number'; default: number; unit?: string; min: number; max: number; label?: Text }
  | { type: 'schedule'; default: string; label?: Text }

/** `"90s"`, `"5m"`, `"2h"`, `"30d"`, `"500ms"`. */
export const dur = (value: string): AlertParam => ({ type: 'duration', default: value })
export const num = (value: number, min: number, max: number, unit?: string): AlertParam => ({
  type: 'number',
  default: value,
  min,
  max,
  ...(unit ? { unit } : {}),
})

/**
 * Local-time windows (`"22:00-06:00"`, several comma-separated; a window past midnight runs into the
 * next day), optionally in a time zone (`"22:00-06:00 Asia/Urumqi"`; default the engine's,
 * Asia/Shanghai). A predicate asks `c.within(name)`; a device param of the same name wins over the
 * estate's override and the default. Not a number: not in `ParamValues`.
 */
export const schedule = (value: string): AlertParam => ({ type: 'schedule', default: value })

/** Resolved parameters: durations in ms, numbers as they are (schedules are asked through `within`). */
export type ParamValues = Record<string, number>

/**
 * What a predicate sees. `s` is the device's last known value of every field (devices report on
 * change, so a reading only carries what changed); `input` the fields of the message being handled
 * (undefined when a timer or another device triggered the evaluation); `prev` the value each field of
 * `input` had before it.
 */
export interface RuleContext {
  s: Record<string, unknown>
  prev: Record<string, unknown>
  input: Record<string, unknown> | undefined
  event: { type: string; data: Record<string, unknown> } | undefined
  p: ParamValues
  /** The device's installation params (estate YAML `params`), e.g. `top_floor`. */
  params: Record<string, unknown>
  /**
   * A fire is reported in the device's estate (cross-device condition): an alert marked `fire` is
   * raised on a device of the estate (a smoke, gas or electrical-fire alarm, a camera seeing fire).
   */
  estateFire: boolean
  /**
   * The same for the device's building: an alert marked `fire` raised on a device of that building;
   * undefined for a device without a building (ask `estateFire`).
   */
  buildingFire: boolean | undefined
  /** The time being evaluated: the message's receive time or the timer's due time (never the wall clock). */
  at: number
  /** `at` falls in the alert's schedule param `name` (a device param of that name wins); see `schedule()`. */
  within: (name: string) => boolean
}
export type Predicate = (c: RuleContext) => boolean

/** Condition held continuously for `for` (fired by a timer), cleared after `!when` (or `clearWhen`) held for `clear_for`. */
export interface HeldTrigger {
  primitive: 'held'
  when: Predicate
  /** Hysteresis: a separate clear condition (default: `when` is false). */
  clearWhen?: Predicate
  /** Name of the hold parameter (default `for`; absent from `params` = 0); `false` = immediate. */
  for?: string | false
  /** Name of the quiet-time parameter (default `clear_for`; absent = 0). */
  clearFor?: string
}
/** Raises on each matching message (a re-trigger increments occurrences); stays raised until resolved or `clear_for`. */
export interface EventTrigger {
  primitive: 'event'
  on: Predicate
  clearFor?: string
}
/** `count` hits within `window`; a hit is a matching message or a raise of one of `onRaised` (same device). */
export interface CountTrigger {
  primitive: 'count'
  hit?: Predicate
  /**
   * Instead of `hit`: one hit per episode of `episode` being true that lasted at least the `confirm`
   * parameter and then ended (a cover that moved and settled back), so short spikes do not count.
   */
  episode?: Predicate
  confirm?: string
  onRaised?: readonly string[]
  /**
   * Count distinct keys instead of hits (two different beams of a perimeter zone): a hit's key, and
   * `count` different keys within `window` raise; a key hit again only moves its time.
   */
  distinct?: (c: RuleContext) => unknown
  /** Clears when true (e.g. a normal trip), else after `clear_for` without a hit; while not raised it restarts the tally. */
  clearWhen?: Predicate
  count?: string
  window?: string
  clearFor?: string
}
/** A numeric field rose by at least `rise` within `window`; clears after `clear_for` without such a rise. */
export interface RateTrigger {
  primitive: 'rate'
  field: string
  rise: string
  window: string
  clearFor?: string
}
/** Per estate+zone aggregate of a boolean field (parking occupancy); raise/clear held for `for`/`clear_for`. */
export interface ZoneAggregate {
  estate: string
  zone: string
  total: number
  occupied: number
  free: number
  unknown: number
  /** occupied / total × 100, one decimal. */
  percent: number
}
export interface ZoneTrigger {
  primitive: 'zone'
  /** The boolean state field counted (e.g. `occupied`). */
  field: string
  /** The device param naming the zone (devices without it count in zone `default`). */
  zoneParam: string
  when: (agg: ZoneAggregate, p: ParamValues) => boolean
  clearWhen: (agg: ZoneAggregate, p: ParamValues) => boolean
}
/** No message for the kind's (or the device's announced) interval × `missed` + `grace`. */
export interface OfflineTrigger {
  primitive: 'offline'
}
export type Trigger = HeldTrigger | EventTrigger | CountTrigger | RateTrigger | ZoneTrigger | OfflineTrigger

export interface AlertDefinition {
  severity: Severity
  /** Severity for this raise, e.g. power loss with a passenger inside is critical. */
  severityWhen?: (c: RuleContext) => Severity | undefined
  /** Default crew (domain-catalog §0.2). */
  crew: string
  /** Needs a person to resolve even after the condition cleared. */
  latched: boolean
  /**
   * Counts as a fire alarm for cross-device conditions (fire passage blocked during a fire) while
   * raised. Only an alert marked so counts; its name or severity does not.
   */
  fire?: boolean
  title: Text
  /** Templates: `{name}` device name, `{location}`, `{held_s}`, any state field, param or `vars` key. */
  message: Text
  params: Record<string, AlertParam>
  /** Any trigger raises the alert; it clears when none is raised. */
  triggers: readonly Trigger[]
  /** Gating: a reason to record the alert as suppressed (e.g. elevator inspection mode). */
  suppressWhen?: (c: RuleContext) => string | undefined
  /**
   * What the raised alert is about (e.g. the service mode): when it changes while the alert stays
   * raised, the alert re-triggers with the new text, and the new severity replaces the old one.
   */
  retriggerOn?: (c: RuleContext) => unknown
  /** Extra template variables per language. */
  vars?: (c: RuleContext) => Record<string, Text | string | number>
  /**
   * Work-order SLA of this alert over its severity's default (src/dispatch/routing.ts), in ms:
   * accept, arrive on site, resolve; `null` = none. An estate's `routing` rule still wins.
   */
  sla?: { accept?: number | null; arrive?: number | null; resolve?: number | null }
}

export const held = (when: Predicate, opts: Omit<HeldTrigger, 'primitive' | 'when'> = {}): HeldTrigger => ({
  primitive: 'held',
  when,
  ...opts,
})
export const onEvent = (on: Predicate, opts: Omit<EventTrigger, 'primitive' | 'on'> = {}): EventTrigger => ({
  primitive: 'event',
  on,
  ...opts,
})
export const count = (opts: Omit<CountTrigger, 'primitive'>): CountTrigger => ({
  primitive: 'count',
  ...opts,
})
export const rate = (opts: Omit<RateTrigger, 'primitive'>): RateTrigger => ({ primitive: 'rate', ...opts })
export const zone = (opts: Omit<ZoneTrigger, 'primitive'>): ZoneTrigger => ({ primitive: 'zone', ...opts })
export const OFFLINE: OfflineTrigger = { primitive: 'offline' }

/** `<kind>.offline`, the same shape for every kind; defaults from domain-catalog §0.3. */
export function offlineAlert(missed: number, grace: string): AlertDefinition {
  return {
    severity: 'warning',
    crew: 'property_engineering',
    latched: false,
    title: { zh: '设备离线', en: 'Device offline' },
    message: {
      zh: '{name} 已离线:超过 {silent_min} 分钟未上报',
      en: '{name} is offline: no report for over {silent_min} min',
    },
    params: { missed: num(missed, 1, 100), grace: dur(grace) },
    triggers: [OFFLINE],
  }
}

/** `<kind>.fault`: the device reports its own fault (`fault: true`), at once; clears when it stops. */
export function faultAlert(title: Text, message: Text): AlertDefinition {
  return {
    severity: 'warning',
    crew: 'property_engineering',
    latched: false,
    title,
    message,
    params: {},
    triggers: [held((c) => c.s.fault === true, { for: false })],
  }
}

/** `<kind>.low_battery`: below `below_pct`, condition clears at `clear_pct` (hysteresis); a person confirms the swap. */
export function lowBatteryAlert(field = 'battery_pct'): AlertDefinition {
  const pct = (c: RuleContext) => c.s[field]
  return {
    severity: 'warning',
    crew: 'property_engineering',
    latched: true,
    title: { zh: '电池电量低', en: 'Low battery' },
    message: { zh: '{name} 电池电量低:{battery_pct}%', en: '{name} battery low: {battery_pct}%' },
    params: { below_pct: num(20, 0, 100, '%'), clear_pct: num(30, 0, 100, '%') },
    triggers: [
      held((c) => typeof pct(c) === 'number' && (pct(c) as number) < c.p.below_pct!, {
        clearWhen: (c) => typeof pct(c) === 'number' && (pct(c) as number) >= c.p.clear_pct!,
      }),
    ],
  }
}
