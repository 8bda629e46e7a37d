import { describe, expect, it } from 'vitest'
import { LoginLimiter } from '../../../src/auth/login-limiter.ts'
import { crewSees, inScope } from '../../../src/auth/scope.ts'
import { cell } from '../../../src/http/routes/export.ts'

describe('login throttle', () => {
  it('blocks a username after 5 failures for the rest of the window, then lets it try again', () => {
    let now = 1_000_000
    const limiter = new LoginLimiter(5, 300_000, () => now)
    for (let i = 0; i < 5; i++) {
      expect(limiter.retryAfter('10.0.0.1', 'mgr')).toBe(0)
      limiter.fail('10.0.0.1', 'mgr')
    }
    expect(limiter.retryAfter('10.0.0.2', 'mgr')).toBe(300)
    now += 120_000
    expect(limiter.retryAfter('10.0.0.2', 'mgr')).toBe(180)
    now += 180_001
    expect(limiter.retryAfter('10.0.0.2', 'mgr')).toBe(0)
  })

  it('blocks an address guessing across many usernames after 20 failures', () => {
    const limiter = new LoginLimiter(5, 300_000, () => 0)
    for (let i = 0; i < 20; i++) limiter.fail('10.0.0.9', `user${i}`)
    expect(limiter.retryAfter('10.0.0.9', 'someone-new')).toBeGreaterThan(0)
    expect(limiter.retryAfter('10.0.0.8', 'someone-new')).toBe(0)
  })

  it('a success clears the username count', () => {
    const limiter = new LoginLimiter(5, 300_000, () => 0)
    for (let i = 0; i < 4; i++) limiter.fail('10.0.0.1', 'mgr')
    limiter.succeed('mgr')
    limiter.fail('10.0.0.1', 'mgr')
    expect(limiter.retryAfter('10.0.0.3', 'mgr')).toBe(0)
  })
})

describe('scope', () => {
  const alert = {
    street: 's1',
    community: 'c1',
    estate: 'e1',
    building: 'e1_b1',
    crew: 'duty',
    assigned_team: null,
  }
  it('holds a thing when the scope is any of its levels, or unscoped', () => {
    expect(inScope({ scope: null }, alert)).toBe(true)
    for (const s of ['s1', 'c1', 'e1', 'e1_b1']) expect(inScope({ scope: s }, alert)).toBe(true)
    expect(inScope({ scope: 'e2' }, alert)).toBe(false)
    expect(inScope({ scope: 'e1' }, { street: null, community: null, estate: null, building: null })).toBe(
      false,
    )
  })
  it('a crew sees its team’s work in its scope, following reassignment', () => {
    expect(crewSees({ scope: 'e1', team: 'duty' }, alert)).toBe(true)
    expect(crewSees({ scope: 'e1', team: 'lifts' }, alert)).toBe(false)
    expect(crewSees({ scope: 'e2', team: 'duty' }, alert)).toBe(false)
    expect(crewSees({ scope: 'e1', team: 'lifts' }, { ...alert, assigned_team: 'lifts' })).toBe(true)
    expect(crewSees({ scope: 'e1', team: null }, alert)).toBe(false)
  })
})

describe('CSV cells', () => {
  it('quotes separators and defuses spreadsheet formulas', () => {
    expect(cell('井盖开启')).toBe('井盖开启')
    expect(cell('a,b')).toBe('"a,b"')
    expect(cell('say "hi"')).toBe('"say ""hi"""')
    expect(cell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`)
    expect(cell('-1')).toBe("'-1")
    expect(cell(null)).toBe('')
    expect(cell(3)).toBe('3')
  })
})
