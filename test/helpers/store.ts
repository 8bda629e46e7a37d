import fs from 'node:fs'
import path from 'node:path'
import type { Db } from '../../src/store/db.ts'

/**
 * Every byte a store keeps on disk, for tests that prove a secret is nowhere in it: SQLite's file
 * and its WAL, or on the PostgreSQL run the database's own data files after a checkpoint (the test
 * server's WAL is shared by every test database, so it is left out).
 */
export function storeBytes(dataDir: string, db: Db): Buffer {
  if (db.dialect === 'sqlite') {
    const files = ['zhian.db', 'zhian.db-wal'].map((f) => path.join(dataDir, f)).filter(fs.existsSync)
    return Buffer.concat(files.map((f) => fs.readFileSync(f)))
  }
  db.exec('CHECKPOINT')
  const { data_directory } = db.prepare('SHOW data_directory').get() as { data_directory: string }
  const { oid } = db.prepare('SELECT oid FROM pg_database WHERE datname = current_database()').get() as {
    oid: number
  }
  const dir = path.join(data_directory, 'base', String(oid))
  return Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))))
}
