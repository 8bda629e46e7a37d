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

/** The advisory lock key under which the store's schema changes (any 64-bit number of our own). */
export const MIGRATION_LOCK = 0x7a6869616e
