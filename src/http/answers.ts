import { z } from 'zod'
import { KIND_IDS, type KindId } from '../../devices/index.ts'
import { type Alert, type AuditEntry, SEVERITIES } from '../alerts/types.ts'
import type { Delivery, WorkOrder, WorkOrderEvent, WorkOrderTimes } from '../dispatch/types.ts'

/**
 * What the main routes answer, for the OpenAPI document (`schema.response` of the alert and work-order
 * routes). Written as zod so the document is generated from them; the `Same<…>` checks below make
 * `tsc` fail when the model (alerts/types.ts, dispatch/types.ts) and its documented shape part, and
 * test/integration/http/openapi.test.ts parses real answers with them.
 */

const TEXT = z.strictObject({ zh: z.string(), en: z.string() })
const SEVERITY = z.enum(SEVERITIES)
const ms = z.number().int().describe('ms since the epoch')
const KIND = z.union([z.enum(KIND_IDS as [KindId, ...KindId[]]), z.literal('hub')])

export const ALERT = z
  .strictObject({
    id: z.string(),
    subject: z.string().describe('the device id, or zone:<estate>:<zone>'),
    type: z.string().describe('<kind>.<type>, e.g. elevator.trapped'),
    kind: KIND,
    device_id: z.string().nullable(),
    street: z.string().nullable(),
    community: z.string().nullable(),
    estate: z.string().nullable(),
    building: z.string().nullable(),
    severity: SEVERITY,
    status: z.enum(['active', 'acknowledged', 'resolved']),
    condition: z.enum(['raised', 'cleared']),
    suppressed: z.boolean(),
    suppressed_reason: z.string().nullable(),
    latched: z.boolean(),
    crew: z.string(),
    assigned_team: z.string().nullable(),
    title: TEXT,
    message: TEXT,
    values: z.record(z.string(), z.unknown()),
    occurrences: z.number().int(),
    first_at: ms,
    last_at: ms,
    cleared_at: ms.nullable(),
    acknowledged_at: ms.nullable(),
    resolved_at: ms.nullable(),
  })
  .describe('告警 / alert')

const AUDIT_ENTRY = z.strictObject({
  alert_id: z.string(),
  at: ms,
  action: z.enum([
    'raised',
    'retriggered',
    'cleared',
    'suppressed',
    'acknowledged',
    'assigned',
    'commented',
    'resolved',
    'escalated',
    'notified',
  ]),
  actor: z.string(),
  channel: z.enum(['rule', 'http', 'socket', 'mqtt', 'cli', 'system', 'dispatch']),
  note: z.string().nullable(),
})

const page = <T extends z.ZodType>(item: T, what: string) =>
  z
    .strictObject({
      items: z.array(item),
      total: z.number().int(),
      limit: z.number().int(),
      offset: z.number().int(),
    })
    .describe(what)

export const ALERT_PAGE = page(ALERT, '告警列表 / a page of alerts')
export const ALERT_DETAIL = ALERT.extend({ audit: z.array(AUDIT_ENTRY) }).describe(
  '告警与处理记录 / alert and audit log',
)

const nullableMs = z.number().int().nullable()
const STAGE = z.enum(['accept', 'arrive', 'resolve'])

export const WORK_ORDER = z
  .strictObject({
    id: z.string(),
    alert_id: z.string().nullable(),
    alert_type: z.string(),
    kind: z.string(),
    severity: SEVERITY,
    street: z.string().nullable(),
    community: z.string().nullable(),
    estate: z.string().nullable(),
    building: z.string().nullable(),
    device_id: z.string().nullable(),
    title: TEXT,
    message: TEXT,
    team: z.string(),
    assignee: z.string().nullable().describe('<team>/<member>'),
    participants: z.array(z.string()),
    status: z.enum(['dispatched', 'accepted', 'on_site', 'resolved', 'cancelled']),
    created_by: z.string(),
    opened_at: ms,
    dispatched_at: ms,
    acknowledged_at: nullableMs,
    accepted_at: nullableMs,
    on_site_at: nullableMs,
    resolved_at: nullableMs,
    cancelled_at: nullableMs,
    sla: z
      .strictObject({ accept: nullableMs, arrive: nullableMs, resolve: nullableMs })
      .describe('ms from opened_at'),
    breaches: z.array(z.strictObject({ stage: STAGE, due_at: ms, at: ms })),
    escalation: z.strictObject({
      steps: z.array(z.strictObject({ to: z.string(), after: z.number().int() })),
      remind_every: z.number().int(),
      remind_max: z.number().int(),
    }),
    escalation_level: z.number().int(),
    reminders_sent: z.number().int(),
  })
  .describe('工单 / work order')

const TIMES = z.strictObject({
  to_acknowledge_ms: nullableMs,
  to_accept_ms: nullableMs,
  to_arrive_ms: nullableMs,
  to_resolve_ms: nullableMs,
})
const WORK_ORDER_EVENT = z.strictObject({
  work_order_id: z.string(),
  seq: z.number().int(),
  at: ms,
  action: z.enum([
    'dispatched',
    'accepted',
    'on_site',
    'resolved',
    'cancelled',
    'notified',
    'reminded',
    'escalated',
    'sla_breached',
    'commented',
  ]),
  actor: z.string(),
  note: z.string().nullable(),
})
const DELIVERY = z.strictObject({
  key: z.string(),
  member: z.string(),
  purpose: z.enum(['dispatch', 'reminder', 'escalation', 'closed', 'call']),
  status: z.enum(['pending', 'delivered', 'failed']),
  channel: z.enum(['webhook', 'dingtalk', 'wecom', 'feishu', 'sms', 'voice']).nullable(),
  channel_index: z.number().int(),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  created_at: ms,
  delivered_at: ms.nullable(),
})

export const WORK_ORDER_PAGE = page(
  WORK_ORDER.extend({ times: TIMES }),
  '工单列表(含各环节用时)/ a page of work orders with their times',
)
export const WORK_ORDER_DETAIL = WORK_ORDER.extend({
  times: TIMES,
  events: z.array(WORK_ORDER_EVENT),
  deliveries: z.array(DELIVERY),
}).describe('工单、事件与通知送达 / work order, its events and deliveries')

// The documented shapes are the models' own: a field added, removed or retyped on one side fails tsc.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const agree = <T extends true>(..._: T[]) => undefined
agree<Same<z.output<typeof ALERT>, Alert>>()
agree<Same<z.output<typeof AUDIT_ENTRY>, AuditEntry>>()
agree<Same<z.output<typeof WORK_ORDER>, WorkOrder>>()
agree<Same<z.output<typeof TIMES>, WorkOrderTimes>>()
agree<Same<z.output<typeof WORK_ORDER_EVENT>, WorkOrderEvent>>()
agree<Same<z.output<typeof DELIVERY>, Delivery>>()
