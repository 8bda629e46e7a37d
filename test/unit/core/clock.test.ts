import { afterEach, describe, expect, it, vi } from 'vitest'
import { CatchUpClock, FakeClock, RealClock } from '../../../src/core/clock.ts'

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

describe('RealClock on elapsed time', () => {
  it('ignores a step of the wall clock: now() and timers follow the monotonic clock', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
    let wall = Date.UTC(2026, 0, 1)
    let mono = 1000
    const clock = new RealClock({ wall: () => wall, mono: () => mono })
    const start = clock.now()
    const fired: number[] = []
    clock.setTimer(start + 60_000, () => fired.push(clock.now()))
    wall += 3_600_000 // an NTP step, a VM resumed
    expect(clock.now()).toBe(start)
    expect(clock.drift()).toBe(3_600_000)
    mono += 30_000
    vi.advanceTimersByTime(30_000)
    expect(fired).toEqual([])
    mono += 30_000
    vi.advanceTimersByTime(30_000)
    expect(fired).toEqual([start + 60_000])
  })

  it('never runs a timer before this clock reads its due time, though setTimeout fires early', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
    let mono = 0
    const clock = new RealClock({ wall: () => Date.UTC(2026, 0, 1), mono: () => mono })
    const fired: number[] = []
    clock.setTimer(clock.now() + 1000, () => fired.push(clock.now()))
    mono = 999 // Node's timer runs a millisecond before this clock gets there
    vi.advanceTimersByTime(1000)
    expect(fired).toEqual([])
    mono = 1000
    vi.advanceTimersByTime(1)
    expect(fired).toEqual([Date.UTC(2026, 0, 1) + 1000])
  })
})

describe('CatchUpClock', () => {
  it('runs virtual time record by record, fires due timers in order, then hands the rest to the real clock', () => {
    const real = new FakeClock(10_000)
    const clock = new CatchUpClock(real)
    const fired: string[] = []
    clock.begin(1_000)
    clock.setTimer(3_000, () => fired.push(`a@${clock.now()}`))
    clock.setTimer(12_000, () => fired.push(`late@${clock.now()}`))
    const cleared = clock.setTimer(2_000, () => fired.push('cleared'))
    clock.clearTimer(cleared)
    clock.advanceTo(2_500)
    expect(fired).toEqual([])
    expect(clock.now()).toBe(2_500)
    clock.advanceTo(4_000)
    expect(fired).toEqual(['a@3000'])
    clock.end()
    expect(clock.catchingUp).toBe(false)
    expect(clock.now()).toBe(10_000)
    real.advance(2_000)
    expect(fired).toEqual(['a@3000', 'late@12000'])
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
