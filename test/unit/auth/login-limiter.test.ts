import { describe, expect, it } from 'vitest'
import { LOGIN_POLICY, LoginLimiter } from '../../../src/auth/login-limiter.ts'

const A = '203.0.113.7'
const B = '198.51.100.20'

describe('login throttle', () => {
  it('holds one user at one address after 5 failures for the rest of the window, then lets it try again', () => {
    let now = 1_000_000
    const limiter = new LoginLimiter(LOGIN_POLICY, () => now)
    for (let i = 0; i < 5; i++) {
      expect(limiter.retryAfter(A, 'mgr')).toBe(0)
      limiter.fail(A, 'mgr')
    }
    expect(limiter.retryAfter(A, 'mgr')).toBe(300)
    now += 120_000
    expect(limiter.retryAfter(A, 'mgr')).toBe(180)
    now += 180_001
    expect(limiter.retryAfter(A, 'mgr')).toBe(0)
  })

  it('lets the same user in from another address while the guessing address waits', () => {
    const limiter = new LoginLimiter(LOGIN_POLICY, () => 0)
    for (let i = 0; i < 10; i++) limiter.fail(A, 'wuye')
    expect(limiter.retryAfter(A, 'wuye')).toBeGreaterThan(0)
    expect(limiter.retryAfter(B, 'wuye')).toBe(0)
  })

  it('holds a user from every new address only after 50 failures spread over many addresses', () => {
    const limiter = new LoginLimiter(LOGIN_POLICY, () => 0)
    for (let i = 0; i < 49; i++) limiter.fail(`10.0.${i}.1`, 'wuye')
    expect(limiter.retryAfter(B, 'wuye')).toBe(0)
    expect(limiter.fail('10.0.99.1', 'wuye')).toEqual(['user'])
    expect(limiter.retryAfter(B, 'wuye')).toBe(900)
    // An address the user logged in from before is held by its own pair tier only.
    expect(limiter.retryAfter(B, 'wuye', true)).toBe(0)
  })

  it('holds an address guessing across many usernames after 100 failures, not other addresses', () => {
    const limiter = new LoginLimiter(LOGIN_POLICY, () => 0)
    for (let i = 0; i < 99; i++) limiter.fail(A, `user${i}`)
    expect(limiter.retryAfter(A, 'someone-new')).toBe(0)
    expect(limiter.fail(A, 'user99')).toEqual(['address'])
    expect(limiter.retryAfter(A, 'someone-new')).toBeGreaterThan(0)
    expect(limiter.retryAfter(B, 'someone-new')).toBe(0)
  })

  it('reports the tier a failure fills, once', () => {
    const limiter = new LoginLimiter(LOGIN_POLICY, () => 0)
    const filled = Array.from({ length: 6 }, () => limiter.fail(A, 'mgr'))
    expect(filled.map((f) => f.join())).toEqual(['', '', '', '', 'pair', ''])
  })

  it("a success clears the pair's count", () => {
    const limiter = new LoginLimiter(LOGIN_POLICY, () => 0)
    for (let i = 0; i < 4; i++) limiter.fail(A, 'mgr')
    limiter.succeed(A, 'mgr')
    limiter.fail(A, 'mgr')
    expect(limiter.retryAfter(A, 'mgr')).toBe(0)
  })
})
