/**
 * Time-of-day schedules (`schedule()` params in devices/types.ts): local-time windows such as
 * `22:00-06:00`, several separated by commas, optionally followed by an IANA time zone
 * (`22:00-06:00 Asia/Urumqi`). Evaluated at a given instant — a message's receive time or a timer's
 * due time from the engine's clock — so a replay after a crash decides as the first run did.
 */

export interface Schedule {
  /** [start, end) in minutes of the local day; end < start runs past midnight into the next day, end = start is the whole day. */
  windows: readonly (readonly [number, number])[]
  /** Absent: the engine's default zone. */
  tz: string | undefined
}

const WINDOW = /^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)$/

/** The schedule, or a reason it is not one. */
export function parseSchedule(text: unknown): Schedule | string {
  if (typeof text !== 'string') return 'not a text like "22:00-06:00"'
  const m = /^\s*([^A-Za-z]*?)\s*([A-Za-z][A-Za-z0-9_+\-/]*)?\s*$/.exec(text)
  if (!m) return `"${text}" is not like "22:00-06:00[,HH:MM-HH:MM] [Area/City]"`
  const tz = m[2]
  if (tz !== undefined && !validZone(tz)) return `unknown time zone "${tz}"`
  const windows: [number, number][] = []
  for (const part of (m[1] ?? '').split(',')) {
    const w = WINDOW.exec(part.trim())
    if (!w) return `"${part.trim()}" is not a window like "22:00-06:00"`
    const start = Number(w[1]) * 60 + Number(w[2])
    const end = Number(w[3]) * 60 + Number(w[4])
    if (end > 24 * 60) return `"${part.trim()}" ends after 24:00`
    windows.push([start, end])
  }
  return { windows, tz }
}

/** `at` (epoch ms) falls in one of the windows, in the schedule's zone or else `defaultTz`. */
export function inSchedule(s: Schedule, at: number, defaultTz: string): boolean {
  const minute = minuteOfDay(at, s.tz ?? defaultTz)
  for (const [start, end] of s.windows) {
    if (start < end ? minute >= start && minute < end : minute >= start || minute < end) return true
  }
  return false
}

/**
 * The next instant after `at` at which `inSchedule` may change: the next window start or end, on a
 * whole local minute (zone offsets are whole minutes).
 */
export function nextEdge(s: Schedule, at: number, defaultTz: string): number {
  const minute = minuteOfDay(at, s.tz ?? defaultTz)
  let best = 24 * 60
  for (const [start, end] of s.windows) {
    for (const edge of [start % 1440, end % 1440]) {
      const ahead = (edge - minute + 1440) % 1440 || 1440
      if (ahead < best) best = ahead
    }
  }
  return Math.floor(at / 60_000) * 60_000 + best * 60_000
}

const FORMATS = new Map<string, Intl.DateTimeFormat>()

/** Minutes since local midnight in `tz` (DST-correct: the zone's own offset at that instant). */
export function minuteOfDay(at: number, tz: string): number {
  let f = FORMATS.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
    FORMATS.set(tz, f)
  }
  let hour = 0
  let minute = 0
  for (const part of f.formatToParts(at)) {
    if (part.type === 'hour') hour = Number(part.value)
    else if (part.type === 'minute') minute = Number(part.value)
  }
  return hour * 60 + minute
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}
