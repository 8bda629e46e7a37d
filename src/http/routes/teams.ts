import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { MAY } from '../../auth/permissions.ts'
import type { Dispatcher } from '../../dispatch/dispatcher.ts'
import { ID_PATTERN } from '../../mqtt/topics.ts'
import type { Registry } from '../../registry/registry.ts'
import { requireRole } from '../auth.ts'
import { parseWith } from '../parse.ts'

/**
 * Teams from the estate file, read-only: members (channel types only: URLs and secrets never leave
 * the hub), who is on duty now (for an estate, `?estate=`), and the routing rules. A scoped user gets
 * the teams and rules that concern its scope only.
 */
export interface TeamHttp {
  dispatch: Dispatcher
  registry: Registry
}

const QUERY = z.strictObject({ estate: z.string().regex(ID_PATTERN).optional() })

export async function teamRoutes(app: FastifyInstance, opts: TeamHttp): Promise<void> {
  app.get(
    '/api/teams',
    { schema: { summary: '班组与成员 / Teams and members (channel types only)', querystring: QUERY } },
    async (req) => {
      const p = requireRole(req, ...MAY.read)
      const q = parseWith(QUERY, req.query ?? {})
      const { router } = opts.dispatch
      const place = q.estate ? siteOf(opts.registry, q.estate) : undefined
      const teams = router.config.teams.filter(
        (t) => !t.estates || t.estates.some((e) => touches(opts.registry, p.scope, e)),
      )
      return teams.map((t) => ({
        id: t.id,
        name: t.name,
        crew: t.crew ?? t.id,
        estates: t.estates ?? null,
        lead: t.lead ?? null,
        timezone: t.timezone,
        members: t.members.map((m) => ({
          id: m.id,
          name: m.name,
          user: m.user ?? null,
          channels: m.channels.map((c) => c.type),
        })),
        on_duty: place
          ? router.serves(t, place)
            ? router.onDuty(t, place, Date.now()).map((m) => m.id)
            : []
          : null,
      }))
    },
  )

  /**
   * The caller's own places in the teams (a member whose `user:` is this login): its shifts, whether it
   * is on duty now, and who of its team is. The crew app says so when a fitter is off shift, so an empty
   * task list at night does not read as "nothing happening".
   */
  app.get(
    '/api/teams/mine',
    { schema: { summary: '我的班组与值班 / My teams and who is on duty' } },
    async (req) => {
      const p = requireRole(req, ...MAY.read)
      const { router } = opts.dispatch
      const now = Date.now()
      return router.config.teams.flatMap((t) => {
        const member = t.members.find((m) => m.user === p.username)
        if (!member) return []
        const estate = t.estates?.find((e) => touches(opts.registry, p.scope, e)) ?? t.estates?.[0]
        const place = estate ? siteOf(opts.registry, estate) : NOWHERE
        const onDuty = router.onDuty(t, place, now)
        const roster = router.config.roster.filter((r) => r.team === t.id)
        return [
          {
            team: t.id,
            team_name: t.name,
            member: member.id,
            name: member.name,
            timezone: t.timezone,
            // No roster for the team: every member is on duty all the time.
            shifts: roster
              .filter((r) => r.member === member.id)
              .map((r) => ({ days: r.days ?? null, hours: r.hours ?? null })),
            on_duty: roster.length === 0 || onDuty.some((m) => m.id === member.id),
            on_duty_now: onDuty.map((m) => ({ id: m.id, name: m.name })),
          },
        ]
      })
    },
  )

  app.get('/api/routing', { schema: { summary: '派单规则 / Routing rules' } }, async (req) => {
    const p = requireRole(req, ...MAY.read_routing)
    return opts.dispatch.router.config.routing.filter((r) => touches(opts.registry, p.scope, r.match.site))
  })
}

/** A team serving every estate, asked without a place: roster entries limited to estates do not apply. */
const NOWHERE = { street: null, community: null, estate: null, building: null }

/**
 * Whether a site node concerns a scope: at, above or below it (no node: everywhere). A team serving
 * the estate concerns its buildings' managers; a rule for a building concerns its estate's manager.
 */
function touches(registry: Registry, scope: string | null, node: string | undefined): boolean {
  if (scope === null || node === undefined) return true
  return registry.subtree(scope).has(node) || registry.subtree(node).has(scope)
}

function siteOf(registry: Registry, estate: string) {
  const sites = registry.sites()
  const byId = new Map(sites.map((s) => [s.id, s]))
  const path: { street: string | null; community: string | null; estate: string | null; building: null } = {
    street: null,
    community: null,
    estate,
    building: null,
  }
  let node = byId.get(estate) as { parent?: string | null } | undefined
  while (node?.parent) {
    const parent = byId.get(node.parent) as { id: string; type: string; parent?: string | null } | undefined
    if (parent?.type === 'community') path.community = parent.id
    if (parent?.type === 'street') path.street = parent.id
    node = parent
  }
  return path
}
