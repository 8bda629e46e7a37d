import { MIGRATION_LOCK, openPostgres, testDatabaseFor } from './postgres.ts'
import { openSqlite } from './sqlite.ts'

/**
 * The store interface every feature keeps its state through: synchronous statements with `?` or
 * `@name` parameters, transactions, numbered per-module migrations. Two implementations:
 * - SQLite (`sqlite.ts`, better-sqlite3): the embedded default, one file under ZHIAN_DATA_DIR;
 * - PostgreSQL (`postgres.ts`, libpq through pg-native): `ZHIAN_DATABASE_URL`, shared by the nodes
 *   of a cluster.
 * SQL is written once in the dialect both accept (ON CONFLICT, RETURNING, standard functions);
 * `sql.ts` turns parameters and column types into PostgreSQL's. A feature that needs what only one
 * engine has asks `db.dialect`.
 */
export interface Db {
  readonly dialect: 'sqlite' | 'postgres'
  readonly open: boolean
  prepare(sql: string): Statement
  /** One or more statements without parameters. */
  exec(sql: string): unknown
  /** `fn` wrapped in a transaction (a savepoint when nested); a throw rolls it back. */
  transaction<F extends (...args: never[]) => unknown>(fn: F): F
  /**
   * A number that changes when another connection (another process, another node) has changed
   * watched tables since the last call: SQLite's data_version, PostgreSQL's change counter.
   */
  dataVersion(): number
  close(): unknown
}

export interface Statement {
  run(...params: unknown[]): { changes: number }
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
}

/** A migration step: portable SQL, or each engine's own where they differ (triggers). */
export type Step = string | { sqlite: string; postgres: string }

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
