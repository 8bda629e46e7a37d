import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Tokens and signatures compared in constant time: both sides are hashed first, so neither the
 * content nor the length of the expected value leaks through the time a comparison takes.
 */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false
  const a = createHash('sha256').update(given, 'utf8').digest()
  const b = createHash('sha256').update(expected, 'utf8').digest()
  return timingSafeEqual(a, b)
}

/** The bearer token of an Authorization header, if that is what it carries. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header ?? '')
  return m?.[1]
}
