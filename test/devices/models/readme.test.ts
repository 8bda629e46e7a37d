import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { MODEL_IDS, MODELS } from '../../../devices/models/index.ts'

const README = fs.readFileSync(path.resolve(import.meta.dirname, '../../../README.md'), 'utf8')

/** The README's model table, row by row: id → its cells. */
function modelTable(): Map<string, string[]> {
  const start = README.indexOf('## Device models (型号)')
  const section = README.slice(start, README.indexOf('\n## ', start + 1))
  const rows = new Map<string, string[]>()
  for (const line of section.split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)\|$/.exec(line)
    if (m)
      rows.set(
        m[1]!,
        m[2]!.split(' | ').map((c) => c.trim()),
      )
  }
  return rows
}

describe('README Models section', () => {
  it('has one row per model with its vendor and model, kind, transports and source', () => {
    const rows = modelTable()
    expect([...rows.keys()]).toEqual(MODEL_IDS)
    for (const id of MODEL_IDS) {
      const m = MODELS[id]!
      const [product, kind, transports, source] = rows.get(id)!
      expect(product, id).toBe(`${m.vendor.en} ${m.model}`)
      expect(kind, id).toBe(m.kind)
      expect(transports, id).toBe(m.transports.join(', '))
      expect(source, id).toContain(m.source.split(' ')[0])
    }
  })
})
