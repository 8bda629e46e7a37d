import { afterEach, describe, expect, it } from 'vitest'
import { SEEN_TTL_MS, SeenUplinks } from '../../../src/connectors/seen.ts'
import { type Db, openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { tempDir } from '../../helpers/hub.ts'

/** The store of uplinks taken in, on a real SQLite file. */

const open: Db[] = []
afterEach(() => {
  for (const db of open.splice(0)) db.close()
})

function store(dir: string, now: () => number): SeenUplinks {
  const db = openDb(dir)
  open.push(db)
  const seen = new SeenUplinks(db, createLogger('silent'), now)
  seen.start()
  return seen
}

describe('seen uplinks', () => {
  it('remembers a key at once, keeps it across a restart, per connector', () => {
    const dir = tempDir()
    let now = 1_000_000
    const first = store(dir, () => now)
    first.add('ctw', ['msg:data:dev-1:18'])
    expect(first.has('ctw', 'msg:data:dev-1:18')).toBe(true)
    expect(first.has('one', 'msg:data:dev-1:18')).toBe(false)
    first.stop()
    now += 60_000
    const second = store(dir, () => now)
    expect(second.has('ctw', 'msg:data:dev-1:18')).toBe(true)
    second.stop()
  })

  it('forgets a device’s frame counters when it joins again, and everything after a day', () => {
    let now = 5_000_000
    const seen = store(tempDir(), () => now)
    seen.add('cs', ['dev:well1:fcnt:01f2a3b4:7', 'dev:well10:fcnt:01f2a3b4:7', 'msg:up:uuid-1'])
    seen.forget('cs', 'dev:well1:fcnt:')
    expect(seen.has('cs', 'dev:well1:fcnt:01f2a3b4:7')).toBe(false)
    // Another device whose id starts alike keeps its keys (the prefix ends with the separator).
    expect(seen.has('cs', 'dev:well10:fcnt:01f2a3b4:7')).toBe(true)
    expect(seen.has('cs', 'msg:up:uuid-1')).toBe(true)
    now += SEEN_TTL_MS + 1
    expect(seen.has('cs', 'msg:up:uuid-1')).toBe(false)
    seen.stop()
  })
})
