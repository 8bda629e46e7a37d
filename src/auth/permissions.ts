import type { Role } from '../config/estate-file.ts'
import type { Principal } from './principal.ts'

/**
 * What each role may do: the one table. The HTTP routes check it (`requireRole(req, ...MAY.x)`), and
 * `GET /api/auth/me` hands the caller its own list, so the dashboard shows exactly the actions the hub
 * would accept and keeps no copy of these rules. Scope (which sites) is a separate rule (`scope.ts`).
 */
export const MAY = {
  /** Alerts, silences, work orders, teams, the live views and CSV exports of the scope. */
  read: ['admin', 'manager', 'crew', 'viewer'],
  /** Acknowledge, assign, resolve and comment on an alert. */
  act_on_alerts: ['admin', 'manager'],
  /** Silence alerts, put devices into maintenance. */
  silence: ['admin', 'manager'],
  /** Open a work order for an alert by hand. */
  open_work_orders: ['admin', 'manager'],
  /** The crew's steps on a work order: accept, arrive, resolve, comment. */
  work_on_orders: ['admin', 'manager', 'crew'],
  cancel_work_orders: ['admin', 'manager'],
  /** Estate, community and street reports (crews work orders, not reports). */
  read_reports: ['admin', 'manager', 'viewer'],
  /** The routing rules of the estate file. */
  read_routing: ['admin', 'manager'],
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof MAY

export function may(principal: Pick<Principal, 'role'>, permission: Permission): boolean {
  return (MAY[permission] as readonly Role[]).includes(principal.role)
}

/** The caller's permissions, in the table's order. */
export function permissionsOf(principal: Pick<Principal, 'role'>): Permission[] {
  return (Object.keys(MAY) as Permission[]).filter((p) => may(principal, p))
}
