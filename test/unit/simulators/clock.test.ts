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
    const wallStart = performance.now()
    let last = { sim: 0, wall: wallStart }
    clock.every(1000, () => {
      last = { sim: clock.now(), wall: performance.now() }
    })
    clock.run()
    await new Promise((r) => setTimeout(r, 1000))
    clock.stop()
    // Each 1 s simulated timer fires about 50 ms of wall time after the previous one; a busy machine
    // can only make it late, so the lower bound is generous and the upper one tight.
    const ratio = last.sim / (last.wall - wallStart)
    expect(last.sim).toBeGreaterThanOrEqual(12_000)
    expect(ratio).toBeGreaterThan(12)
    expect(ratio).toBeLessThan(20.5)
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
