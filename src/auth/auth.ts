import type { IncomingHttpHeaders } from 'node:http'
import type { ApiToken } from '../http/api-token.ts'
import type { Principal } from '../http/auth.ts'
import { type Db, migrate } from '../store/db.ts'
import { CheckGate, LoginLimiter } from './login-limiter.ts'
import { AUTH_MIGRATIONS } from './schema.ts'
import { Sessions } from './sessions.ts'
import { type User, Users } from './users.ts'

export const SESSION_COOKIE = 'zhian_session'

export interface Credentials {
  token: string
  via: 'bearer' | 'cookie'
}

/**
 * Who is calling, for HTTP and socket.io alike: a bearer token (session or the admin API token) or the
 * session cookie the dashboard gets at login. One place so the two transports cannot disagree.
 */
export class Auth {
  readonly users: Users
  readonly sessions: Sessions
  readonly limiter = new LoginLimiter()
  /** Password checks at once, hub-wide: a login storm queues (then is refused) instead of starving the hub. */
  readonly checks = new CheckGate()
  private purge: NodeJS.Timeout | undefined
  private readonly revoked = new Set<(token: string) => void>()

  constructor(
    private readonly db: Db,
    private readonly apiToken: ApiToken,
  ) {
    this.users = new Users(db)
    this.sessions = new Sessions(db)
  }

  /** After the registry created `users`. */
  open(): void {
    migrate(this.db, 'auth', AUTH_MIGRATIONS)
  }

  start(): void {
    this.open()
    this.sessions.purgeExpired()
    this.purge = setInterval(() => this.sessions.purgeExpired(), 3600_000)
    this.purge.unref()
  }

  stop(): void {
    clearInterval(this.purge)
  }

  /** End a session (logout); live connections made with it are told to go (see Realtime). */
  revoke(token: string): void {
    this.sessions.revoke(token)
    for (const listener of this.revoked) listener(token)
  }

  onRevoke(listener: (token: string) => void): () => void {
    this.revoked.add(listener)
    return () => this.revoked.delete(listener)
  }

  credentialsOf(headers: IncomingHttpHeaders): Credentials | undefined {
    const header = headers.authorization
    if (header?.startsWith('Bearer ')) return { token: header.slice(7).trim(), via: 'bearer' }
    const cookie = readCookie(headers.cookie, SESSION_COOKIE)
    return cookie ? { token: cookie, via: 'cookie' } : undefined
  }

  principalOfToken(token: string | undefined): Principal | undefined {
    if (!token) return undefined
    if (this.apiToken.check(token)) return { username: 'api-token', role: 'admin', scope: null, team: null }
    const user = this.sessions.resolve(token)
    return user ? principalOfUser(user) : undefined
  }

  principalOf(headers: IncomingHttpHeaders): Principal | undefined {
    return this.principalOfToken(this.credentialsOf(headers)?.token)
  }
}

export function principalOfUser(user: User): Principal {
  return {
    username: user.username,
    role: user.role,
    scope: user.scope,
    team: user.role === 'crew' ? user.team : null,
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim())
      } catch {
        return undefined
      }
    }
  }
  return undefined
}
