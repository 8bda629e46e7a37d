import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

/** Every `.ts` file under a directory, recursively. */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) return sources(full)
    return e.name.endsWith('.ts') ? [full] : []
  })
}

const SRC = new URL('../../../src/', import.meta.url).pathname
// SQL is written upper case here; prose (comments) says "from" and "into" in lower case.
const TABLE_REF = /\b(?:FROM|INTO|UPDATE|JOIN|TABLE(?: IF NOT EXISTS)?)\s+([a-z_]+)\b/g

describe('store tables', () => {
  it('each table is created and queried by exactly one folder of src/', () => {
    const owners = new Map<string, Set<string>>()
    for (const file of sources(SRC)) {
      const folder = path.relative(SRC, file).split(path.sep)[0]!
      for (const m of fs.readFileSync(file, 'utf8').matchAll(TABLE_REF)) {
        const table = m[1]!
        if (table === 'sqlite_master') continue
        owners.set(table, (owners.get(table) ?? new Set()).add(folder))
      }
    }
    // The scan sees the tables (not vacuous): a few of each owner.
    expect([...owners.keys()]).toEqual(expect.arrayContaining(['alerts', 'work_orders', 'users', 'devices']))
    const shared = [...owners].filter(([, folders]) => folders.size > 1).map(([t, f]) => `${t}: ${[...f]}`)
    expect(shared).toEqual([])
  })
})
