import { afterEach, describe, expect, it } from 'vitest'
import { type Db, migrate, openDb } from '../../../src/store/db.ts'
import { tempDir } from '../../helpers/hub.ts'

/**
 * What the features rely on from either store (this file runs on SQLite, and on PostgreSQL in the
 * suite's second run): an INTEGER column keeps a fractional time (a moved clock gives one), numbers
 * come back as numbers, named and positional parameters, a failed transaction leaves nothing.
 */

const open: Db[] = []
afterEach(() => {
  for (const db of open.splice(0)) db.close()
})

function store(): Db {
  const db = openDb(tempDir('zhian-portable-'))
  open.push(db)
  migrate(db, 'portable_test', [
    'CREATE TABLE portable_test (id TEXT PRIMARY KEY, at INTEGER NOT NULL, n INTEGER, note TEXT)',
  ])
  return db
}

describe(`the store (${process.env.ZHIAN_TEST_POSTGRES ? 'PostgreSQL' : 'SQLite'})`, () => {
  it('keeps a fractional time in an INTEGER column and a large one exactly, as numbers', () => {
    const db = store()
    db.prepare('INSERT INTO portable_test (id, at, n) VALUES (?, ?, ?)').run(
      'a',
      1795364998086.4204,
      2 ** 52 + 1,
    )
    db.prepare('INSERT INTO portable_test (id, at, n, note) VALUES (@id, @at, @n, @note)').run({
      id: 'b',
      at: 5,
      n: null,
      note: '某某',
    })
    expect(db.prepare('SELECT at, n FROM portable_test WHERE id = ?').get('a')).toEqual({
      at: 1795364998086.4204,
      n: 2 ** 52 + 1,
    })
    expect(db.prepare('SELECT count(*) AS c, max(at) AS m FROM portable_test').get()).toEqual({
      c: 2,
      m: 1795364998086.4204,
    })
    expect(db.prepare('SELECT note FROM portable_test WHERE at < ?').all(10)).toEqual([{ note: '某某' }])
  })

  it('rolls a failed transaction back whole, and counts what an UPDATE changed', () => {
    const db = store()
    const put = db.prepare('INSERT INTO portable_test (id, at) VALUES (?, ?)')
    expect(() =>
      db.transaction(() => {
        put.run('x', 1)
        put.run('x', 2)
      })(),
    ).toThrow()
    expect(db.prepare('SELECT count(*) AS c FROM portable_test').get()).toEqual({ c: 0 })
    put.run('y', 1)
    put.run('z', 1)
    expect(db.prepare('UPDATE portable_test SET at = at + 1 WHERE at = ?').run(1).changes).toBe(2)
  })
})
