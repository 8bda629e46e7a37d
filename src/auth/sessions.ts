import { createHash, randomBytes } from 'node:crypto'
import type { Db } from '../store/db.ts'
import { type User, Users } from './users.ts'

/** A wall screen stays logged in for a working week; logging out or a password change ends it sooner. */
export const SESSION_TTL_MS = 7 * 24 * 3600_000

/**
 * Login sessions: a 256-bit random token goes to the browser (cookie) or the API client (bearer);
 * the store keeps only its SHA-256, so a copy of the database cannot be replayed as a login.
 * Each lookup re-reads the user, so a removed user or a changed role takes effect at once.
 */
export class Sessions {
  constructor(
    private readonly db: Db,
    readonly ttlMs = SESSION_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  create(username: string): { token: string; expiresAt: number } {
    const token = randomBytes(32).toString('base64url')
    const at = this.now()
    const expiresAt = at + this.ttlMs
    this.db
      .prepare('INSERT INTO sessions (token_sha256, username, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .run(sha256(token), username, at, expiresAt)
    return { token, expiresAt }
  }

  /** The session's user, or undefined for unknown, forged or expired tokens. */
  resolve(token: string | undefined): User | undefined {
    if (!token || token.length > 128) return undefined
    const row = this.db
      .prepare(
        `SELECT u.*, s.expires_at AS session_expires_at FROM sessions s JOIN users u ON u.username = s.username
         WHERE s.token_sha256 = ?`,
      )
      .get(sha256(token)) as (Record<string, unknown> & { session_expires_at: number }) | undefined
    if (!row || row.session_expires_at <= this.now()) return undefined
    return new Users(this.db).get(row.username as string)
  }

  revoke(token: string): void {
    this.db.prepare('DELETE FROM sessions WHERE token_sha256 = ?').run(sha256(token))
  }

  revokeUser(username: string): void {
    this.db.prepare('DELETE FROM sessions WHERE username = ?').run(username)
  }

  purgeExpired(): number {
    return this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(this.now()).changes
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
