import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/**
 * Salted hashes for device secrets and user passwords, self-describing so costs can change without a
 * migration:
 * - `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` for anything a person chose (passwords, secrets typed
 *   into an estate file or the CLI);
 * - `sha256$<salt b64>$<hash b64>` only for secrets the hub generated itself (144 random bits): brute
 *   force of that space is out of reach, so a slow KDF would add nothing but reconnect cost — a street
 *   of 100k devices reconnecting after a restart would otherwise spend many CPU-minutes in scrypt.
 */

/** Device secrets are machine-generated and long; a cheaper N keeps a 2,000-device reconnect storm to seconds. */
export const DEVICE_COST = 4096
/** Passwords are chosen by people: the usual interactive-login cost. */
export const PASSWORD_COST = 16384

const KEY_LEN = 32

function scryptAsync(secret: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LEN, { N, r, p, maxmem: 256 * N * r }, (err, key) =>
      err ? reject(err) : resolve(key),
    )
  })
}

export async function hashSecret(secret: string, cost = DEVICE_COST): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, cost, 8, 1)
  return `scrypt$${cost}$8$1$${salt.toString('base64')}$${key.toString('base64')}`
}

/** For secrets from generateSecret() only (see above). */
export function hashGeneratedSecret(secret: string): string {
  const salt = randomBytes(16)
  const key = createHash('sha256').update(salt).update(secret).digest()
  return `sha256$${salt.toString('base64')}$${key.toString('base64')}`
}

/** Constant-time check; malformed hashes simply fail. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length === 3 && parts[0] === 'sha256') {
    const expected = Buffer.from(parts[2]!, 'base64')
    const actual = createHash('sha256').update(Buffer.from(parts[1]!, 'base64')).update(secret).digest()
    return expected.length === actual.length && timingSafeEqual(actual, expected)
  }
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  if (![N, r, p].every(Number.isInteger) || N > 1 << 20 || r > 32 || p > 16) return false
  const expected = Buffer.from(parts[5]!, 'base64')
  if (expected.length !== KEY_LEN) return false
  try {
    const actual = await scryptAsync(secret, Buffer.from(parts[4]!, 'base64'), N, r, p)
    return timingSafeEqual(actual, expected)
  } catch {
    return false
  }
}

export function generateSecret(): string {
  return randomBytes(18).toString('base64url')
}

/**
 * Remembers secrets that already passed scrypt, as an HMAC under a per-process key, so a device that
 * reconnects is checked in microseconds. Nothing here outlives the process or reaches the disk.
 */
export class VerifiedSecrets {
  private readonly key = randomBytes(32)
  private readonly macs = new Map<string, Buffer>()

  private mac(id: string, secret: string): Buffer {
    return createHmac('sha256', this.key).update(id).update('\0').update(secret).digest()
  }

  has(id: string, secret: string): boolean {
    const known = this.macs.get(id)
    return known !== undefined && timingSafeEqual(known, this.mac(id, secret))
  }

  remember(id: string, secret: string): void {
    this.macs.set(id, this.mac(id, secret))
  }

  forget(id: string): void {
    this.macs.delete(id)
  }
}

/** Where a start writes the secrets it generated (admin API token, first admin password). */
export const INITIAL_CREDENTIALS_FILE = 'initial-credentials.txt'

/**
 * Appends generated secrets to `<dataDir>/initial-credentials.txt`, readable by the hub's user only,
 * and returns its path: the log and the banner name the file, never the secret. Appended, not
 * replaced: a token generated at a later start must not wipe a password nobody has read yet.
 */
export function writeInitialCredentials(dataDir: string, lines: string[]): string {
  const file = path.join(dataDir, INITIAL_CREDENTIALS_FILE)
  const text = [`# zhian ${new Date().toISOString()}`, ...lines, ''].join('\n')
  fs.appendFileSync(file, text, { mode: 0o600 })
  fs.chmodSync(file, 0o600)
  return file
}
