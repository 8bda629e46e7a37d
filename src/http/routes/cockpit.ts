import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { CockpitService } from '../../cockpit/cockpit.ts'
import { ID_PATTERN } from '../../mqtt/topics.ts'
import { principalOf } from '../auth.ts'
import { parseWith } from '../parse.ts'

/**
 * `GET /api/cockpit[?scope=street|community|estate]`: the street cockpit (src/cockpit) of a scope at
 * or below the caller's own; crews get 403 (they work orders). One answer holds the whole screen.
 */
const QUERY = z.strictObject({ scope: z.string().regex(ID_PATTERN, 'a site id').optional() })

export async function cockpitRoutes(app: FastifyInstance, opts: { cockpit: CockpitService }): Promise<void> {
  app.get(
    '/api/cockpit',
    { schema: { summary: '街道驾驶舱 / The street cockpit', querystring: QUERY } },
    async (req) => {
      const q = parseWith(QUERY, req.query ?? {})
      return opts.cockpit.build(principalOf(req), q.scope)
    },
  )
}
