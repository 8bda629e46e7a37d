import { shallowRef } from 'vue'
import type { Permission } from '../../auth/permissions.ts'
import type { Principal } from '../../auth/principal.ts'

/**
 * What the logged-in user may do, as the hub says (`GET /api/auth/me` → `may`, from
 * src/auth/permissions.ts, the table the routes check). The dashboard shows an action only when it is
 * in this list, so no button answers 403 and the rules are not copied here.
 */
export type Me = Principal & { may: Permission[] }

export const me = shallowRef<Me | null>(null)

export function setMe(next: Me | null): void {
  me.value = next
}

export function may(permission: Permission): boolean {
  return me.value?.may.includes(permission) ?? false
}

/** A crew login works its own orders: it lands on them, on a phone, and its page is "my tasks". */
export function isCrew(): boolean {
  return me.value?.role === 'crew'
}

/** Where a login lands, and where a view it may not use sends it. */
export function home(): string {
  return isCrew() ? '/tasks' : '/'
}
