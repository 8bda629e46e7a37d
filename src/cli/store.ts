import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ALERT_MIGRATIONS } from '../alerts/store.ts'
import { SETTINGS_MIGRATIONS } from '../auth/api-token.ts'
import { AUDIT_MIGRATIONS } from '../auth/login-audit.ts'
import { AUTH_MIGRATIONS, USERS_MIGRATIONS } from '../auth/schema.ts'
import { MIGRATIONS as CLUSTER_MIGRATIONS } from '../cluster/cluster.ts'
import type { HubConfig } from '../config/env.ts'
import { MIGRATIONS as CONNECTOR_MIGRATIONS } from '../connectors/seen.ts'
import { OUTBOX_MIGRATIONS } from '../dispatch/outbox.ts'
import { WORK_ORDER_MIGRATIONS } from '../dispatch/store.ts'
import { ZhianError } from '../errors.ts'
import { MIGRATIONS as PLAN_MIGRATIONS } from '../plans/plans.ts'
import { REGISTRY_MIGRATIONS } from '../registry/schema.ts'
import { RULE_MIGRATIONS } from '../rules/service.ts'
import { hasTable, migrate, type Step } from '../store/db.ts'
import {
  catalogTables,
  columnsOf,
  foreignKeys,
  identityColumns,
  openPostgres,
  type PostgresDb,
  redact,
} from '../store/postgres.ts'
import { openSqlite, type SqliteDb } from '../store/sqlite.ts'
import { MIGRATION_LOCK } from '../store/types.ts'

const USAGE = `usage: zhian store migrate --from DIR
Copies the embedded store DIR/zhian.db (stop that hub first) into the PostgreSQL store of
ZHIAN_DATABASE_URL, which must hold no data yet. Secrets are copied as the hashes they are.`

/**
 * Every module's migrations, in the order the hub starts them (users before auth, which alters
 * users; users before login_audit, whose trigger is on users). The store cannot list them — it
 * imports no feature — so the list is here; a feature with a new table adds its line.
 */
export const MODULES: readonly (readonly [string, readonly Step[]])[] = [
  ['registry', REGISTRY_MIGRATIONS],
  ['users', USERS_MIGRATIONS],
  ['auth', AUTH_MIGRATIONS],
  ['login_audit', AUDIT_MIGRATIONS],
  ['alerts', ALERT_MIGRATIONS],
  ['rules', RULE_MIGRATIONS],
  ['work_orders', WORK_ORDER_MIGRATIONS],
  ['outbox', OUTBOX_MIGRATIONS],
  ['plans', PLAN_MIGRATIONS],
  ['settings', SETTINGS_MIGRATIONS],
  ['connectors', CONNECTOR_MIGRATIONS],
  ['cluster', CLUSTER_MIGRATIONS],
]

/** Rows not copied: a local journal position means nothing in a cluster's shared log. */
const LOCAL_ONLY: Record<string, { where: string; left: string; note: string }> = {
  rule_meta: {
    where: "key <> 'consumed'",
    left: "key = 'consumed'",
    note: "rule_meta \"consumed\" not copied: it is the rules' position in this hub's local journal, which means nothing in a cluster's shared log (positions there are Redis stream ids). The rules keep their copied state and start at the end of the log: stop the embedded hub cleanly before copying, so its last readings are in that state.",
  },
}

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters for any of our tables. */
const BATCH_ROWS = 500

/** `zhian store migrate --from DIR`. */
export async function storeCommand(config: HubConfig, args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action !== 'migrate') {
    console.error(USAGE)
    return 2
  }
  let from: string | undefined
  try {
    from = parseArgs({ args: rest, options: { from: { type: 'string' } } }).values.from
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (!from) {
    console.error(`--from DIR is required (the embedded hub's ZHIAN_DATA_DIR)\n${USAGE}`)
    return 2
  }
  if (!config.databaseUrl) {
    console.error(
      `ZHIAN_ERR_ENV_INVALID: ZHIAN_DATABASE_URL is not set: it names the PostgreSQL store to copy into\n${USAGE}`,
    )
    return 2
  }
  const file = path.join(from, 'zhian.db')
  if (!fs.existsSync(file)) {
    console.error(`no embedded store at ${file} (--from is the data directory that holds zhian.db)`)
    return 2
  }
  const source = openSqlite(from)
  let target: PostgresDb | undefined
  try {
    target = openPostgres(config.databaseUrl)
    const copied = copyStore(source, target)
    console.log(`copied ${file} into ${redact(config.databaseUrl)}:`)
    const width = Math.max(...copied.map((c) => c.table.length))
    console.log(`  ${'table'.padEnd(width)}  rows`)
    for (const c of copied) console.log(`  ${c.table.padEnd(width)}  ${c.rows}`)
    for (const c of copied) if (c.note) console.log(c.note)
    return 0
  } finally {
    source.close()
    target?.close()
  }
}

export interface Copied {
  table: string
  rows: number
  note?: string | undefined
}

/**
 * Both stores brought to the current schema, then every table's rows copied in one PostgreSQL
 * transaction, parents before children, identity counters set past the copied ids. Refuses a target
 * that holds any row: a second run must not double anything, and merging two stores is not a copy.
 */
export function copyStore(source: SqliteDb, target: PostgresDb): Copied[] {
  for (const [module, steps] of MODULES) migrate(source, module, steps)
  for (const [module, steps] of MODULES) migrate(target, module, steps)
  const tables = tableOrder(target)
  return target.transaction(() => {
    // Two runs at once: the second waits here, then finds the first one's rows.
    target.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
    const filled = tables.filter((t) => target.query(`SELECT 1 FROM ${q(t)} LIMIT 1`).length > 0)
    if (filled.length > 0) {
      throw new ZhianError(
        'ZHIAN_ERR_STORE_NOT_EMPTY',
        `rows in ${filled.join(', ')} (a previous migrate, or hubs already ran on it). Copy only into a new, empty database.`,
      )
    }
    // One snapshot of the source, whatever else still writes to it.
    source.exec('BEGIN')
    try {
      const copied = tables.map((t) => ({
        table: t,
        rows: copyTable(source, target, t),
        note: leftOut(source, t),
      }))
      resetIdentities(source, target)
      return copied
    } finally {
      source.exec('COMMIT')
    }
  })()
}

/** What is said about rows of `table` left out, if the source had any. */
function leftOut(source: SqliteDb, table: string): string | undefined {
  const local = LOCAL_ONLY[table]
  if (!local || !hasTable(source, table)) return undefined
  return source.prepare(`SELECT 1 FROM ${q(table)} WHERE ${local.left}`).get() ? local.note : undefined
}

/** The target's tables (but the migrations bookkeeping), each after the tables it references. */
export function tableOrder(db: PostgresDb): string[] {
  const tables = catalogTables(db)
  const parents = new Map(tables.map((t) => [t, new Set<string>()]))
  for (const fk of foreignKeys(db)) if (fk.child !== fk.parent) parents.get(fk.child)?.add(fk.parent)
  const order: string[] = []
  const placed = new Set<string>()
  while (order.length < tables.length) {
    const next = tables.find((t) => !placed.has(t) && [...parents.get(t)!].every((p) => placed.has(p)))
    if (!next)
      throw new Error(`foreign keys form a cycle among ${tables.filter((t) => !placed.has(t)).join(', ')}`)
    order.push(next)
    placed.add(next)
  }
  return order
}

function copyTable(source: SqliteDb, target: PostgresDb, table: string): number {
  const columns = columnsOf(target, table)
  if (!hasTable(source, table)) return 0
  const where = LOCAL_ONLY[table] ? ` WHERE ${LOCAL_ONLY[table].where}` : ''
  // 64-bit integers as BigInt: a number would round ids and times past 2^53.
  const select = source.prepare(`SELECT ${columns.map(q).join(', ')} FROM ${q(table)}${where}`)
  select.safeIntegers(true)
  const self = foreignKeys(target).filter((fk) => fk.child === table && fk.parent === table)
  // A self-referencing table (sites) is ordered in memory; any other streams through in batches, so
  // a long login audit never sits whole in memory.
  const rows: Iterable<unknown[]> =
    self.length === 1
      ? parentsFirst(
          select.raw(true).all() as unknown[][],
          columns.indexOf(self[0]!.col),
          columns.indexOf(self[0]!.ref),
        )
      : (select.raw(true).iterate() as IterableIterator<unknown[]>)
  const insert = (batch: unknown[][]) => {
    const values = batch.map(
      (_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`,
    )
    target.query(
      `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES ${values.join(', ')}`,
      batch.flat().map(pgValue),
    )
  }
  let count = 0
  let batch: unknown[][] = []
  for (const row of rows) {
    batch.push(row)
    count++
    if (batch.length === BATCH_ROWS) {
      insert(batch)
      batch = []
    }
  }
  if (batch.length > 0) insert(batch)
  return count
}

/** Rows of a self-referencing table (sites under sites) ordered so that each comes after its parent. */
function parentsFirst(rows: unknown[][], col: number, ref: number): unknown[][] {
  const byKey = new Map(rows.map((r) => [String(r[ref]), r]))
  const done = new Set<unknown[]>()
  const out: unknown[][] = []
  const visit = (row: unknown[], depth: number) => {
    if (done.has(row)) return
    if (depth > rows.length) throw new Error('a row is its own ancestor')
    const parent = row[col] === null ? undefined : byKey.get(String(row[col]))
    if (parent && parent !== row) visit(parent, depth + 1)
    done.add(row)
    out.push(row)
  }
  for (const r of rows) visit(r, 0)
  return out
}

/** As libpq takes it: text for integers, PostgreSQL's hex form for bytes. */
function pgValue(v: unknown): unknown {
  if (v === undefined || v === null) return null
  if (typeof v === 'bigint') return v.toString()
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`
  // libpq passes text as C strings: a NUL would cut the value short without a word.
  if (typeof v === 'string' && v.includes('\u0000')) throw new TypeError('PostgreSQL text cannot contain NUL')
  return v
}

/**
 * Columns from `INTEGER PRIMARY KEY AUTOINCREMENT` are identities on PostgreSQL: explicit ids leave
 * their sequence at 1, so the next row would collide. Each is set past the highest id SQLite ever
 * gave (its sqlite_sequence, which also counts rows since deleted: ids are never reused).
 */
function resetIdentities(source: SqliteDb, target: PostgresDb): void {
  const identities = identityColumns(target)
  const issued = (table: string): number => {
    if (!hasTable(source, 'sqlite_sequence')) return 0
    const row = source.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table) as
      | { seq: number }
      | undefined
    return row?.seq ?? 0
  }
  for (const { table_name: t, column_name: c } of identities) {
    const max = Number(
      (target.query(`SELECT COALESCE(MAX(${q(c)}), 0) AS max FROM ${q(t)}`)[0] as { max: number }).max,
    )
    const last = Math.max(max, issued(t))
    target.query('SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)', [
      q(t),
      c,
      Math.max(last, 1),
      last > 0 ? 'true' : 'false',
    ])
  }
}

function q(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
