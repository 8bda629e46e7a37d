import type { FastifyRequest } from 'fastify'
import type { Principal } from '../auth/principal.ts'
import type { Role } from '../config/estate-file.ts'
import { ZhianError } from '../errors.ts'

// Every /api route reads `req.principal` (set by the auth hook in server.ts) and filters by its scope.
declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ZhianError('ZHIAN_ERR_UNAUTHORIZED')
  return req.principal
}

/** Throws ZHIAN_ERR_FORBIDDEN unless the principal has one of the roles. */
export function requireRole(req: FastifyRequest, ...roles: Role[]): Principal {
  const p = principalOf(req)
  if (!roles.includes(p.role)) throw new ZhianError('ZHIAN_ERR_FORBIDDEN', `role ${p.role}`)
  return p
}
