import { describe, expect, it } from 'vitest'
import { ClientIdClaims } from '../../../src/broker/client-ids.ts'

describe('ClientIdClaims', () => {
  it('holds an id for its owner while a connection is open, then frees a clean one', () => {
    const ids = new ClientIdClaims()
    expect(ids.claim('c1', 'lift1', true)).toBe(true)
    expect(ids.claim('c1', 'e2_lift1', true)).toBe(false)
    expect(ids.claim('c1', 'lift1', true)).toBe(true) // its own takeover
    ids.release('c1')
    expect(ids.claim('c1', 'user:view_e2', true)).toBe(false) // the second connection is still open
    ids.release('c1')
    expect(ids.ownerOf('c1')).toBeUndefined()
    expect(ids.claim('c1', 'user:view_e2', true)).toBe(true)
  })

  it('keeps a persistent session for its owner after the connection closes, until a clean connection ends it', () => {
    const ids = new ClientIdClaims()
    ids.claim('s1', 'mh1', false)
    ids.release('s1')
    expect(ids.claim('s1', 'e2_lift1', false)).toBe(false)
    expect(ids.claim('s1', 'mh1', true)).toBe(true) // clean: the session ends with this connection
    ids.release('s1')
    expect(ids.claim('s1', 'e2_lift1', true)).toBe(true)
  })
})
