import { afterEach, describe, expect, it, vi } from 'vitest'
import { FakeClock, RealClock } from '../../../src/rules/clock.ts'

const DAY = 86_400_000

afterEach(() => {
  vi.useRealTimers()
})

describe('RealClock', () => {
  it('fires a 30-day timer after 30 days although setTimeout stops at ~24.8 days', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
    const clock = new RealClock()
    let fired = 0
    clock.setTimer(Date.now() + 30 * DAY, () => fired++)
    vi.advanceTimersByTime(25 * DAY)
    expect(fired).toBe(0)
    vi.advanceTimersByTime(5 * DAY - 1)
    expect(fired).toBe(0)
    vi.advanceTimersByTime(1)
    expect(fired).toBe(1)
  })

  it('fires a timer that is already due at once, and never a cleared one', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
    const clock = new RealClock()
    const fired: string[] = []
    clock.setTimer(Date.now() - 5000, () => fired.push('past'))
    const t = clock.setTimer(Date.now() + 1000, () => fired.push('cleared'))
    clock.clearTimer(t)
    vi.advanceTimersByTime(2000)
    expect(fired).toEqual(['past'])
  })
})

describe('FakeClock', () => {
  it('runs due timers in time order, including ones set by a timer while advancing', () => {
    const clock = new FakeClock(0)
    const fired: number[] = []
    clock.setTimer(300, () => fired.push(clock.now()))
    clock.setTimer(100, () => {
      fired.push(clock.now())
      clock.setTimer(200, () => fired.push(clock.now()))
    })
    clock.advance(1000)
    expect(fired).toEqual([100, 200, 300])
    expect(clock.now()).toBe(1000)
    expect(clock.pending).toBe(0)
  })
})
