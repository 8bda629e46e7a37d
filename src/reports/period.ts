import { ZhianError } from '../errors.ts'

/**
 * Report periods in a time zone (default Asia/Shanghai): `day | week | month` are the last complete
 * one (yesterday, last Monday–Sunday, last calendar month), `today | this-week | this-month` the
 * current one so far; `2026-11-16` a day, `2026-W47` an ISO week, `2026-11` a month, and
 * `2026-11-01..2026-11-15` a custom range of whole days (end day included). Half-open [from, to).
 */

export interface Period {
  /** What was asked, normalised to an explicit form (`2026-W47`), so a link names the same period later. */
  id: string
  unit: 'day' | 'week' | 'month' | 'range'
  from: number
  to: number
  /** The period before it, of the same unit (a range: the same length just before). */
  prevFrom: number
  prevTo: number
  tz: string
  /** Local dates, end inclusive: for titles. */
  label: string
}

export const DEFAULT_TZ = 'Asia/Shanghai'

interface Ymd {
  y: number
  m: number // 1..12
  d: number
}

const DAY_MS = 86_400_000

export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return tz
  } catch {
    throw new ZhianError('ZHIAN_ERR_REPORT_PERIOD', `unknown time zone "${tz}"`)
  }
}

/** Offset of `tz` from UTC at instant `t`, in ms (Asia/Shanghai: +8 h). */
function offsetAt(t: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(t)
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'))
  return asUtc - Math.floor(t / 1000) * 1000
}

/** The instant of local midnight (plus `minutes`) of a local date. */
export function localToUtc(date: Ymd, tz: string, minutes = 0): number {
  const guess = Date.UTC(date.y, date.m - 1, date.d) + minutes * 60_000
  let t = guess - offsetAt(guess, tz)
  t = guess - offsetAt(t, tz) // second pass settles DST edges
  return t
}

/** Local calendar date and time of an instant. */
export function localParts(t: number, tz: string): Ymd & { hour: number; minute: number; weekday: number } {
  const local = new Date(t + offsetAt(t, tz))
  return {
    y: local.getUTCFullYear(),
    m: local.getUTCMonth() + 1,
    d: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    // 0 = Monday … 6 = Sunday
    weekday: (local.getUTCDay() + 6) % 7,
  }
}

const addDays = (date: Ymd, n: number): Ymd => {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d) + n * DAY_MS)
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() }
}
const addMonths = (date: Ymd, n: number): Ymd => {
  const t = new Date(Date.UTC(date.y, date.m - 1 + n, 1))
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: 1 }
}
const pad = (n: number) => String(n).padStart(2, '0')
export const ymd = (date: Ymd) => `${date.y}-${pad(date.m)}-${pad(date.d)}`

/** ISO 8601 week of a date: year and week number. */
function isoWeek(date: Ymd): { year: number; week: number } {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d))
  const weekday = (t.getUTCDay() + 6) % 7
  t.setUTCDate(t.getUTCDate() - weekday + 3) // Thursday of this week
  const year = t.getUTCFullYear()
  // The week holding the year's first Thursday is week 1.
  const week = 1 + Math.floor((t.getTime() - Date.UTC(year, 0, 1)) / DAY_MS / 7)
  return { year, week }
}

function mondayOfIsoWeek(year: number, week: number): Ymd {
  const jan4 = { y: year, m: 1, d: 4 }
  const wd = (new Date(Date.UTC(year, 0, 4)).getUTCDay() + 6) % 7
  return addDays(jan4, -wd + (week - 1) * 7)
}

function parseDate(s: string): Ymd | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (!m) return undefined
  const date = { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) }
  const back = addDays(date, 0)
  return back.y === date.y && back.m === date.m && back.d === date.d ? date : undefined
}

const bad = (spec: string) =>
  new ZhianError(
    'ZHIAN_ERR_REPORT_PERIOD',
    `"${spec}": use day, week, month, today, this-week, this-month, 2026-11-16, 2026-W47, 2026-11 or 2026-11-01..2026-11-15`,
  )

function dayPeriod(date: Ymd, tz: string): Period {
  const from = localToUtc(date, tz)
  const to = localToUtc(addDays(date, 1), tz)
  return {
    id: ymd(date),
    unit: 'day',
    from,
    to,
    prevFrom: localToUtc(addDays(date, -1), tz),
    prevTo: from,
    tz,
    label: ymd(date),
  }
}

function weekPeriod(monday: Ymd, tz: string): Period {
  const w = isoWeek(monday)
  return {
    id: `${w.year}-W${pad(w.week)}`,
    unit: 'week',
    from: localToUtc(monday, tz),
    to: localToUtc(addDays(monday, 7), tz),
    prevFrom: localToUtc(addDays(monday, -7), tz),
    prevTo: localToUtc(monday, tz),
    tz,
    label: `${ymd(monday)} – ${ymd(addDays(monday, 6))}`,
  }
}

function monthPeriod(first: Ymd, tz: string): Period {
  return {
    id: `${first.y}-${pad(first.m)}`,
    unit: 'month',
    from: localToUtc(first, tz),
    to: localToUtc(addMonths(first, 1), tz),
    prevFrom: localToUtc(addMonths(first, -1), tz),
    prevTo: localToUtc(first, tz),
    tz,
    label: `${first.y}-${pad(first.m)}`,
  }
}

export function resolvePeriod(spec: string, now: number, tz = DEFAULT_TZ): Period {
  checkTimeZone(tz)
  const s = spec.trim()
  const today = localParts(now, tz)
  const monday = addDays(today, -today.weekday)
  switch (s) {
    case 'today':
      return dayPeriod(today, tz)
    case 'day':
    case 'yesterday':
      return dayPeriod(addDays(today, -1), tz)
    case 'this-week':
      return weekPeriod(monday, tz)
    case 'week':
    case 'last-week':
      return weekPeriod(addDays(monday, -7), tz)
    case 'this-month':
      return monthPeriod({ y: today.y, m: today.m, d: 1 }, tz)
    case 'month':
    case 'last-month':
      return monthPeriod(addMonths(today, -1), tz)
  }
  const date = parseDate(s)
  if (date) return dayPeriod(date, tz)
  const week = /^(\d{4})-W(\d{2})$/.exec(s)
  if (week) {
    const n = Number(week[2])
    if (n < 1 || n > 53) throw bad(spec)
    const mon = mondayOfIsoWeek(Number(week[1]), n)
    if (isoWeek(mon).week !== n) throw bad(spec)
    return weekPeriod(mon, tz)
  }
  const month = /^(\d{4})-(\d{2})$/.exec(s)
  if (month) {
    const m = Number(month[2])
    if (m < 1 || m > 12) throw bad(spec)
    return monthPeriod({ y: Number(month[1]), m, d: 1 }, tz)
  }
  const range = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(s)
  if (range) {
    const a = parseDate(range[1]!)
    const b = parseDate(range[2]!)
    if (!a || !b) throw bad(spec)
    const from = localToUtc(a, tz)
    const to = localToUtc(addDays(b, 1), tz)
    if (to <= from) throw bad(spec)
    if (to - from > 400 * DAY_MS)
      throw new ZhianError('ZHIAN_ERR_REPORT_PERIOD', `"${spec}": at most 400 days`)
    return {
      id: `${ymd(a)}..${ymd(b)}`,
      unit: 'range',
      from,
      to,
      prevFrom: from - (to - from),
      prevTo: from,
      tz,
      label: `${ymd(a)} – ${ymd(b)}`,
    }
  }
  throw bad(spec)
}
