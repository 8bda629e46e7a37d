import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The hub is started three ways: `npm start` / `npm run demo`, `bin/zhian.js` (npx zhian), and the
 * Docker image. All of them must give node the same flags (the young-generation size the benchmark
 * measured), or the image runs slower than the figures in the README.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..')
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8')

function flagsOfScript(script: string): string[] {
  const words = script.split(/\s+/)
  return words.slice(words.indexOf('node') + 1, words.indexOf('--import'))
}

describe('launchers', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts
  const expected = flagsOfScript(scripts.start!)

  it('npm start passes a larger young generation than V8 defaults', () => {
    expect(expected).toContain('--max-semi-space-size=64')
  })

  it('npm run demo and npm run zhian pass the same node flags as npm start', () => {
    expect(flagsOfScript(scripts.demo!)).toEqual(expected)
    expect(flagsOfScript(scripts.zhian!)).toEqual(expected)
  })

  it('the Docker image starts the hub with the same node flags', () => {
    const cmd = read('Dockerfile').match(/^CMD (\[.*\])$/m)
    expect(cmd).not.toBeNull()
    const argv = JSON.parse(cmd![1]!) as string[]
    expect(argv.slice(1, argv.indexOf('--import'))).toEqual(expected)
  })

  it('bin/zhian.js (npx zhian) spawns node with the same flags', () => {
    const declared = read('bin/zhian.js').match(/const NODE_FLAGS = (\[.*\])/)
    expect(declared).not.toBeNull()
    expect(JSON.parse(declared![1]!.replaceAll("'", '"'))).toEqual(expected)
  })
})
