import { describe, expect, it } from 'vitest'
import {
  generateSecret,
  hashGeneratedSecret,
  hashSecret,
  VerifiedSecrets,
  verifySecret,
} from '../../../src/util/secrets.ts'

describe('secrets', () => {
  it('verifies a person-chosen secret against its salted scrypt hash and refuses others', async () => {
    const hash = await hashSecret('lift-secret-0001')
    expect(hash).toMatch(/^scrypt\$4096\$8\$1\$/)
    expect(hash).not.toContain('lift-secret-0001')
    expect(await verifySecret('lift-secret-0001', hash)).toBe(true)
    expect(await verifySecret('lift-secret-0002', hash)).toBe(false)
    expect(await hashSecret('lift-secret-0001')).not.toBe(hash) // salted
  })

  it('stores hub-generated secrets as salted SHA-256 and verifies them', async () => {
    const secret = generateSecret()
    expect(secret.length).toBeGreaterThanOrEqual(24)
    const hash = hashGeneratedSecret(secret)
    expect(hash).toMatch(/^sha256\$/)
    expect(await verifySecret(secret, hash)).toBe(true)
    expect(await verifySecret(`${secret}x`, hash)).toBe(false)
  })

  it('fails closed on malformed or hostile hashes', async () => {
    for (const bad of ['', 'plain', 'scrypt$1$2$3', 'scrypt$99999999$8$1$AA==$AA==', 'sha256$$', 'md5$x$y']) {
      expect(await verifySecret('anything-at-all', bad)).toBe(false)
    }
  })

  it('remembers a verified secret per device without keeping it, and forgets on demand', () => {
    const cache = new VerifiedSecrets()
    cache.remember('lift1', 'lift-secret-0001')
    expect(cache.has('lift1', 'lift-secret-0001')).toBe(true)
    expect(cache.has('lift1', 'lift-secret-0002')).toBe(false)
    expect(cache.has('lift2', 'lift-secret-0001')).toBe(false)
    cache.forget('lift1')
    expect(cache.has('lift1', 'lift-secret-0001')).toBe(false)
  })
})
