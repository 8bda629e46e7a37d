import { openPostgres, testDatabaseFor } from './postgres.ts'
import { openSqlite } from './sqlite.ts'
import { type Db, MIGRATION_LOCK, type Step } from './types.ts'

export type { Db, Statement, Step } from './types.ts'

/**
 * The store of this process: PostgreSQL when `databaseUrl` is given, else the SQLite file in
 * `dataDir`. `ZHIAN_TEST_POSTGRES` (the test suite's second run, on a private server) gives each
 * data directory its own PostgreSQL database, so every test runs unchanged on PostgreSQL.
 */
export function openDb(dataDir: string, databaseUrl?: string): Db {
  if (databaseUrl) return openPostgres(databaseUrl)
  const testServer = process.env.ZHIAN_TEST_POSTGRES
  if (testServer) return openPostgres(testDatabaseFor(testServer, dataDir))
  return openSqlite(dataDir)
}

/** Apply the steps of `module` that this database has not seen yet, each in its own transaction. */
export function migrate(db: Db, module: string, steps: readonly Step[]): void {
  const version = () =>
    (
      db.prepare('SELECT version FROM migrations WHERE module = ?').get(module) as
        | { version: number }
        | undefined
    )?.version ?? 0
  for (let v = version(); v < steps.length; v++) {
    const step = steps[v]!
    const sql = typeof step === 'string' ? step : step[db.dialect]
    db.transaction(() => {
      // Several nodes starting at once: one applies the step, the others find it applied.
      if (db.dialect === 'postgres') {
        db.exec(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
        if (version() > v) return
      }
      if (sql.trim()) db.exec(sql)
      db.prepare(
        'INSERT INTO migrations (module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version',
      ).run(module, v + 1)
    })()
  }
}

/** Whether a table exists yet (a store another feature has not opened). */
export function hasTable(db: Db, name: string): boolean {
  const sql =
    db.dialect === 'sqlite'
      ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
      : 'SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?'
  return db.prepare(sql).get(name) !== undefined
}
