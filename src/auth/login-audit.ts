import type { Db } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'

/**
 * The login audit: every dashboard and MQTT `user:` login (success or failure), every lockout and every
 * password change, as a pino line and a row of `login_audit` (admins read it at GET /api/audit/logins).
 * Never a password. Rows are kept a year: the Cybersecurity Law (网络安全法 §21) asks for six months.
 */
export type LoginChannel = 'http' | 'mqtt'
/** Where a password change came from: `zhian user passwd` or the estate file. */
export type ChangeChannel = 'cli' | 'config'
export type LoginOutcome = 'success' | 'failure' | 'locked' | 'password_changed'

export interface AuditRow {
  id: number
  at: number
  username: string
  source: string | null
  channel: LoginChannel | ChangeChannel
  outcome: LoginOutcome
  /** Lockout: the tier that filled and the seconds it holds; otherwise null. */
  detail: string | null
}

export const AUDIT_RETENTION_MS = 365 * 24 * 3600_000
/** An MQTT username may be 65,535 bytes; what is kept of a typed name is enough to recognise it. */
const MAX_NAME = 64

/** The table and its indexes, the same on both stores (the password trigger differs). */
const AUDIT_TABLE = `CREATE TABLE login_audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     username TEXT NOT NULL,
     source TEXT,
     channel TEXT NOT NULL,
     outcome TEXT NOT NULL,
     detail TEXT
   );
   CREATE INDEX login_audit_user ON login_audit(username, at);
   CREATE INDEX login_audit_at ON login_audit(at);`

/**
 * Tables owned by the audit. Password changes are written by a trigger on `users` (a registry table):
 * both ways a password changes, the CLI and the estate file, land here without either knowing of it.
 */
export const AUDIT_MIGRATIONS = [
  {
    sqlite: `${AUDIT_TABLE}
   CREATE TRIGGER login_audit_password AFTER UPDATE OF password_hash ON users
   WHEN old.password_hash IS NOT new.password_hash
   BEGIN
     INSERT INTO login_audit (at, username, source, channel, outcome)
     VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), new.username, NULL,
             CASE new.source WHEN 'config' THEN 'config' ELSE 'cli' END, 'password_changed');
   END;`,
    postgres: `${AUDIT_TABLE}
   CREATE FUNCTION login_audit_password() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO login_audit (at, username, source, channel, outcome)
     VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, new.username, NULL,
             CASE new.source WHEN 'config' THEN 'config' ELSE 'cli' END, 'password_changed');
     RETURN NULL;
   END $$;
   CREATE TRIGGER login_audit_password AFTER UPDATE OF password_hash ON users
   FOR EACH ROW WHEN (old.password_hash IS DISTINCT FROM new.password_hash)
   EXECUTE FUNCTION login_audit_password();`,
  },
] as const

export interface AuditQuery {
  username?: string | undefined
  since?: number | undefined
  limit: number
  offset: number
}

export class LoginAudit {
  /** The last row already logged, so rows written by the trigger are logged once (see logNew). */
  private lastLogged = 0

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** After the migration: rows from before this process are not logged again. */
  open(): void {
    const row = this.db.prepare('SELECT max(id) AS id FROM login_audit').get() as { id: number | null }
    this.lastLogged = row.id ?? 0
  }

  record(entry: {
    username: string
    source: string
    channel: LoginChannel
    outcome: LoginOutcome
    detail?: string | undefined
  }): void {
    const username = entry.username.slice(0, MAX_NAME)
    this.db
      .prepare(
        'INSERT INTO login_audit (at, username, source, channel, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(this.now(), username, entry.source, entry.channel, entry.outcome, entry.detail ?? null)
    this.logNew()
  }

  /** Log the rows not logged yet: this process's own, and password changes the trigger wrote. */
  logNew(): void {
    const rows = this.db
      .prepare('SELECT * FROM login_audit WHERE id > ? ORDER BY id')
      .all(this.lastLogged) as AuditRow[]
    for (const r of rows) {
      const fields = {
        audit: 'login',
        user: r.username,
        source: r.source,
        channel: r.channel,
        outcome: r.outcome,
        ...(r.detail ? { detail: r.detail } : {}),
      }
      if (r.outcome === 'success' || r.outcome === 'password_changed')
        this.log.info(fields, MESSAGES[r.outcome])
      else this.log.warn(fields, MESSAGES[r.outcome])
      this.lastLogged = r.id
    }
  }

  /** Has this user logged in successfully from this address within the retention time? */
  succeededFrom(username: string, source: string): boolean {
    return Boolean(
      this.db
        .prepare(
          "SELECT 1 FROM login_audit WHERE username = ? AND source = ? AND outcome = 'success' AND at > ? LIMIT 1",
        )
        .get(username, source, this.now() - AUDIT_RETENTION_MS),
    )
  }

  /** Newest first. */
  list(q: AuditQuery): { total: number; items: AuditRow[] } {
    const where: string[] = []
    const args: (string | number)[] = []
    if (q.username !== undefined) {
      where.push('username = ?')
      args.push(q.username)
    }
    if (q.since !== undefined) {
      where.push('at >= ?')
      args.push(q.since)
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : ''
    const total = (
      this.db.prepare(`SELECT count(*) AS n FROM login_audit ${clause}`).get(...args) as { n: number }
    ).n
    const items = this.db
      .prepare(`SELECT * FROM login_audit ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as AuditRow[]
    return { total, items }
  }

  purgeExpired(): number {
    return this.db.prepare('DELETE FROM login_audit WHERE at <= ?').run(this.now() - AUDIT_RETENTION_MS)
      .changes
  }
}

const MESSAGES: Record<LoginOutcome, string> = {
  success: 'login succeeded',
  failure: 'login failed',
  locked: 'login locked',
  password_changed: 'password changed',
}
