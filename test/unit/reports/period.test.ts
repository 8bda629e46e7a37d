import { describe, expect, it } from 'vitest'
import { median, percentile } from '../../../src/reports/build.ts'
import { localParts, resolvePeriod } from '../../../src/reports/period.ts'

/** Report periods in a time zone: what a manager means by "last week" in Hangzhou. */

// Sunday 2026-11-22 11:00 in Shanghai (03:00 UTC).
const NOW = Date.UTC(2026, 10, 22, 3, 0)
const SH = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h) - 8 * 3_600_000

describe('report periods (Asia/Shanghai by default)', () => {
  it('"week" is the last complete Monday–Sunday week, local midnight to midnight, against the week before', () => {
    const p = resolvePeriod('week', NOW)
    expect(p).toMatchObject({ id: '2026-W46', unit: 'week', from: SH(2026, 11, 9), to: SH(2026, 11, 16) })
    expect([p.prevFrom, p.prevTo]).toEqual([SH(2026, 11, 2), SH(2026, 11, 9)])
    expect(p.label).toBe('2026-11-09 – 2026-11-15')
    expect(resolvePeriod('this-week', NOW).id).toBe('2026-W47')
  })

  it('"day" is yesterday, "today" today, "month" last calendar month with the month before it', () => {
    expect(resolvePeriod('day', NOW)).toMatchObject({
      id: '2026-11-21',
      from: SH(2026, 11, 21),
      to: SH(2026, 11, 22),
    })
    expect(resolvePeriod('today', NOW)).toMatchObject({ id: '2026-11-22', from: SH(2026, 11, 22) })
    const m = resolvePeriod('month', NOW)
    expect(m).toMatchObject({
      id: '2026-10',
      from: SH(2026, 10, 1),
      to: SH(2026, 11, 1),
      prevFrom: SH(2026, 9, 1),
    })
    // January's "last month" is the previous year's December.
    expect(resolvePeriod('month', Date.UTC(2027, 0, 15)).id).toBe('2026-12')
  })

  it('takes explicit days, ISO weeks (53-week years too), months and ranges with the end day included', () => {
    expect(resolvePeriod('2026-W53', NOW)).toMatchObject({ from: SH(2026, 12, 28), to: SH(2027, 1, 4) })
    expect(resolvePeriod('2027-W01', NOW).from).toBe(SH(2027, 1, 4))
    expect(resolvePeriod('2026-W01', NOW).from).toBe(SH(2025, 12, 29))
    expect(resolvePeriod('2026-02', NOW)).toMatchObject({ from: SH(2026, 2, 1), to: SH(2026, 3, 1) })
    const r = resolvePeriod('2026-11-01..2026-11-15', NOW)
    expect(r).toMatchObject({ unit: 'range', from: SH(2026, 11, 1), to: SH(2026, 11, 16) })
    expect(r.prevTo - r.prevFrom).toBe(15 * 86_400_000)
    // The id names the same period later, whatever "now" is then.
    expect(resolvePeriod(resolvePeriod('week', NOW).id, NOW + 30 * 86_400_000).from).toBe(SH(2026, 11, 9))
  })

  it('follows a configured time zone, daylight saving included', () => {
    expect(resolvePeriod('today', NOW, 'UTC').from).toBe(Date.UTC(2026, 10, 22))
    const spring = resolvePeriod('2026-03-29', NOW, 'Europe/Berlin')
    expect(spring.to - spring.from).toBe(23 * 3_600_000)
    expect(localParts(SH(2026, 11, 23, 8), 'Asia/Shanghai')).toMatchObject({ weekday: 0, hour: 8 })
  })

  it('refuses what is not a period with ZHIAN_ERR_REPORT_PERIOD', () => {
    for (const bad of [
      '2026-13',
      '2026-02-30',
      '2026-W54',
      'fortnight',
      '2026-11-15..2026-11-01',
      '2026-01-01..2027-12-31',
    ]) {
      expect(() => resolvePeriod(bad, NOW), bad).toThrow(
        expect.objectContaining({ code: 'ZHIAN_ERR_REPORT_PERIOD' }),
      )
    }
    expect(() => resolvePeriod('week', NOW, 'Mars/Olympus')).toThrow(
      expect.objectContaining({ code: 'ZHIAN_ERR_REPORT_PERIOD' }),
    )
  })
})

describe('report statistics', () => {
  it('median of an even count is the mean of the middle two; p90 is the nearest rank', () => {
    expect(median([1, 2, 3, 10])).toBe(2.5)
    expect(median([4])).toBe(4)
    expect(median([])).toBeNull()
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9)
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9)).toBe(10)
    expect(percentile([7], 0.9)).toBe(7)
  })
})
