import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { type Alert, SEVERITIES } from '../../alerts/types.ts'
import { MAY } from '../../auth/permissions.ts'
import type { Principal } from '../../auth/principal.ts'
import { inScope } from '../../auth/scope.ts'
import { ZhianError } from '../../errors.ts'
import { ID_PATTERN } from '../../mqtt/topics.ts'
import { ALERT, ALERT_DETAIL, ALERT_PAGE } from '../answers.ts'
import { requireRole } from '../auth.ts'
import { parseWith } from '../parse.ts'
import type { RulesHttp } from '../types.ts'

const READERS = MAY.read
const ACTORS = MAY.act_on_alerts

const csv = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(values)))
const time = z.union([
  z.coerce.number().int().min(0),
  z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'not a time (epoch ms or ISO 8601)')
    .transform((s) => Date.parse(s)),
])
const LIST_QUERY = z.strictObject({
  status: csv(['active', 'acknowledged', 'resolved']).optional(),
  severity: csv(SEVERITIES).optional(),
  kind: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .optional(),
  type: z.string().max(100).optional(),
  site: z.string().regex(ID_PATTERN).optional(),
  device: z.string().regex(ID_PATTERN).optional(),
  suppressed: z.enum(['true', 'false']).optional(),
  from: time.optional(),
  to: time.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
})
const ID_PARAM = z.strictObject({ id: z.string().max(100) })
const NOTE = z.string().trim().min(1).max(2000)
const ACT_BODY = z.strictObject({ note: NOTE.optional() })
const COMMENT_BODY = z.strictObject({ note: NOTE })
const ASSIGN_BODY = z.strictObject({
  team: z.string().regex(ID_PATTERN, 'team ids are [a-z0-9_-]{1,64}'),
  note: NOTE.optional(),
})

const ANSWERS_ALERT = { 200: ALERT }

export async function alertRoutes(app: FastifyInstance, opts: RulesHttp): Promise<void> {
  const { alerts } = opts

  /** The alert, or 404 — also when it exists outside the caller's scope (do not reveal it). */
  const visible = (req: FastifyRequest, p: Principal): Alert => {
    const { id } = parseWith(ID_PARAM, req.params)
    const alert = alerts.get(id)
    if (!alert || !inScope(p, alert)) throw new ZhianError('ZHIAN_ERR_UNKNOWN_ALERT', id)
    return alert
  }
  /**
   * A configured dispatch team serving the alert's place (the rule a work order follows), or a crew of
   * the alert catalogue (domain-catalog §0.2): a trade, not the people of some estate.
   */
  const checkTeam = (team: string, alert: Alert): void => {
    if (opts.teams?.().includes(team)) {
      opts.dispatch?.servingTeam(team, alert)
      return
    }
    for (const entry of opts.catalog()?.values() ?? []) if (entry.def.crew === team) return
    throw new ZhianError('ZHIAN_ERR_UNKNOWN_TEAM', team)
  }
  const by = (p: Principal, note: string | undefined) => ({
    actor: p.username,
    channel: 'http' as const,
    note: note ?? null,
  })

  app.get(
    '/api/alerts',
    { schema: { summary: '告警列表 / List alerts', querystring: LIST_QUERY, response: { 200: ALERT_PAGE } } },
    async (req) => {
      const p = requireRole(req, ...READERS)
      const q = parseWith(LIST_QUERY, req.query ?? {})
      const { items, total } = alerts.list({
        status: q.status,
        severity: q.severity,
        kind: q.kind,
        type: q.type,
        site: q.site,
        device: q.device,
        suppressed: q.suppressed === undefined ? undefined : q.suppressed === 'true',
        from: q.from,
        to: q.to,
        scope: p.scope,
        limit: q.limit,
        offset: q.offset,
      })
      return { items, total, limit: q.limit, offset: q.offset }
    },
  )

  app.get(
    '/api/alerts/:id',
    {
      schema: {
        summary: '告警详情与处理记录 / An alert with its audit log',
        params: ID_PARAM,
        response: { 200: ALERT_DETAIL },
      },
    },
    async (req) => {
      const p = requireRole(req, ...READERS)
      const alert = visible(req, p)
      return { ...alert, audit: alerts.audit(alert.id) }
    },
  )

  app.post(
    '/api/alerts/:id/ack',
    {
      schema: {
        summary: '确认告警 / Acknowledge an alert',
        params: ID_PARAM,
        body: ACT_BODY,
        response: ANSWERS_ALERT,
      },
    },
    async (req) => {
      const p = requireRole(req, ...ACTORS)
      const alert = visible(req, p)
      const body = parseWith(ACT_BODY, req.body ?? {})
      return alerts.acknowledge(alert.id, by(p, body.note))
    },
  )

  app.post(
    '/api/alerts/:id/resolve',
    {
      schema: {
        summary: '关闭告警 / Resolve an alert',
        params: ID_PARAM,
        body: ACT_BODY,
        response: ANSWERS_ALERT,
      },
    },
    async (req) => {
      const p = requireRole(req, ...ACTORS)
      const alert = visible(req, p)
      const body = parseWith(ACT_BODY, req.body ?? {})
      return alerts.resolve(alert.id, by(p, body.note))
    },
  )

  app.post(
    '/api/alerts/:id/comment',
    {
      schema: {
        summary: '备注 / Comment on an alert',
        params: ID_PARAM,
        body: COMMENT_BODY,
        response: ANSWERS_ALERT,
      },
    },
    async (req) => {
      const p = requireRole(req, ...ACTORS)
      const alert = visible(req, p)
      const body = parseWith(COMMENT_BODY, req.body ?? {})
      return alerts.comment(alert.id, by(p, body.note))
    },
  )

  app.post(
    '/api/alerts/:id/assign',
    {
      schema: {
        summary: '派单给班组 / Assign an alert to a team',
        params: ID_PARAM,
        body: ASSIGN_BODY,
        response: ANSWERS_ALERT,
      },
    },
    async (req) => {
      const p = requireRole(req, ...ACTORS)
      const alert = visible(req, p)
      const body = parseWith(ASSIGN_BODY, req.body ?? {})
      checkTeam(body.team, alert)
      return alerts.assign(alert.id, body.team, by(p, body.note))
    },
  )
}
