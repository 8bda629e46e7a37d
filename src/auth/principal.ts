import type { Role } from '../config/estate-file.ts'

/**
 * Who is asking, whatever the transport (HTTP, socket.io, an MQTT `user:` login). Every reader filters
 * by its scope: a node of the site tree; `null` scope = everything (the admin API token).
 */
export interface Principal {
  username: string
  role: Role
  scope: string | null
  /** The crew a `crew` user works for (socket.io room, alert routing); null otherwise. */
  team?: string | null | undefined
}
