import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * `npm install` warns (EBADENGINE) when an installed package's `engines.node` excludes the Node it
 * runs on. The hub declares the Node versions it supports in package.json; every package installed
 * with it must accept the oldest of them (and the Node running this test, when that is supported),
 * or a supported install prints warnings and runs code its authors did not test on that Node.
 */

const ROOT = path.resolve(import.meta.dirname, '../../..')
// semver is fastify's own dependency (its version check); it ships no types of its own.
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null
  satisfies(version: string, range: string): boolean
}

interface LockEntry {
  version?: string
  engines?: { node?: string } | string[]
}

const declared = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    engines: { node: string }
  }
).engines.node

/** Packages the lock file lists that are on disk (platform-specific optional ones are not). */
function installed(): { name: string; version: string; node: string }[] {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>
  }
  return Object.entries(lock.packages)
    .filter(([where]) => where !== '' && fs.existsSync(path.join(ROOT, where, 'package.json')))
    .flatMap(([where, entry]) => {
      // Some old packages declare `engines` as an array, which npm ignores.
      const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node
      return node
        ? [{ name: where.replace(/^.*node_modules\//, ''), version: entry.version ?? '', node }]
        : []
    })
}

describe('engines', () => {
  const oldest = semver.minVersion(declared)!.version
  const versions = [oldest, ...(semver.satisfies(process.version, declared) ? [process.version] : [])]

  it('package.json declares a Node range with an oldest version', () => {
    expect(oldest).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it.each(versions)('no installed package excludes Node %s, which package.json supports', (version) => {
    const packages = installed()
    expect(packages.length).toBeGreaterThan(100)
    const excluding = packages
      .filter((p) => !semver.satisfies(version, p.node))
      .map((p) => `${p.name}@${p.version} wants node ${p.node}`)
    expect(excluding).toEqual([])
  })
})
