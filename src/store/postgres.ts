import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import path from 'node:path'
import { ZhianError } from '../errors.ts'
import { type Translated, toPostgres } from './sql.ts'
import { type Db, MIGRATION_LOCK, type Statement } from './types.ts'

/**
 * The store on PostgreSQL (`ZHIAN_DATABASE_URL`), for a cluster's nodes or a bigger single node.
 * The same synchronous interface as SQLite, so every feature runs unchanged: libpq's synchronous
 * calls (pg-native) on one connection per process. A call blocks the event loop for one round
 * trip (about 0.1 ms on loopback, measured in bench), which the hub pays only where it touches the
 * store — not per reading: readings go through the journal. The connection is also the node's
 * PostgreSQL session: advisory locks taken on it (estate ownership) end when it does.
 */

interface PgClient {
  connectSync(url: string): void
  querySync(text: string, values?: unknown[]): Record<string, unknown>[]
  end(cb?: () => void): void
  pq: {
    cmdTuples(): string
    resultErrorFields(): { sqlState?: string } | undefined
    connected?: boolean
    finish(): void
  }
}
type PgNative = new (opts?: { types?: unknown }) => PgClient

const require = createRequire(import.meta.url)

function pgNative(): PgNative {
  try {
    return require('pg-native') as PgNative
  } catch (err) {
    throw new ZhianError(
      'ZHIAN_ERR_ENV_INVALID',
      `ZHIAN_DATABASE_URL needs the optional package pg-native, which did not build (install the Debian package libpq-dev, then npm install): ${(err as Error).message}`,
    )
  }
}

/** Numbers as SQLite gives them: 64-bit integers and numerics as numbers, booleans as 1/0. */
function typeParsers(): { getTypeParser: (oid: number, format?: string) => (v: string) => unknown } {
  const base = createRequire(require.resolve('pg-native'))('pg-types') as {
    getTypeParser: (oid: number, format?: string) => (v: string) => unknown
  }
  const own: Record<number, (v: string) => unknown> = {
    20: Number, // int8
    1700: Number, // numeric (SUM, AVG)
    16: (v) => (v === 't' ? 1 : 0), // bool
  }
  return { getTypeParser: (oid, format) => own[oid] ?? base.getTypeParser(oid, format) }
}

export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const
  private client: PgClient | undefined
  private depth = 0
  private readonly translated = new Map<string, Translated>()

  constructor(readonly url: string) {
    const Client = pgNative()
    const client = new Client({ types: typeParsers() })
    try {
      client.connectSync(url)
    } catch (err) {
      throw new ZhianError(
        'ZHIAN_ERR_STORE_UNAVAILABLE',
        `PostgreSQL at ${redact(url)}: ${(err as Error).message.trim()}`,
      )
    }
    this.client = client
    this.query('SET client_min_messages = warning')
    // Nodes starting together: one creates, the others wait and find it done.
    this.transaction(() => {
      this.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
      this.exec(BOOTSTRAP)
    })()
  }

  get open(): boolean {
    return this.client !== undefined
  }

  prepare(sql: string): Statement {
    let t = this.translated.get(sql)
    if (!t) {
      t = toPostgres(sql)
      this.translated.set(sql, t)
    }
    const { text, params } = t
    const values = (args: unknown[]) => bind(params, args)
    return {
      run: (...args) => {
        this.query(text, values(args))
        return { changes: Number(this.conn().pq.cmdTuples() || 0) }
      },
      get: (...args) => this.query(text, values(args))[0],
      all: (...args) => this.query(text, values(args)),
    }
  }

  exec(sql: string): void {
    this.query(toPostgres(sql).text)
  }

  transaction<F extends (...args: never[]) => unknown>(fn: F): F {
    return ((...args: never[]) => {
      const name = `s${this.depth}`
      this.query(this.depth === 0 ? 'BEGIN' : `SAVEPOINT ${name}`)
      this.depth++
      try {
        const result = fn(...args)
        this.depth--
        this.query(this.depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT ${name}`)
        return result
      } catch (err) {
        this.depth--
        try {
          this.query(this.depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${name}`)
        } catch {
          // The connection itself failed: the transaction is gone with it.
        }
        throw err
      }
    }) as F
  }

  dataVersion(): number {
    return Number(
      (this.query('SELECT last_value FROM zhian_data_version')[0] as { last_value: number }).last_value,
    )
  }

  /** A statement on this node's session (advisory locks, LISTEN-free checks). */
  query(text: string, values?: unknown[]): Record<string, unknown>[] {
    const client = this.conn()
    try {
      return values ? client.querySync(text, values) : client.querySync(text)
    } catch (err) {
      const e = err as Error & { code?: string }
      e.code = client.pq.resultErrorFields()?.sqlState
      e.message = e.message.trim()
      throw e
    }
  }

  close(): void {
    const client = this.client
    if (!client) return
    this.client = undefined
    client.pq.finish()
    // libpq's addon closes its poll handle asynchronously (uv_close) inside the object it frees when
    // collected: keep the object until the loop has run the close, or libuv aborts the process.
    closing.add(client)
    setTimeout(() => closing.delete(client), 1000).unref()
  }

  private conn(): PgClient {
    if (!this.client) throw new TypeError('The database connection is not open')
    return this.client
  }
}

/**
 * What every database needs before the features' migrations: the migrations table, and the change
 * counter behind `dataVersion()` (a sequence bumped by statement triggers on watched tables, see
 * `watchChanges`): PostgreSQL has no data_version, and a sequence is not rolled back, so a counter
 * read by every node changes whenever any node may have written.
 */
const BOOTSTRAP = `
  CREATE TABLE IF NOT EXISTS migrations (module TEXT PRIMARY KEY, version INTEGER NOT NULL);
  CREATE SEQUENCE IF NOT EXISTS zhian_data_version;
  CREATE OR REPLACE FUNCTION zhian_changed() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN PERFORM nextval(''zhian_data_version''); RETURN NULL; END';
`

/** PostgreSQL SQL that makes writes to `tables` change `dataVersion()` on every node. */
export function watchChanges(...tables: string[]): string {
  return tables
    .map(
      (t) =>
        `CREATE TRIGGER ${t}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION zhian_changed();`,
    )
    .join('\n')
}

function bind(params: (number | string)[], args: unknown[]): unknown[] {
  const list = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args
  const named =
    list.length === 1 && list[0] !== null && typeof list[0] === 'object' && !Buffer.isBuffer(list[0])
      ? (list[0] as Record<string, unknown>)
      : undefined
  return params.map((p) => value(typeof p === 'number' ? list[p] : named?.[p]))
}

function value(v: unknown): unknown {
  if (v === undefined || v === null) return null
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`
  if (typeof v === 'bigint') return v.toString()
  // libpq passes text as C strings: a NUL would cut the value short without a word.
  if (typeof v === 'string' && v.includes('\u0000')) throw new TypeError('PostgreSQL text cannot contain NUL')
  return v
}

export function openPostgres(url: string): PostgresDb {
  return new PostgresDb(url)
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}

const closing = new Set<PgClient>()
const created = new Set<string>()
let admin: PostgresDb | undefined

/**
 * The test suite's PostgreSQL run: one database per data directory on the private server, created on
 * first use, so a test that reopens a data directory (a restart) finds its store again.
 */
export function testDatabaseFor(serverUrl: string, dataDir: string): string {
  const name = `t_${createHash('sha1').update(path.resolve(dataDir)).digest('hex').slice(0, 24)}`
  const url = new URL(serverUrl)
  if (!created.has(name)) {
    url.pathname = '/postgres'
    admin ??= new PostgresDb(url.toString())
    if (admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]).length === 0) {
      try {
        admin.query(`CREATE DATABASE ${name}`)
      } catch (err) {
        // Another test process created it in the meantime.
        if ((err as { code?: string }).code !== '42P04' && (err as { code?: string }).code !== '23505')
          throw err
      }
    }
    created.add(name)
  }
  url.pathname = `/${name}`
  return url.toString()
}

/** A foreign key of the current schema: `child.col` references `parent.ref`. */
export interface ForeignKey {
  child: string
  parent: string
  col: string
  ref: string
}

/** The catalog, for `zhian store migrate`: the schema's tables (but the migrations bookkeeping). */
export function catalogTables(db: PostgresDb): string[] {
  return (
    db.query(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'migrations'
        ORDER BY table_name`,
    ) as { table_name: string }[]
  ).map((r) => r.table_name)
}

export function foreignKeys(db: PostgresDb): ForeignKey[] {
  return db.query(
    `SELECT tc.table_name AS child, ccu.table_name AS parent, kcu.column_name AS col, ccu.column_name AS ref
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu
         ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
       JOIN information_schema.constraint_column_usage ccu
         ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
      WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()`,
  ) as unknown as ForeignKey[]
}

/** A table's columns in their order. */
export function columnsOf(db: PostgresDb, table: string): string[] {
  return (
    db.query(
      `SELECT column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    ) as { column_name: string }[]
  ).map((r) => r.column_name)
}

/** Identity columns (from SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT`) of the schema's tables. */
export function identityColumns(db: PostgresDb): { table_name: string; column_name: string }[] {
  return db.query(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND is_identity = 'YES'`,
  ) as { table_name: string; column_name: string }[]
}
