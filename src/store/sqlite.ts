import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { Db } from './types.ts'

/**
 * The embedded store: one SQLite file (better-sqlite3 12) under ZHIAN_DATA_DIR.
 * WAL + synchronous=FULL: a committed transaction survives a crash or power loss.
 * Owner-only: the store holds password hashes, sessions and residents' data. SQLite creates the
 * -wal and -shm files with the permissions of the database file, so creating that one 0600 (and
 * tightening files an older version left readable) covers all three.
 */
export type SqliteDb = Database.Database & Db

export function openSqlite(dataDir: string): SqliteDb {
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
  // better-sqlite3's Database already is the interface; it lacks only these two.
  return Object.assign(db, {
    dialect: 'sqlite' as const,
    dataVersion: () => db.pragma('data_version', { simple: true }) as number,
  }) as SqliteDb
}

function ownerOnly(file: string): void {
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
