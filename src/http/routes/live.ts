import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { crewSees, inScope } from '../../auth/scope.ts'
import { ZhianError } from '../../errors.ts'
import type { LiveState } from '../../live/live-state.ts'
import type { Registry } from '../../registry/registry.ts'
import { principalOf } from '../auth.ts'
import { parseWith } from '../parse.ts'

const DEVICES_QUERY = z.object({
  estate: z.string().max(64).optional(),
  q: z.string().max(128).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(2000),
})
const ID_PARAM = z.object({ id: z.string().max(64) })

/** The dashboard's live picture, always cut to the caller's scope. */
export async function liveRoutes(
  app: FastifyInstance,
  opts: { live: LiveState; registry: Registry },
): Promise<void> {
  const { live, registry } = opts

  /** The cockpit: every site node in scope with its counts, and parking per estate/zone. */
  app.get('/api/live', { schema: { summary: '各级站点实时汇总 / Live roll-up per site' } }, async (req) => {
    const p = principalOf(req)
    return { at: Date.now(), sites: live.rollup(p), parking: live.parking(p) }
  })

  /**
   * Open alerts in scope (a crew sees its team's): what the dashboard re-syncs from after a reconnect
   * that socket.io could not recover. Newest first.
   */
  app.get('/api/live/alerts', { schema: { summary: '当前告警 / Open alerts now' } }, async (req) => {
    const p = principalOf(req)
    const open = live.openAlerts(p).filter((a) => p.role !== 'crew' || crewSees(p, a))
    return open.sort((a, b) => b.last_at - a.last_at)
  })

  app.get(
    '/api/live/devices',
    { schema: { summary: '设备实时状态 / Live device states', querystring: DEVICES_QUERY } },
    async (req) => {
      const p = principalOf(req)
      const q = parseWith(DEVICES_QUERY, req.query)
      const all = live.devices(p, { ...(q.estate ? { estate: q.estate } : {}), ...(q.q ? { q: q.q } : {}) })
      return { total: all.length, devices: all.slice(0, q.limit) }
    },
  )

  /** One estate at a glance: its devices with live values, parking zones and open alerts. */
  app.get(
    '/api/live/estates/:id',
    { schema: { summary: '小区实时视图 / Live view of an estate', params: ID_PARAM } },
    async (req) => {
      const p = principalOf(req)
      const { id } = parseWith(ID_PARAM, req.params)
      const site = registry.site(id)
      // Its own estate for a user scoped to the estate or above it, and for one scoped to a building of it
      // (who then gets only that building's devices and alerts). Another scope's estate is answered as
      // one that does not exist: the answer must not tell which ids exist.
      const visible =
        site?.type === 'estate' &&
        (inScope(p, sitePath(registry, id)) || (p.scope !== null && registry.subtree(id).has(p.scope)))
      if (!site || !visible) throw new ZhianError('ZHIAN_ERR_UNKNOWN_SITE', id)
      return {
        site,
        devices: live.devices(p, { estate: id }),
        parking: live.parking(p, id),
        alerts: live.openAlerts(p).filter((a) => a.estate === id),
      }
    },
  )
}

/** street/community/estate ids above (and including) an estate. */
export function sitePath(
  registry: Registry,
  estate: string,
): { street?: string; community?: string; estate: string } {
  const out: { street?: string; community?: string; estate: string } = { estate }
  let parent = registry.site(estate)?.parent
  while (parent) {
    const s = registry.site(parent)
    if (!s) break
    if (s.type === 'community') out.community = s.id
    if (s.type === 'street') out.street = s.id
    parent = s.parent
  }
  return out
}
