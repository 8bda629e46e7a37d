import { randomBytes } from 'node:crypto'
import { type EstateFile, ROLES, type Role } from '../config/estate-file.ts'
import { ZhianError } from '../errors.ts'
import { isValidId } from '../mqtt/topics.ts'
import { type Db, hasTable } from '../store/db.ts'
import { hashSecret, PASSWORD_COST, verifySecret } from '../util/secrets.ts'

/** Scope `*` in the store = the whole site tree (only the bootstrap admin gets it; YAML users name a node). */
export const ALL_SITES = '*'
export const MIN_PASSWORD = 8

export interface User {
  username: string
  role: Role
  /** A node of the site tree, or null for everything. */
  scope: string | null
  /** The crew a `crew` user works for (its room); null for other roles. */
  team: string | null
  source: string
  created_at: number
}

interface UserRow {
  username: string
  password_hash: string
  role: string
  scope: string
  team: string | null
  source: string
  created_at: number
}

/** A hash nobody's password matches, so an unknown username costs the same scrypt as a wrong password. */
let dummyHash: Promise<string> | undefined

export interface NewUser {
  username: string
  password: string
  role: Role
  scope: string | null
  team?: string | null | undefined
}

/** People who log in to the dashboard and the API: the `users` table (estate file, CLI, bootstrap). */
export class Users {
  /** `onPasswordChanged`: the audit logs the row its trigger wrote (see login-audit.ts). */
  constructor(
    private readonly db: Db,
    private readonly onPasswordChanged: () => void = () => {},
  ) {}

  get(username: string): User | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined
    return row ? toUser(row) : undefined
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser)
  }

  async add(input: NewUser, source = 'cli'): Promise<User> {
    check(input)
    if (this.get(input.username))
      throw new ZhianError('ZHIAN_ERR_VALIDATION', `user "${input.username}" exists`)
    const hash = await hashSecret(input.password, PASSWORD_COST)
    this.db
      .prepare(
        `INSERT INTO users (username, password_hash, role, scope, team, source, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(input.username, hash, input.role, input.scope ?? ALL_SITES, input.team ?? null, source, Date.now())
    return this.get(input.username)!
  }

  /** New password; every session of the user ends (the sessions table cascades on the username only, so delete here). */
  async setPassword(username: string, password: string): Promise<void> {
    if (password.length < MIN_PASSWORD)
      throw new ZhianError('ZHIAN_ERR_VALIDATION', 'password: at least 8 characters')
    const hash = await hashSecret(password, PASSWORD_COST)
    const changed = this.db.transaction(() => {
      const n = this.db
        .prepare('UPDATE users SET password_hash = ? WHERE username = ?')
        .run(hash, username).changes
      this.db.prepare('DELETE FROM sessions WHERE username = ?').run(username)
      return n
    })()
    if (!changed) throw new ZhianError('ZHIAN_ERR_NOT_FOUND', `user "${username}"`)
    this.onPasswordChanged()
  }

  remove(username: string): boolean {
    return this.db.prepare('DELETE FROM users WHERE username = ?').run(username).changes > 0
  }

  /** The user when the password matches; timing does not tell unknown users from wrong passwords. */
  async verify(username: string, password: string): Promise<User | undefined> {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined
    if (!row) {
      dummyHash ??= hashSecret(randomBytes(16).toString('hex'), PASSWORD_COST)
      await verifySecret(password, await dummyHash)
      return undefined
    }
    return (await verifySecret(password, row.password_hash)) ? toUser(row) : undefined
  }

  /**
   * Make the table match the estate file's users; users added by the CLI or at first start stay. A
   * stored hash the file's password still matches stays (and so do the user's sessions); a different
   * password is a change, which ends every session of that user, and so does leaving the file.
   */
  async applyEstate(users: EstateFile['users']): Promise<void> {
    const storedUsers = new Map(
      (this.db.prepare('SELECT username, password_hash FROM users').all() as UserRow[]).map((r) => [
        r.username,
        r.password_hash,
      ]),
    )
    const wanted = await Promise.all(
      users.map(async (u) => {
        const stored = storedUsers.get(u.username)
        let hash = u.password_hash
        if (!hash && stored && (await verifySecret(u.password!, stored))) hash = stored
        hash ??= await hashSecret(u.password!, PASSWORD_COST)
        return {
          username: u.username,
          role: u.role,
          scope: u.scope,
          team: u.team ?? null,
          password_hash: hash,
          changed: stored !== undefined && stored !== hash,
        }
      }),
    )
    this.db.transaction(() => {
      const upsertUser = this.db.prepare(
        `INSERT INTO users (username, password_hash, role, scope, team, source, created_at)
         VALUES (@username, @password_hash, @role, @scope, @team, 'config', @now)
         ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role,
           scope = excluded.scope, team = excluded.team`,
      )
      // Sessions are auth's too; their table cascades on the username only, so delete here.
      const endSessions = this.db.prepare('DELETE FROM sessions WHERE username = ?')
      for (const { changed, ...u } of wanted) {
        upsertUser.run({ ...u, now: Date.now() })
        if (changed) endSessions.run(u.username)
      }
      // Users the file no longer lists cannot log in any more; users added by the CLI stay.
      const keepUsers = new Set(wanted.map((u) => u.username))
      const configUsers = this.db.prepare("SELECT username FROM users WHERE source = 'config'").all() as {
        username: string
      }[]
      const delUser = this.db.prepare('DELETE FROM users WHERE username = ?')
      for (const { username } of configUsers) {
        if (keepUsers.has(username)) continue
        endSessions.run(username)
        delUser.run(username)
      }
    })()
  }

  /** The users as an estate file lists them (password hashes): what `zhian config export` prints. */
  exportEstate(): EstateFile['users'] {
    // A store only the registry has opened (no hub ran on it yet) has no users.
    if (!hasTable(this.db, 'users')) return []
    const rows = this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]
    return rows.map((u) => ({
      username: u.username,
      password_hash: u.password_hash,
      role: u.role as Role,
      scope: u.scope,
      ...(u.team ? { team: u.team } : {}),
    }))
  }

  /**
   * First start: when no admin exists, create `admin` (scope everything) with `password`, or a random
   * one that is returned so the process can print it once.
   */
  async ensureAdmin(password: string | undefined): Promise<string | undefined> {
    const any = this.db.prepare("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1").get()
    if (any) return undefined
    const generated = password ? undefined : randomBytes(12).toString('base64url')
    if (this.get('admin')) {
      // A non-admin called "admin" exists: do not take it over, use another name.
      throw new ZhianError('ZHIAN_ERR_VALIDATION', 'no admin user, and "admin" is taken by another role')
    }
    await this.add(
      { username: 'admin', password: (password ?? generated)!, role: 'admin', scope: null },
      'bootstrap',
    )
    return generated
  }
}

function check(input: NewUser): void {
  if (!isValidId(input.username)) throw new ZhianError('ZHIAN_ERR_INVALID_ID', JSON.stringify(input.username))
  if (!ROLES.includes(input.role))
    throw new ZhianError('ZHIAN_ERR_VALIDATION', `role: one of ${ROLES.join(', ')}`)
  if (input.scope !== null && !isValidId(input.scope))
    throw new ZhianError('ZHIAN_ERR_INVALID_ID', `scope ${input.scope}`)
  if (input.team && !isValidId(input.team)) throw new ZhianError('ZHIAN_ERR_INVALID_ID', `team ${input.team}`)
  if (input.password.length < MIN_PASSWORD)
    throw new ZhianError('ZHIAN_ERR_VALIDATION', 'password: at least 8 characters')
}

function toUser(row: UserRow): User {
  return {
    username: row.username,
    role: (ROLES as readonly string[]).includes(row.role) ? (row.role as Role) : 'viewer',
    scope: row.scope === ALL_SITES ? null : row.scope,
    team: row.team,
    source: row.source,
    created_at: row.created_at,
  }
}
