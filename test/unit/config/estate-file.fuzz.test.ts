import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseEstate } from '../../../src/config/estate-file.ts'
import { ZhianError } from '../../../src/errors.ts'
import { FIXTURES } from '../../helpers/hub.ts'

/**
 * Property-based fuzzing of the estate-file loader: YAML-ish token soup, arbitrary text, and valid
 * estate files mutated line by line and character by character. Whatever the text, parseEstate
 * returns an estate or throws ZHIAN_ERR_CONFIG_INVALID naming the file, line and column — never a
 * TypeError, a RangeError or a YAML library error.
 */

const SOURCE = 'estate.yaml'
/** ZHIAN_FUZZ_SCALE=10 for a longer hunt; the normal test run keeps each property under ~10 s. */
const SCALE = Number(process.env.ZHIAN_FUZZ_SCALE ?? 1)
const VALID = [
  path.join(FIXTURES, 'small-estate.yaml'),
  path.join(FIXTURES, 'dispatch-estate.yaml'),
  path.join(FIXTURES, 'reports-estate.yaml'),
].map((f) => fs.readFileSync(f, 'utf8'))

/** What an installer fixing the file is told: where, and what. */
const LOCATED = new RegExp(`^configuration file is invalid: ${SOURCE.replace('.', '\\.')}:\\d+:\\d+: \\S`)

function loadsOrExplains(text: string): void {
  let estate: ReturnType<typeof parseEstate> | undefined
  try {
    estate = parseEstate(text, SOURCE)
  } catch (err) {
    if (!(err instanceof ZhianError))
      throw new Error(`uncoded ${(err as Error)?.name}: ${(err as Error)?.message}`)
    expect(err.code).toBe('ZHIAN_ERR_CONFIG_INVALID')
    expect(err.message).toMatch(LOCATED)
    return
  }
  expect(Array.isArray(estate.sites)).toBe(true)
  expect(Array.isArray(estate.devices)).toBe(true)
}

const TOKENS = [
  'sites:',
  'devices:',
  'users:',
  'teams:',
  'routing:',
  'reports:',
  'overrides:',
  '- id: e1',
  '  - id: x',
  'type: estate',
  'kind: elevator',
  'estate: e1',
  'children:',
  'params: {',
  '}',
  '[',
  ']',
  '{',
  ', ',
  ': ',
  '- ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '---',
  '...',
  '%YAML 1.2',
  '&a ',
  '*a',
  '<<: *a',
  '!!binary ',
  '!!str ',
  '? ',
  '|',
  '>-',
  '"',
  "'",
  '#',
  '~',
  'null',
  '1e999',
  '-0x1',
  '0o17',
  '.nan',
  '2026-01-01',
  '__proto__: x',
  'constructor:',
  '中文名',
  '\u0000',
  '\uFEFF',
]

const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => t.join(''))

type Mutation = (lines: string[]) => string[]
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((i) => (l: string[]) => l.filter((_, j) => j !== i % l.length)),
  fc.nat().map((i) => (l: string[]) => l.flatMap((x, j) => (j === i % l.length ? [x, x] : [x]))),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (l: string[]) => {
    const out = [...l]
    const [i, j] = [a % l.length, b % l.length]
    ;[out[i], out[j]] = [out[j]!, out[i]!]
    return out
  }),
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...TOKENS)).map(([i, at, token]) => (l: string[]) => {
    const out = [...l]
    const line = out[i % l.length]!
    const k = at % (line.length + 1)
    out[i % l.length] = line.slice(0, k) + token + line.slice(k)
    return out
  }),
  fc
    .tuple(fc.nat(), fc.nat(), fc.string({ unit: 'grapheme', maxLength: 3 }))
    .map(([i, at, s]) => (l: string[]) => {
      const out = [...l]
      const line = out[i % l.length]!
      const k = at % (line.length + 1)
      out[i % l.length] = line.slice(0, k) + s + line.slice(k + 1)
      return out
    }),
  // Indent or dedent a line: YAML's structure is its indentation.
  fc.tuple(fc.nat(), fc.boolean()).map(
    ([i, more]) =>
      (l: string[]) =>
        l.map((x, j) => (j === i % l.length ? (more ? `  ${x}` : x.replace(/^ {1,2}/, '')) : x)),
  ),
  fc.nat().map((i) => (l: string[]) => l.slice(0, 1 + (i % l.length))),
)

const mutated = fc
  .tuple(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([text, ms]) =>
    ms.reduce((lines, m) => (lines.length ? m(lines) : lines), text.split('\n')).join('\n'),
  )

describe('estate file fuzz (fast-check)', () => {
  it('the valid fixtures load (the mutations start from files that parse)', () => {
    for (const text of VALID) loadsOrExplains(text)
    for (const text of VALID) expect(() => parseEstate(text, SOURCE)).not.toThrow()
  })

  it('found by this fuzz: an alias to an unset anchor (also under a << merge key) and an alias bomb are coded errors with a location', () => {
    for (const text of ['<<: *a', 'sites: *nowhere', 'sites:\n  - *a\n']) loadsOrExplains(text)
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
      )
    loadsOrExplains(bomb.join('\n'))
    expect(() => parseEstate('<<: *a', SOURCE)).toThrow(/estate\.yaml:1:5: Unresolved alias/)
  })

  it('3000 token-soup and arbitrary texts: an estate or ZHIAN_ERR_CONFIG_INVALID with file:line:col, nothing else', () => {
    fc.assert(fc.property(fc.oneof(soup, fc.string({ unit: 'grapheme', maxLength: 200 })), loadsOrExplains), {
      numRuns: 3000 * SCALE,
    })
  }, 30_000)

  it('1000 mutated valid estate files: an estate or ZHIAN_ERR_CONFIG_INVALID with file:line:col, nothing else', () => {
    fc.assert(fc.property(mutated, loadsOrExplains), { numRuns: 1000 * SCALE })
  }, 30_000)
})
