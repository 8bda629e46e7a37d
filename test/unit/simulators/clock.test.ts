import { describe, expect, test } from 'vitest'
import { SimClock } from '../../../simulators/clock.ts'
import { Rng } from '../../../simulators/rng.ts'
import { parseDuration, parseTimeOfDay } from '../../../simulators/time.ts'

describe('the simulated clock', () => {
  test('fires timers in time order, and timers due at the same instant in the order they were set', () => {
    const clock = new SimClock({ start: 0 })
    const fired: string[] = []
    clock.at(300, () => fired.push('c'))
    clock.at(100, () => fired.push('a1'))
    clock.at(100, () => fired.push('a2'))
    clock.after(200, () => fired.push('b'))
    clock.advance(250)
    expect(fired).toEqual(['a1', 'a2', 'b'])
    expect(clock.now()).toBe(250)
    clock.advance(100)
    expect(fired).toEqual(['a1', 'a2', 'b', 'c'])
  })

  test('repeats `every` timers until cancelled and never runs a cancelled one', () => {
    const clock = new SimClock({ start: 0 })
    let n = 0
    const t = clock.every(1000, () => n++)
    clock.advance(3500)
    expect(n).toBe(3)
    t.cancel()
    clock.advance(10_000)
    expect(n).toBe(3)
  })

  test('at speed 20, simulated time runs twenty times faster than the wall clock', async () => {
    const clock = new SimClock({ start: 0, speed: 20 })
    let fired = 0
    clock.every(1000, () => fired++)
    const wall = performance.now()
    clock.run()
    await new Promise((r) => setTimeout(r, 1000))
    clock.stop()
    const elapsedWall = performance.now() - wall
    // 1 s of wall time ≈ 20 s simulated; generous bounds for a busy 2-core machine.
    expect(clock.now() / elapsedWall).toBeGreaterThan(15)
    expect(clock.now() / elapsedWall).toBeLessThan(21)
    expect(fired).toBeGreaterThanOrEqual(15)
    expect(fired).toBeLessThanOrEqual(21)
  })
})

describe('the seeded random source', () => {
  test('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new Rng('seed-1')
    const b = new Rng('seed-1')
    const c = new Rng('seed-2')
    const seqA = Array.from({ length: 20 }, () => a.next())
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA)
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA)
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true)
  })

  test('int() stays within both bounds', () => {
    const r = new Rng(7)
    const seen = new Set(Array.from({ length: 2000 }, () => r.int(-1, 3)))
    expect([...seen].sort()).toEqual([-1, 0, 1, 2, 3])
  })
})

describe('scenario times', () => {
  test('reads durations and times of day as scenarios write them', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration(12)).toBe(12_000)
    expect(() => parseDuration('soon')).toThrow(/not a duration/)
    expect(parseTimeOfDay('10:02:00')).toBe(36_120_000)
    expect(() => parseTimeOfDay('25:00')).toThrow()
  })
})
