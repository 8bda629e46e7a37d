import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { AlertStore } from '../../alerts/store.ts'
import { MAY } from '../../auth/permissions.ts'
import type { Principal } from '../../auth/principal.ts'
import { inScope } from '../../auth/scope.ts'
import type { Dispatcher } from '../../dispatch/dispatcher.ts'
import { timesOf, type WorkOrder } from '../../dispatch/types.ts'
import { ZhianError } from '../../errors.ts'
import { ID_PATTERN } from '../../mqtt/topics.ts'
import { WORK_ORDER_DETAIL, WORK_ORDER_PAGE } from '../answers.ts'
import { requireRole } from '../auth.ts'
import { parseWith } from '../parse.ts'

/**
 * Work orders (工单) over HTTP: list (`?mine=1` for the crew app's "my tasks"), detail with the event
 * log and delivery status per recipient, open one for an alert by hand, and the crew's steps
 * accept → arrive → resolve (+ cancel by a manager). Everything scoped by the principal: a crew user
 * sees and acts only on orders it was dispatched or escalated to (or, when no team member is linked
 * to its login, orders of its team), inside its scope.
 */

export interface WorkOrderHttp {
  dispatch: Dispatcher
  alerts: AlertStore
}

const STATUSES = ['dispatched', 'accepted', 'on_site', 'resolved', 'cancelled'] as const
const LIST_QUERY = z.strictObject({
  status: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(STATUSES)))
    .optional(),
  team: z.string().regex(ID_PATTERN).optional(),
  site: z.string().regex(ID_PATTERN).optional(),
  alert: z.string().max(100).optional(),
  mine: z.enum(['1', 'true', '0', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
})
const ID_PARAM = z.strictObject({ id: z.string().max(100) })
const NOTE = z.string().trim().min(1).max(2000)
const ACT_BODY = z.strictObject({ note: NOTE.optional() })
const COMMENT_BODY = z.strictObject({ note: NOTE })
const STEP_SUMMARY = {
  accept: '接单 / Accept',
  arrive: '到场 / Arrive on site',
  resolve: '完成 / Resolve',
  cancel: '取消 / Cancel',
  comment: '备注 / Comment',
} as const
const OPEN_BODY = z.strictObject({
  alert_id: z.string().min(1).max(100),
  team: z.string().regex(ID_PATTERN).optional(),
  note: NOTE.optional(),
})

const READERS = MAY.read
const CREW_ACTORS = MAY.work_on_orders

export async function workOrderRoutes(app: FastifyInstance, opts: WorkOrderHttp): Promise<void> {
  const { dispatch } = opts

  const mine = (p: Principal, wo: WorkOrder): boolean => {
    const refs = dispatch.membersOf(p.username)
    return refs.some((r) => r === wo.assignee || wo.participants.includes(r))
  }
  /** What a principal may see: in scope; a crew user only its own orders. */
  const sees = (p: Principal, wo: WorkOrder): boolean => {
    if (!inScope(p, wo)) return false
    if (p.role !== 'crew') return true
    if (dispatch.membersOf(p.username).length > 0) return mine(p, wo)
    return Boolean(p.team) && p.team === wo.team
  }
  const visible = (req: FastifyRequest, p: Principal): WorkOrder => {
    const { id } = parseWith(ID_PARAM, req.params)
    const wo = dispatch.get(id)
    if (!wo || !sees(p, wo)) throw new ZhianError('ZHIAN_ERR_UNKNOWN_WORK_ORDER', id)
    return wo
  }
  const actor = (p: Principal, note: string | undefined) => ({ username: p.username, note: note ?? null })
  const detail = (wo: WorkOrder) => ({
    ...wo,
    times: timesOf(wo),
    events: dispatch.store.events(wo.id),
    deliveries: dispatch.deliveries(wo.id),
  })

  app.get(
    '/api/work-orders',
    {
      schema: {
        summary: '工单列表 / List work orders',
        querystring: LIST_QUERY,
        response: { 200: WORK_ORDER_PAGE },
      },
    },
    async (req) => {
      const p = requireRole(req, ...READERS)
      const q = parseWith(LIST_QUERY, req.query ?? {})
      const onlyMine = q.mine === '1' || q.mine === 'true'
      const filter = { status: q.status, team: q.team, site: q.site, alert: q.alert, scope: p.scope }
      const withTimes = (wo: WorkOrder) => ({ ...wo, times: timesOf(wo) })
      if (p.role !== 'crew' && !onlyMine) {
        // Scope is all there is to check: page in SQL.
        const items = dispatch.store.query(filter, { limit: q.limit, offset: q.offset }).map(withTimes)
        return { items, total: dispatch.store.count(filter), limit: q.limit, offset: q.offset }
      }
      const all = dispatch.store.query(filter).filter((wo) => sees(p, wo) && (!onlyMine || mine(p, wo)))
      return {
        items: all.slice(q.offset, q.offset + q.limit).map(withTimes),
        total: all.length,
        limit: q.limit,
        offset: q.offset,
      }
    },
  )

  app.get(
    '/api/work-orders/:id',
    {
      schema: {
        summary: '工单详情 / A work order with its events and deliveries',
        params: ID_PARAM,
        response: { 200: WORK_ORDER_DETAIL },
      },
    },
    async (req) => {
      const p = requireRole(req, ...READERS)
      return detail(visible(req, p))
    },
  )

  app.post(
    '/api/work-orders',
    {
      schema: {
        summary: '为告警开工单 / Open a work order for an alert',
        body: OPEN_BODY,
        response: { 201: WORK_ORDER_DETAIL },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, ...MAY.open_work_orders)
      const body = parseWith(OPEN_BODY, req.body ?? {})
      const alert = opts.alerts.get(body.alert_id)
      if (!alert || !inScope(p, alert)) throw new ZhianError('ZHIAN_ERR_UNKNOWN_ALERT', body.alert_id)
      const wo = dispatch.open(alert, actor(p, body.note), body.team)
      return reply.status(201).send(detail(wo))
    },
  )

  const step = (name: 'accept' | 'arrive' | 'resolve' | 'cancel' | 'comment') => {
    const schema = {
      summary: STEP_SUMMARY[name],
      params: ID_PARAM,
      body: name === 'comment' ? COMMENT_BODY : ACT_BODY,
      response: { 200: WORK_ORDER_DETAIL },
    }
    app.post(`/api/work-orders/:id/${name}`, { schema }, async (req) => {
      const p = requireRole(req, ...(name === 'cancel' ? MAY.cancel_work_orders : CREW_ACTORS))
      const wo = visible(req, p)
      const body = parseWith(schema.body, req.body ?? {})
      const by = actor(p, body.note)
      const changed =
        name === 'accept'
          ? dispatch.accept(wo.id, by)
          : name === 'arrive'
            ? dispatch.arrive(wo.id, by)
            : name === 'resolve'
              ? dispatch.resolve(wo.id, by)
              : name === 'cancel'
                ? dispatch.cancel(wo.id, by)
                : dispatch.comment(wo.id, by)
      return detail(dispatch.get(changed.id) ?? changed)
    })
  }
  for (const name of ['accept', 'arrive', 'resolve', 'cancel', 'comment'] as const) step(name)
}
