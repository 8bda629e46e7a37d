import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url).pathname
const IMPORT = /(?:\bfrom\s+|\bimport\s+|\bimport\()'(\.[^']+)'/g

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(full)
    return /\.(ts|vue)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : []
  })
}

/** Strongly connected components of more than one file (Tarjan), each sorted, as repository paths. */
function circles(graph: Map<string, string[]>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string) => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(path.relative(ROOT, w))
      } while (w !== v)
      if (component.length > 1 || graph.get(v)?.includes(v)) out.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return out
}

describe('imports', () => {
  it('no module of the hub or of devices/ imports itself through others (type imports included)', () => {
    const files = [...sources(path.join(ROOT, 'src')), ...sources(path.join(ROOT, 'devices'))]
    const graph = new Map<string, string[]>()
    for (const file of files) {
      const targets = [...fs.readFileSync(file, 'utf8').matchAll(IMPORT)]
        .map((m) => path.resolve(path.dirname(file), m[1]!))
        .filter((t) => fs.existsSync(t))
      graph.set(file, targets)
    }
    // Not vacuous: the composition root's imports are seen.
    expect(graph.get(path.join(ROOT, 'src/app.ts'))!.length).toBeGreaterThan(10)
    expect(circles(graph)).toEqual([])
  })
})
