/**
 * Seeded, deterministic randomness for the simulators. Every device gets its own stream derived from
 * (seed, device id), so adding a device or changing the connect order never changes another device's
 * timeline.
 */

/** cyrb53-style string hash → 32-bit unsigned seed. */
export function hashSeed(...parts: (string | number)[]): number {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  const text = parts.join('\u0000')
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (h1 ^ h2) >>> 0
}

/** sfc32: small, fast, good enough statistically, and trivially reproducible across platforms. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number | string) {
    const s = typeof seed === 'number' ? seed >>> 0 : hashSeed(seed)
    this.a = 0x9e3779b9
    this.b = 0x243f6a88
    this.c = 0xb7e15162
    this.d = s
    for (let i = 0; i < 15; i++) this.next()
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0
    this.b >>>= 0
    this.c >>>= 0
    this.d >>>= 0
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  /** A new independent stream, e.g. `rng.fork('net')`, that does not disturb this one. */
  fork(label: string | number): Rng {
    return new Rng(hashSeed(this.d, this.a, label))
  }

  float(min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return Math.floor(this.float(min, max + 1))
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]!
  }

  /** Normal deviate (Box–Muller). */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next()
    const v = this.next()
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Waiting time of a Poisson process with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }
}
