import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { KIND_IDS, KINDS } from '../../devices/index.ts'
import type { FieldSpec } from '../../devices/types.ts'

/**
 * The README's telemetry-fields and alert tables say what devices/ declares: every kind, field, type,
 * unit and enum value, every event, every alert id with its severity, crew and whether it is latched.
 * (The tables keep their prose — ranges, conditions — so they are checked, not generated.)
 */

const README = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')

/** The rows of the markdown table whose header row starts with `header`. */
function table(header: string): string[][] {
  const lines = README.split('\n')
  const start = lines.findIndex((l) => l.startsWith(header))
  expect(start, `README table "${header}"`).toBeGreaterThanOrEqual(0)
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    // Cells split on | not escaped as \|.
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    )
  }
  return rows
}

/** How the telemetry table writes a field's type after its name. */
function describes(cell: string, name: string, f: FieldSpec): string | undefined {
  const at = cell.indexOf(`\`${name}\``)
  if (at < 0) return `${name} missing`
  const rest = cell.slice(at + name.length + 2).split(/, `/)[0]!
  const expected =
    f.type === 'bool'
      ? 'bool'
      : f.type === 'string'
        ? 'string'
        : f.type === 'enum'
          ? f.values.join('|')
          : (f.unit ?? (f.type === 'int' ? 'int' : `${f.min}–${f.max}`))
  return rest.includes(expected) ? undefined : `${name}: "${rest.trim()}" lacks "${expected}"`
}

describe('README tables', () => {
  it('list every kind with each state field, its type or unit and enum values, and its events', () => {
    const rows = table('| kind | `state` fields | events |')
    expect(rows.map((r) => r[0]).sort()).toEqual([...KIND_IDS].sort())
    for (const id of KIND_IDS) {
      const [, fields, events] = rows.find((r) => r[0] === id)!
      const problems = Object.entries(KINDS[id].state)
        .map(([name, f]) => describes(fields!, name, f))
        .filter(Boolean)
      expect(problems, id).toEqual([])
      const types = Object.keys(KINDS[id].events)
      if (types.length === 0) expect(events, `${id} events`).toBe('—')
      for (const t of types) expect(events, `${id} events`).toContain(`\`${t}`)
    }
  })

  it('list every alert with its declared severity, crew and clearing (latched or auto)', () => {
    const rows = table('| alert | severity | crew | clears |')
    for (const id of KIND_IDS) {
      for (const [type, def] of Object.entries(KINDS[id].alerts)) {
        const alert = `${id}.${type}`
        const row =
          rows.find((r) => r[0]!.includes(`\`${alert}\``)) ??
          // `elevator.overtravel_top` / `overtravel_bottom`
          rows.find((r) => r[0]!.startsWith(`\`${id}.`) && r[0]!.includes(`\`${type}\``)) ??
          // `<kind>.low_battery` (fire passage, manhole, …) / (every kind)
          rows.find(
            (r) =>
              r[0]!.startsWith(`\`<kind>.${type}\``) &&
              (r[0]!.includes('every kind') || r[0]!.includes(id.replace(/_/g, ' '))),
          )
        expect(row, `${alert} has a row`).toBeDefined()
        const [, severity, crew, clears] = row!
        expect(severity!.split(' ')[0], `${alert} severity`).toBe(def.severity)
        expect(crew, `${alert} crew`).toBe(def.crew)
        expect(clears!.split(/[ ;,]/)[0], `${alert} clears`).toBe(def.latched ? 'latched' : 'auto')
      }
    }
  })
})
