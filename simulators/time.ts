/** Durations and times of day as written in scenarios and on the command line. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "90s", "12m", "1h30m", "250ms", or a bare number of seconds → milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text * 1000
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy
  let total = 0
  let consumed = 0
  for (const m of trimmed.matchAll(re)) {
    total += Number(m[1]) * UNITS[m[2]!]!
    consumed += m[0].length
  }
  if (consumed === 0 || consumed !== trimmed.length) throw new Error(`not a duration: "${text}"`)
  return total
}

/** "10:02:00" or "10:02" → milliseconds since midnight. */
export function parseTimeOfDay(text: string): number {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim())
  if (!m) throw new Error(`not a time of day: "${text}"`)
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]
  if (h > 23 || min > 59 || s > 59) throw new Error(`not a time of day: "${text}"`)
  return ((h * 60 + min) * 60 + s) * 1000
}

/** Local midnight of the day containing `epochMs`, plus a time of day. */
export function atTimeOfDay(epochMs: number, timeOfDayMs: number): number {
  const d = new Date(epochMs)
  d.setHours(0, 0, 0, 0)
  return d.getTime() + timeOfDayMs
}

/** Hours since local midnight, fractional (for day curves). */
export function hourOfDay(epochMs: number): number {
  const d = new Date(epochMs)
  return d.getHours() + d.getMinutes() / 60 + d.getSeconds() / 3600
}

export function formatClock(epochMs: number): string {
  const d = new Date(epochMs)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}
