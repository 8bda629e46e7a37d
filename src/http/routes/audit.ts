import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { LoginAudit } from '../../auth/login-audit.ts'
import { parseWith } from '../parse.ts'

const QUERY = z.strictObject({
  user: z.string().min(1).max(64).optional(),
  /** Epoch ms or ISO 8601. */
  since: z
    .union([
      z.coerce.number().int().min(0),
      z
        .string()
        .refine((s) => !Number.isNaN(Date.parse(s)), 'not a time (epoch ms or ISO 8601)')
        .transform((s) => Date.parse(s)),
    ])
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
})

/**
 * `GET /api/audit/logins?user=&since=&limit=&offset=`: the login audit, newest first (admins of the whole
 * site tree only: it names the users of every estate; server.ts registers it behind that check).
 */
export async function auditRoutes(app: FastifyInstance, opts: { audit: LoginAudit }): Promise<void> {
  app.get(
    '/api/audit/logins',
    { schema: { summary: '登录审计 / Login audit', querystring: QUERY } },
    async (req) => {
      const q = parseWith(QUERY, req.query ?? {})
      const { total, items } = opts.audit.list({
        username: q.user,
        since: q.since,
        limit: q.limit,
        offset: q.offset,
      })
      return {
        total,
        limit: q.limit,
        offset: q.offset,
        items: items.map((r) => ({
          id: r.id,
          at: new Date(r.at).toISOString(),
          user: r.username,
          source: r.source,
          channel: r.channel,
          outcome: r.outcome,
          detail: r.detail,
        })),
      }
    },
  )
}
