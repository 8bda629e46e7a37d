import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { type Db, migrate } from '../store/db.ts'

/**
 * The `settings` key-value table, whose one row is this token's hash. Stores of earlier versions got it
 * from the registry's first migration: IF NOT EXISTS leaves such a store as it is.
 */
export const SETTINGS_MIGRATIONS = [
  'CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);',
] as const

/**
 * The admin API token: `ZHIAN_API_TOKEN`, or one generated at first start and printed once. Only its SHA-256 is stored (the token is 192 random bits,
 * so a slow hash adds nothing).
 */
export class ApiToken {
  private hash: Buffer | undefined

  constructor(private readonly db: Db) {}

  /** Returns the new plain token when one had to be generated. */
  ensure(fixed: string | undefined): string | undefined {
    migrate(this.db, 'settings', SETTINGS_MIGRATIONS)
    if (fixed) {
      this.hash = sha256(fixed)
      return undefined
    }
    const row = this.db.prepare("SELECT value FROM settings WHERE key = 'api_token_sha256'").get() as
      | { value: string }
      | undefined
    if (row) {
      this.hash = Buffer.from(row.value, 'hex')
      return undefined
    }
    const token = randomBytes(24).toString('base64url')
    this.hash = sha256(token)
    this.db
      .prepare("INSERT INTO settings (key, value) VALUES ('api_token_sha256', ?)")
      .run(this.hash.toString('hex'))
    return token
  }

  check(candidate: string | undefined): boolean {
    if (!candidate || !this.hash) return false
    return timingSafeEqual(sha256(candidate), this.hash)
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
