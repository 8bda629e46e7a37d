import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'

/**
 * The embedded state store: one SQLite file (better-sqlite3 12) under ZHIAN_DATA_DIR.
 * WAL + synchronous=FULL: a committed transaction survives a crash or power loss.
 * Each module owns its tables and brings its own numbered migrations (see migrate()).
 */
export type Db = Database.Database

export function openDb(dataDir: string): Db {
  fs.mkdirSync(dataDir, { recursive: true })
  const db = new Database(path.join(dataDir, 'zhian.db'))
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
