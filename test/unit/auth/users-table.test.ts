// The SQLite store file an earlier version left behind: SQLite-specific (openSqlite), on both suite runs.
import { describe, expect, it } from 'vitest'
import { ApiToken } from '../../../src/auth/api-token.ts'
import { Auth } from '../../../src/auth/auth.ts'
import { AUTH_MIGRATIONS } from '../../../src/auth/schema.ts'
import { Bus } from '../../../src/core/bus.ts'
import { Registry } from '../../../src/registry/registry.ts'
import { migrate } from '../../../src/store/db.ts'
import { type SqliteDb as Db, openSqlite as openDb } from '../../../src/store/sqlite.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { tempDir } from '../../helpers/hub.ts'

/**
 * The registry's first migration as the versions before auth owned `users` shipped it (the store
 * records it as `registry` version 1, so it never runs again on such a store).
 */
const PREVIOUS_REGISTRY_STEP = `CREATE TABLE sites (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL CHECK (type IN ('street','community','estate','building')),
     name TEXT NOT NULL,
     parent_id TEXT REFERENCES sites(id),
     source TEXT NOT NULL DEFAULT 'config'
   );
   CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     estate_id TEXT NOT NULL REFERENCES sites(id),
     building_id TEXT REFERENCES sites(id),
     name TEXT,
     location TEXT,
     secret_hash TEXT NOT NULL,
     params TEXT NOT NULL DEFAULT '{}',
     source TEXT NOT NULL DEFAULT 'api',
     created_at INTEGER NOT NULL
   );
   CREATE INDEX devices_estate ON devices(estate_id);
   CREATE TABLE users (
     username TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL,
     scope TEXT NOT NULL,
     source TEXT NOT NULL DEFAULT 'config',
     created_at INTEGER NOT NULL
   );
   CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);`

const columns = (db: Db, table: string) => db.pragma(`table_info(${table})`)
const openAll = (db: Db) => {
  new Registry(db, new Bus()).open()
  const token = new ApiToken(db)
  new Auth(db, token, createLogger('silent')).open()
  return token.ensure(undefined)
}

describe('the users and settings tables, owned by auth', () => {
  it('a store made while the registry created users and settings opens unchanged: its users, sessions, API token and columns stay', () => {
    const dataDir = tempDir('zhian-users-')
    const old = openDb(dataDir)
    migrate(old, 'registry', [PREVIOUS_REGISTRY_STEP])
    migrate(old, 'auth', AUTH_MIGRATIONS)
    old
      .prepare(
        "INSERT INTO users (username, password_hash, role, scope, team, source, created_at) VALUES ('li', 'h', 'crew', 'e1', 'lift_co', 'config', 1)",
      )
      .run()
    old.prepare("INSERT INTO sessions VALUES ('t', 'li', 1, 9999999999999)").run()
    const token = new ApiToken(old)
    const printed = token.ensure(undefined)!
    const tables = (db: Db) => ({
      users: columns(db, 'users'),
      sessions: columns(db, 'sessions'),
      settings: columns(db, 'settings'),
    })
    const before = tables(old)
    old.close()

    const db = openDb(dataDir)
    // The token printed at that store's first start still works, and no new one is generated.
    expect(openAll(db)).toBeUndefined()
    const again = new ApiToken(db)
    again.ensure(undefined)
    expect(again.check(printed)).toBe(true)
    expect(tables(db)).toEqual(before)
    expect(db.prepare('SELECT username, team FROM users').all()).toEqual([
      { username: 'li', team: 'lift_co' },
    ])
    expect(db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 1 })
    db.close()
  })

  it('a new store gets the same users, sessions and settings tables as a store of the previous versions', () => {
    const previous = openDb(tempDir('zhian-users-'))
    migrate(previous, 'registry', [PREVIOUS_REGISTRY_STEP])
    migrate(previous, 'auth', AUTH_MIGRATIONS)
    const fresh = openDb(tempDir('zhian-users-'))
    openAll(fresh)
    expect(columns(fresh, 'users')).toEqual(columns(previous, 'users'))
    expect(columns(fresh, 'sessions')).toEqual(columns(previous, 'sessions'))
    expect(columns(fresh, 'settings')).toEqual(columns(previous, 'settings'))
    previous.close()
    fresh.close()
  })

  it('a store only the registry has opened exports no users rather than failing', () => {
    const db = openDb(tempDir('zhian-users-'))
    const registry = new Registry(db, new Bus())
    registry.open()
    expect(registry.exportEstate().users).toEqual([])
    db.close()
  })
})
