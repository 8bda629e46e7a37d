import type { IncomingHttpHeaders } from 'node:http'
import { pino } from 'pino'
import { type Db, migrate } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import type { ApiToken } from './api-token.ts'
import { AUDIT_MIGRATIONS, LoginAudit, type LoginChannel } from './login-audit.ts'
import { CheckGate, LoginLimiter } from './login-limiter.ts'
import type { Principal } from './principal.ts'
import { AUTH_MIGRATIONS, USERS_MIGRATIONS } from './schema.ts'
import { Sessions } from './sessions.ts'
import { type User, Users } from './users.ts'

export const SESSION_COOKIE = 'zhian_session'

/** A login's answer: the user, or why not (and, when throttled, the seconds to wait). */
export type LoginResult =
  | { user: User }
  | { refused: 'bad_password' | 'throttled' | 'busy'; retryAfter: number }

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
  readonly audit: LoginAudit
  private purge: NodeJS.Timeout | undefined
  private readonly revoked = new Set<(token: string) => void>()

  /** `log`: where audit lines go; the CLI, which has no hub logger, writes them to stderr. */
  constructor(
    private readonly db: Db,
    private readonly apiToken: ApiToken,
    log: Logger = pino({ base: { app: 'zhian' } }, pino.destination(2)),
  ) {
    this.audit = new LoginAudit(db, log.child({ feature: 'audit' }))
    this.users = new Users(db, () => this.audit.logNew())
    this.sessions = new Sessions(db)
  }

  /** Create auth's tables; before the estate file's users are applied. */
  open(): void {
    migrate(this.db, 'users', USERS_MIGRATIONS)
    migrate(this.db, 'auth', AUTH_MIGRATIONS)
    migrate(this.db, 'login_audit', AUDIT_MIGRATIONS)
    this.audit.open()
  }

  start(): void {
    this.open()
    // Password changes the estate file made since open() (the registry applies it in between).
    this.audit.logNew()
    this.purgeExpired()
    this.purge = setInterval(() => this.purgeExpired(), 3600_000)
    this.purge.unref()
  }

  private purgeExpired(): void {
    this.sessions.purgeExpired()
    this.audit.purgeExpired()
  }

  /**
   * A password login, the one path for the dashboard (`channel` http) and MQTT `user:` logins (mqtt):
   * throttle, the hub-wide gate on password checks, the check, and the audit of what came of it.
   * `source` is the client's address (behind a trusted proxy, the one it forwarded).
   */
  async login(
    channel: LoginChannel,
    source: string,
    username: string,
    password: string,
  ): Promise<LoginResult> {
    const trusted = this.audit.succeededFrom(username, source)
    // The slot is taken before the (slow) password check: parallel guesses count as they start.
    const attempt = this.limiter.reserve(source, username, trusted)
    if (typeof attempt === 'number') return { refused: 'throttled', retryAfter: attempt }
    let checked: { value: User | undefined } | undefined
    try {
      checked = await this.checks.run(() => this.users.verify(username, password))
    } finally {
      // Not checked (hub-wide queue full, or an error): the slot goes back and counts as nothing.
      if (!checked) attempt.cancelled()
    }
    if (!checked) return { refused: 'busy', retryAfter: 1 }
    const entry = { username, source, channel }
    if (!checked.value) {
      const filled = attempt.failed()
      this.audit.record({ ...entry, outcome: 'failure' })
      for (const tier of filled) {
        this.audit.record({
          ...entry,
          outcome: 'locked',
          detail: `${tier}, ${this.limiter.retryAfter(source, username)} s`,
        })
      }
      return { refused: 'bad_password', retryAfter: 0 }
    }
    attempt.succeeded()
    this.audit.record({ ...entry, outcome: 'success' })
    return { user: checked.value }
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
