import type { FastifyRequest } from 'fastify'
import type { Role } from '../config/estate-file.ts'
import { ZhianError } from '../errors.ts'

/**
 * Who is asking. Every /api route reads `req.principal` (set by the auth hook in server.ts) and
 * filters by its scope: a node of the site tree; `null` scope = everything (the admin API token).
 */
export interface Principal {
  username: string
  role: Role
  scope: string | null
  /** The crew a `crew` user works for (socket.io room, alert routing); null otherwise. */
  team?: string | null | undefined
}

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
