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
