import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import fs from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'

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

/**
 * Who waits for a hash. `normal`: a person (a dashboard login, bounded by its own throttle and gate),
 * on libuv's pool. `low`: devices, on two threads of their own at the lowest CPU priority, so a
 * reconnect storm or a guessing attack costs only CPU nothing else wants — the event loop (every
 * connected device's PUBACK), the pool's file I/O (the journal's O_DSYNC commits) and people's logins
 * are scheduled first and never queue behind a device's hash. Two threads: a storm of new devices
 * still gets both cores when they are idle.
 */
export type KdfPriority = 'normal' | 'low'
const KDF_THREADS = 2

/** The worker's source, plain CommonJS so it loads the same under tsx, tests and a build. */
const KDF_WORKER = `
const { parentPort } = require('node:worker_threads')
const { scryptSync } = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
try {
  // Linux: /proc/thread-self names this thread; setpriority() on a thread id renices the thread only.
  os.setPriority(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()), 19)
} catch {}
parentPort.on('message', ({ id, secret, salt, N, r, p, keyLen }) => {
  try {
    const key = scryptSync(secret, salt, keyLen, { N, r, p, maxmem: 256 * N * r })
    parentPort.postMessage({ id, key })
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message) })
  }
})
`

interface KdfJob {
  resolve: (key: Buffer) => void
  reject: (err: Error) => void
}

/** A few low-priority worker threads for scrypt, started on first use; they hold the process open only while a job runs. */
class KdfThreads {
  private readonly workers: { worker: Worker; jobs: Map<number, KdfJob> }[] = []
  private nextId = 0

  run(secret: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
    const slot = this.leastBusy()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject })
      slot.worker.ref()
      slot.worker.postMessage({ id, secret, salt, N, r, p, keyLen: KEY_LEN })
    })
  }

  private leastBusy() {
    if (this.workers.length < KDF_THREADS) {
      const slot = { worker: new Worker(KDF_WORKER, { eval: true }), jobs: new Map<number, KdfJob>() }
      slot.worker.on('message', (m: { id: number; key?: Uint8Array; error?: string }) => {
        const job = slot.jobs.get(m.id)
        slot.jobs.delete(m.id)
        if (slot.jobs.size === 0) slot.worker.unref()
        if (m.key) job?.resolve(Buffer.from(m.key))
        else job?.reject(new Error(m.error ?? 'scrypt failed'))
      })
      // A dead worker fails its jobs and is replaced on the next check.
      const fail = (err: Error) => {
        this.workers.splice(this.workers.indexOf(slot), 1)
        for (const job of slot.jobs.values()) job.reject(err)
        slot.jobs.clear()
      }
      slot.worker.once('error', fail)
      slot.worker.once('exit', (code) => fail(new Error(`scrypt worker exited with ${code}`)))
      this.workers.push(slot)
      return slot
    }
    return this.workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a))
  }
}

const kdf = new KdfThreads()
/**
 * Every scrypt run, as `{ salt (base64), N, r, p, priority }`, for whoever subscribes (the constant-time test
 * checks with it that an unknown id costs the same work as a wrong secret). Free without subscribers.
 */
export const KDF_CHANNEL = diagnostics.channel('zhian:kdf')

function scryptAsync(
  secret: string,
  salt: Buffer,
  N: number,
  r: number,
  p: number,
  priority: KdfPriority = 'normal',
): Promise<Buffer> {
  if (KDF_CHANNEL.hasSubscribers) KDF_CHANNEL.publish({ salt: salt.toString('base64'), N, r, p, priority })
  if (priority === 'low') return kdf.run(secret, salt, N, r, p)
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

/**
 * The check when it costs no KDF (a hub-generated secret's SHA-256, or a malformed hash, which fails):
 * true or false at once; undefined when the hash is scrypt and verifySecret must run it.
 */
export function verifySecretAtOnce(secret: string, stored: string): boolean | undefined {
  const parts = stored.split('$')
  if (parts.length === 3 && parts[0] === 'sha256') {
    const expected = Buffer.from(parts[2]!, 'base64')
    const actual = createHash('sha256').update(Buffer.from(parts[1]!, 'base64')).update(secret).digest()
    return expected.length === actual.length && timingSafeEqual(actual, expected)
  }
  return parts.length === 6 && parts[0] === 'scrypt' ? undefined : false
}

/** Constant-time check; malformed hashes simply fail. */
export async function verifySecret(
  secret: string,
  stored: string,
  priority: KdfPriority = 'normal',
): Promise<boolean> {
  const atOnce = verifySecretAtOnce(secret, stored)
  if (atOnce !== undefined) return atOnce
  const parts = stored.split('$')
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  if (![N, r, p].every(Number.isInteger) || N > 1 << 20 || r > 32 || p > 16) return false
  const expected = Buffer.from(parts[5]!, 'base64')
  if (expected.length !== KEY_LEN) return false
  try {
    const actual = await scryptAsync(secret, Buffer.from(parts[4]!, 'base64'), N, r, p, priority)
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
