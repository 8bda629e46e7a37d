import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { openSqlite as openDb } from '../../../src/store/sqlite.ts'
import { tempDir } from '../../helpers/hub.ts'

/** The store's files are readable by the hub's own user only, whatever the process umask. */

const FILES = ['zhian.db', 'zhian.db-wal', 'zhian.db-shm']
const modeOf = (f: string) => fs.statSync(f).mode & 0o777

function write(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS t (x TEXT)')
  db.prepare('INSERT INTO t VALUES (?)').run('a resident’s phone number')
}

describe('store file permissions', () => {
  it('a new store: database, WAL and shared-memory files are 0600 and the data directory 0700, under a permissive umask', () => {
    const parent = tempDir('zhian-store-')
    const dataDir = path.join(parent, 'data')
    const before = process.umask(0o002)
    try {
      const db = openDb(dataDir)
      write(db)
      for (const f of FILES) expect(modeOf(path.join(dataDir, f)), f).toBe(0o600)
      expect(modeOf(dataDir)).toBe(0o700)
      db.close()
    } finally {
      process.umask(before)
    }
  })

  it('a store an older version left world-readable is tightened to 0600 when opened', () => {
    const dataDir = tempDir('zhian-store-')
    const old = new Database(path.join(dataDir, 'zhian.db'))
    old.pragma('journal_mode = WAL')
    write(old)
    // Keep the WAL and -shm on disk, as a crash would.
    for (const f of FILES) fs.chmodSync(path.join(dataDir, f), 0o644)
    const db = openDb(dataDir)
    write(db)
    for (const f of FILES) expect(modeOf(path.join(dataDir, f)), f).toBe(0o600)
    db.close()
    old.close()
  })
})
