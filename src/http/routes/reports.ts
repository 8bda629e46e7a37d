import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { may } from '../../auth/permissions.ts'
import { ZhianError } from '../../errors.ts'
import { ID_PATTERN } from '../../mqtt/topics.ts'
import type { Registry } from '../../registry/registry.ts'
import { authorizeScope } from '../../reports/scope.ts'
import { formatOf, type ReportService } from '../../reports/service.ts'
import { principalOf } from '../auth.ts'
import { parseWith } from '../parse.ts'
import { FRAMED_BY_DASHBOARD } from '../security-headers.ts'

/**
 * `GET /api/reports?scope=e1&period=week&format=json|html|csv|xlsx&lang=zh|en[&tz=Asia/Shanghai]`:
 * a scope at or below the caller's own (403 ZHIAN_ERR_REPORT_SCOPE otherwise), periods as in
 * src/reports/period.ts. JSON is what the dashboard page renders; HTML is the printable page.
 */
export interface ReportHttp {
  reports: ReportService
  registry: Registry
}

const QUERY = z.strictObject({
  scope: z.string().regex(ID_PATTERN, 'a site id').optional(),
  period: z.string().min(1).max(64).default('week'),
  format: z.string().max(8).optional(),
  lang: z.enum(['zh', 'en']).default('zh'),
  tz: z.string().min(1).max(64).optional(),
})

export async function reportRoutes(app: FastifyInstance, opts: ReportHttp): Promise<void> {
  /** The estate file's schedules the caller's scope covers, with their next send time (recipients by name only). */
  app.get('/api/reports/schedules', { schema: { summary: '定时报表 / Report schedules' } }, async (req) => {
    const p = principalOf(req)
    if (!may(p, 'read_reports'))
      throw new ZhianError('ZHIAN_ERR_FORBIDDEN', 'reports are for managers and officers')
    const scheduler = opts.reports.scheduler
    const below = p.scope === null ? undefined : opts.registry.subtree(p.scope)
    const due = scheduler?.nextDue() ?? {}
    return (scheduler?.schedules ?? [])
      .filter((s) => !below || below.has(s.scope))
      .map((s) => ({
        id: s.id,
        scope: s.scope,
        every: s.every,
        at: s.at,
        weekday: s.every === 'week' ? s.weekday : null,
        day: s.every === 'month' ? s.day : null,
        lang: s.lang,
        timezone: opts.reports.tz,
        recipients: scheduler!
          .recipients(s)
          .map((r) => ({ ref: r.ref, channels: r.channels.map((c) => c.type) })),
        next_at: due[s.id] ?? null,
        last_period: scheduler!.sent.get(s.id) ?? null,
      }))
  })

  app.get(
    '/api/reports',
    {
      ...FRAMED_BY_DASHBOARD,
      schema: { summary: '生成报表 (HTML/CSV/XLSX) / A report (HTML, CSV, XLSX)', querystring: QUERY },
    },
    async (req, reply) => {
      const q = parseWith(QUERY, req.query ?? {})
      const format = formatOf(q.format)
      const scope = authorizeScope(opts.registry, principalOf(req), q.scope)
      const report = await opts.reports.build({ scope, period: q.period, tz: q.tz })
      const self = (lang: string, fmt: string) => {
        const p = new URLSearchParams({ scope, period: report.period.id, format: fmt, lang })
        if (q.tz) p.set('tz', q.tz)
        return `/api/reports?${p}`
      }
      const out = await opts.reports.render(report, format, q.lang, { self })
      reply.header('content-type', out.contentType)
      reply.header('cache-control', 'no-store')
      if (format === 'csv' || format === 'xlsx') {
        reply.header('content-disposition', `attachment; filename="${out.filename}"`)
      }
      return reply.send(out.body)
    },
  )
}
