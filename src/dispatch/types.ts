import type { Severity, Text } from '../alerts/types.ts'
import type { ChannelType } from './config.ts'

/** A work order (工单): one per dispatched alert, or opened by hand. */
export type WorkOrderStatus = 'dispatched' | 'accepted' | 'on_site' | 'resolved' | 'cancelled'
export const OPEN_STATUSES: readonly WorkOrderStatus[] = ['dispatched', 'accepted', 'on_site']

export type SlaStage = 'accept' | 'arrive' | 'resolve'

export interface Breach {
  stage: SlaStage
  due_at: number
  /** When the breach was noticed (the timer fired or the stage completed late). */
  at: number
}

export interface WorkOrder {
  id: string
  alert_id: string | null
  alert_type: string
  kind: string
  severity: Severity
  street: string | null
  community: string | null
  estate: string | null
  building: string | null
  device_id: string | null
  title: Text
  message: Text
  team: string
  /** Member currently responsible (first on duty, or whoever accepted), as `<team>/<member>`. */
  assignee: string | null
  /** Every member notified so far (dispatch and escalations), in order, as `<team>/<member>`. */
  participants: string[]
  status: WorkOrderStatus
  created_by: string
  /** When the alert was raised (automatic orders) or the order opened by hand: the start of every report and SLA timer. */
  opened_at: number
  dispatched_at: number
  acknowledged_at: number | null
  accepted_at: number | null
  on_site_at: number | null
  resolved_at: number | null
  cancelled_at: number | null
  /** SLA limits in ms from `opened_at` (null = none). */
  sla: { accept: number | null; arrive: number | null; resolve: number | null }
  breaches: Breach[]
  /** The chain this order follows (from routing, fixed when it opened). */
  escalation: { steps: { to: string; after: number }[]; remind_every: number; remind_max: number }
  /** Steps of `escalation.steps` taken so far. */
  escalation_level: number
  reminders_sent: number
}

export type WorkOrderAction =
  | 'dispatched'
  | 'accepted'
  | 'on_site'
  | 'resolved'
  | 'cancelled'
  | 'notified'
  | 'reminded'
  | 'escalated'
  | 'sla_breached'
  | 'commented'

export interface WorkOrderEvent {
  work_order_id: string
  seq: number
  at: number
  action: WorkOrderAction
  actor: string
  note: string | null
}

declare module '../core/bus.ts' {
  interface BusEvents {
    /** Every work-order change, after it is stored: the order as it is now and the event that changed it. */
    /** `replica`: as for `alert`, a change the leader made, repeated on another node of a cluster. */
    work_order: { work_order: WorkOrder; event: WorkOrderEvent; replica?: boolean }
  }
}

/** Delivery status of one notification to one member, as the work order shows it. */
export interface Delivery {
  key: string
  member: string
  purpose: NotificationPurpose
  status: 'pending' | 'delivered' | 'failed'
  /** Channel that delivered it (or is being tried). */
  channel: ChannelType | null
  channel_index: number
  attempts: number
  last_error: string | null
  created_at: number
  delivered_at: number | null
}

/** `call`: the voice call of an escalation's `call` step (voice channels only; the others, text only). */
export type NotificationPurpose = 'dispatch' | 'reminder' | 'escalation' | 'closed' | 'call'

/**
 * Times for reports, in ms from the order's opening (`opened_at`); null until reached — or, given
 * `asOf`, reached only after it (a closed period's report counts what it saw by its end).
 */
export interface WorkOrderTimes {
  to_acknowledge_ms: number | null
  to_accept_ms: number | null
  to_arrive_ms: number | null
  to_resolve_ms: number | null
}

export function timesOf(wo: WorkOrder, asOf = Number.POSITIVE_INFINITY): WorkOrderTimes {
  const since = (t: number | null) => (t === null || t > asOf ? null : t - wo.opened_at)
  return {
    to_acknowledge_ms: since(wo.acknowledged_at),
    to_accept_ms: since(wo.accepted_at),
    to_arrive_ms: since(wo.on_site_at),
    to_resolve_ms: since(wo.resolved_at),
  }
}
