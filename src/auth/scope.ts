import type { Principal } from './principal.ts'

/** Where a thing sits in the site tree, as alerts and devices carry it (every level denormalised). */
export interface SitePath {
  street?: string | null | undefined
  community?: string | null | undefined
  estate?: string | null | undefined
  building?: string | null | undefined
}

/** Levels of a path, top first, without gaps. */
export function siteIds(path: SitePath): string[] {
  return [path.street, path.community, path.estate, path.building].filter((s): s is string => Boolean(s))
}

/**
 * A principal sees a thing when its scope node is one of the thing's levels (scope null = everything).
 * Hub-wide things without a site (hub.* alerts) are for unscoped principals only.
 */
export function inScope(principal: Pick<Principal, 'scope'>, path: SitePath): boolean {
  if (principal.scope === null) return true
  return siteIds(path).includes(principal.scope)
}

/** What a crew member works on: in scope, and assigned to (or by default routed to) their team. */
export function crewSees(
  principal: Pick<Principal, 'scope' | 'team'>,
  alert: SitePath & { assigned_team: string | null; crew: string },
): boolean {
  if (!principal.team || !inScope(principal, alert)) return false
  return (alert.assigned_team ?? alert.crew) === principal.team
}
