import type { KindId } from '../../devices/index.ts'

/**
 * The alert model shared by the rule engine (which raises and clears), the alert store (lifecycle +
 * audit log), history (InfluxDB `alert_event`), the dashboard (socket.io) and dispatch.
 * See README "Alerts and rules": one open alert per (device, type); status and condition are separate.
 */

export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const
export type Severity = (typeof SEVERITIES)[number]
export type AlertStatus = 'active' | 'acknowledged' | 'resolved'
export type AlertCondition = 'raised' | 'cleared'

export interface Text {
  zh: string
  en: string
}

export interface Alert {
  id: string
  /** What it is about: the device id, or `zone:<estate>:<zone>` for a zone aggregate (dedup key with `type`). */
  subject: string
  /** `<kind>.<type>`, e.g. `elevator.trapped`; `hub.<type>` for the hub's own alerts. */
  type: string
  kind: KindId | 'hub'
  device_id: string | null
  street: string | null
  community: string | null
  estate: string | null
  building: string | null
  severity: Severity
  status: AlertStatus
  condition: AlertCondition
  /** Raised while gated (silence, maintenance, service mode): recorded, not notified. */
  suppressed: boolean
  /** Why it was suppressed: `silence:<id>`, `maintenance`, `service_mode:<mode>`. */
  suppressed_reason: string | null
  /** Needs a person to resolve even after the condition cleared. */
  latched: boolean
  /** Default crew from the catalogue (dispatch may route elsewhere). */
  crew: string
  assigned_team: string | null
  title: Text
  message: Text
  /** The values that triggered it (last trigger). */
  values: Record<string, unknown>
  occurrences: number
  first_at: number
  last_at: number
  cleared_at: number | null
  acknowledged_at: number | null
  resolved_at: number | null
}

export type AuditAction =
  | 'raised'
  | 'retriggered'
  | 'cleared'
  | 'suppressed'
  | 'acknowledged'
  | 'assigned'
  | 'commented'
  | 'resolved'
  | 'escalated'
  | 'notified'

export type Channel = 'rule' | 'http' | 'socket' | 'mqtt' | 'cli' | 'system' | 'dispatch'

export interface AuditEntry {
  alert_id: string
  at: number
  action: AuditAction
  actor: string
  channel: Channel
  note: string | null
}

declare module '../core/bus.ts' {
  interface BusEvents {
    /** Every alert transition, after it is stored: the alert as it is now and the audit entry that changed it. */
    alert: {
      alert: Alert
      entry: AuditEntry
      /**
       * Cluster mode: a transition the leader made, repeated on another node for its own views (live
       * state). Nothing is emitted, published or dispatched for it there: the leader did that once.
       */
      replica?: boolean
    }
  }
}
