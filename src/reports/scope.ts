import { may } from '../auth/permissions.ts'
import type { Principal } from '../auth/principal.ts'
import { ZhianError } from '../errors.ts'
import type { Registry } from '../registry/registry.ts'

/**
 * Who may have which report: a scope at or below the principal's own (a manager of estate A never
 * gets estate B's; a street officer gets any estate or community of the street). Crews work orders,
 * not reports. A scoped principal asking for a site outside its scope gets the same refusal whether
 * the site exists or not.
 */
export function authorizeScope(
  registry: Registry,
  principal: Pick<Principal, 'role' | 'scope'>,
  requested: string | undefined,
): string {
  if (!may(principal, 'read_reports'))
    throw new ZhianError('ZHIAN_ERR_FORBIDDEN', 'reports are for managers and officers')
  const scope = requested || principal.scope
  if (!scope) throw new ZhianError('ZHIAN_ERR_VALIDATION', 'scope: give a street, community or estate id')
  if (principal.scope !== null) {
    if (!registry.subtree(principal.scope).has(scope) || !registry.site(scope)) {
      throw new ZhianError('ZHIAN_ERR_REPORT_SCOPE', `"${scope}" is not within "${principal.scope}"`)
    }
    return scope
  }
  if (!registry.site(scope)) throw new ZhianError('ZHIAN_ERR_NOT_FOUND', `site "${scope}"`)
  return scope
}
