import { describe, expect, it } from 'vitest'
import { crewSees, inScope } from '../../../src/auth/scope.ts'

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
