import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'

/**
 * The embedded state store: one SQLite file (better-sqlite3 12) under ZHIAN_DATA_DIR.
 * WAL + synchronous=FULL: a committed transaction survives a crash or power loss.
 * Each module owns its tables and brings its own numbered migrations (see migrate()).
 * Owner-only: the store holds password hashes, sessions and residents' data. SQLite creates the
 * -wal and -shm files with the permissions of the database file, so creating that one 0600 (and
 * tightening files an older version left readable) covers all three.
 */
export type Db = Database.Database

export function openDb(dataDir: string): Db {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = path.join(dataDir, 'zhian.db')
  fs.closeSync(fs.openSync(file, 'a', 0o600))
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) ownerOnly(f)
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  db.exec('CREATE TABLE IF NOT EXISTS migrations (module TEXT PRIMARY KEY, version INTEGER NOT NULL)')
  return db
}

/** Apply the steps of `module` that this database has not seen yet, each in its own transaction. */
export function migrate(db: Db, module: string, steps: readonly string[]): void {
  const row = db.prepare('SELECT version FROM migrations WHERE module = ?').get(module) as
    | { version: number }
    | undefined
  const from = row?.version ?? 0
  for (let v = from; v < steps.length; v++) {
    db.transaction(() => {
      db.exec(steps[v]!)
      db.prepare(
        'INSERT INTO migrations (module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version',
      ).run(module, v + 1)
    })()
  }
}

function ownerOnly(file: string): void {
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
