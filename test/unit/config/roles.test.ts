import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROLES } from '../../../src/config/estate-file.ts'

/**
 * The README's role table is the authority on roles. The code has one list of them (ROLES, the
 * estate file's enum) and each route names the roles it admits; a second exported role list drifts
 * (one said crews may ack, assign and resolve alerts; they may only read).
 */

const ROOT = path.resolve(import.meta.dirname, '../../..')
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return p.endsWith('.ts') ? [p] : []
  })
}

describe('roles', () => {
  it('the README role table lists exactly the roles a user can have', () => {
    const table = README.slice(README.indexOf('| role | sees | may |'))
    const rows = [...table.matchAll(/^\| `([a-z]+)`/gm)].map((m) => m[1])
    expect(rows.slice(0, ROLES.length)).toEqual([...ROLES])
    expect(table).toMatch(/^\| `crew`[^\n]*\| read \(dispatch works its tasks\) \|$/m)
  })

  it('no module exports a second role list', () => {
    const lists: string[] = []
    for (const file of sources(path.join(ROOT, 'src'))) {
      const text = fs.readFileSync(file, 'utf8')
      for (const m of text.matchAll(/export const (\w+)(?:: [^=]+)? = \[([^\]]*)\]/g)) {
        if (/'(admin|manager|crew|viewer)'/.test(m[2]!)) lists.push(`${path.relative(ROOT, file)}: ${m[1]}`)
      }
    }
    expect(lists).toEqual(['src/config/estate-file.ts: ROLES'])
  })
})
