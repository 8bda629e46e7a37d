const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `"90s"`, `"5m"`, `"1.5h"`, `"30d"`, `"500ms"` → ms; undefined when it is not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value)
  if (!m) return undefined
  return Math.round(Number(m[1]) * UNITS[m[2]!]!)
}
