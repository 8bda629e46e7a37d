import type { Severity, Text } from '../alerts/types.ts'
import type { Period } from './period.ts'

/** The report as JSON: what the dashboard page renders and what CSV, XLSX and HTML are made from. */

export interface Report {
  title: Text
  generated_at: number
  scope: { id: string; type: string; name: string; estates: { id: string; name: string }[] }
  period: Period
  summary: {
    alerts: number
    alerts_prev: number
    critical: number
    suppressed: number
    work_orders_opened: number
    work_orders_resolved: number
    open_alerts_at_end: number
    open_work_orders_at_end: number
    lifts_blacklisted: number
  }
  /** One row per alert type raised in the period or the one before (suppressed raises not counted). */
  alerts: AlertTypeRow[]
  alerts_by_kind: CountRow[]
  alerts_by_severity: CountRow[]
  response: ResponseRow[]
  lifts: { rows: LiftRow[]; lifts_total: number; threshold_note: Text }
  fire_passages: { rows: PassageRow[]; segments_total: number }
  /** The manholes' counts section (`kinds`), in the shape the API has always given. */
  manholes: { rows: ManholeRow[]; manholes_total: number }
  /** Alert counts per device for every kind that declares such a section (src/reports/sections.ts). */
  kinds: KindSection[]
  parking: {
    overstays: OverstayRow[]
    bays_total: number
    telemetry: Telemetry<{ by_hour: OccupancyHour[]; by_zone: OccupancyZone[] }>
  }
  devices: { offline: OfflineRow[]; batteries: BatteryRow[] }
  open_at_end: { alerts: OpenAlertRow[]; work_orders: OpenWorkOrderRow[] }
  /**
   * What people read for the ids in the rows: site names (estates, buildings), team names, zone names
   * per estate (the estate file's `zones`), alert titles per type. The rows keep their ids for machines.
   */
  names: ReportNames
}

export interface ReportNames {
  sites: Record<string, string>
  /** Configured teams by their name (the same in both languages), catalogue crews in the vocabulary's words. */
  teams: Record<string, Text>
  /** `zones[estate][zone]` */
  zones: Record<string, Record<string, string>>
  alerts: Record<string, Text>
}

export interface CountRow {
  key: string
  name: Text
  count: number
  prev: number
}

export interface AlertTypeRow {
  type: string
  kind: string
  severity: Severity
  title: Text
  count: number
  /** Raises counted by the alert (re-triggers of an open alert included): `occurrences` summed. */
  occurrences: number
  prev: number
  /** count − prev */
  change: number
  /** (count − prev) / prev, null when prev is 0. */
  change_pct: number | null
}

export interface Stat {
  n: number
  median_s: number | null
  p90_s: number | null
}

export interface SlaStat {
  /** Orders with an SLA for this stage whose outcome is known by the period end. */
  due: number
  met: number
  /** met / due, null when nothing was due. */
  attainment: number | null
}

export interface ResponseRow {
  /** Team id, `*` for all work orders, `alerts` for every alert (acknowledge / resolve only). */
  team: string
  name: string
  orders: number
  acknowledge: Stat
  accept: Stat
  arrive: Stat
  resolve: Stat
  sla: { accept: SlaStat; arrive: SlaStat; resolve: SlaStat }
}

export interface LiftRow {
  rank: number
  device_id: string
  name: string
  estate: string
  building: string | null
  faults: number
  trapped: number
  /** Fault alerts by type, e.g. { door_fault: 2 }. */
  by_type: Record<string, number>
  /** The estate's `elevator.frequent_faults` count (default 3). */
  threshold: number
  /** faults ≥ threshold, or `elevator.frequent_faults` raised in the period: the black list. */
  blacklisted: boolean
  frequent_faults_alert: boolean
}

export interface PassageRow {
  device_id: string
  name: string
  estate: string
  location: string | null
  blocked: number
  blocked_minutes: number
  occupied: number
  persistent: number
  /** Raises of "occupied during a fire": the segment was in the way when it mattered most. */
  during_fire: number
  repeat_offender: boolean
}

export interface ManholeRow {
  device_id: string
  name: string
  estate: string
  location: string | null
  cover_open: number
  cover_loose: number
  water_high: number
  water_rising: number
}

export interface KindSection {
  kind: string
  /** Table id (`manholes`). */
  id: string
  title: Text
  /** Heading of the device column. */
  device: Text
  /** One count column per alert type of the kind (`key` = the type). */
  columns: { key: string; header: Text }[]
  rows: {
    device_id: string
    name: string
    estate: string
    location: string | null
    counts: Record<string, number>
  }[]
  /** Devices of the kind in scope. */
  total: number
}

export interface OverstayRow {
  device_id: string
  name: string
  estate: string
  zone: string | null
  overstays: number
  overstay_hours: number
}

export type Telemetry<T> = { status: 'ok'; data: T } | { status: 'not_configured' | 'error'; reason: Text }

export interface OccupancyHour {
  /** Local hour of day 0–23. */
  hour: number
  /** Mean share of bays occupied at the end of that hour, over the period's days; null = no data. */
  occupancy: number | null
}

export interface OccupancyZone {
  estate: string
  zone: string
  bays: number
  mean: number | null
  peak: number | null
}

export interface OfflineRow {
  device_id: string
  name: string
  kind: string
  estate: string
  episodes: number
  offline_minutes: number
  still_offline: boolean
}

export interface BatteryRow {
  device_id: string
  name: string
  kind: string
  estate: string
  battery_pct: number | null
  since: number
}

export interface OpenAlertRow {
  id: string
  type: string
  severity: Severity
  title: Text
  device_id: string | null
  /** The device's name (or its id when it has none). */
  device_name: string | null
  estate: string | null
  first_at: number
  status: string
}

export interface OpenWorkOrderRow {
  id: string
  alert_type: string
  /** The order's title (its alert's). */
  title: Text
  team: string
  status: string
  estate: string | null
  opened_at: number
}
