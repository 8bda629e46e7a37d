import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { buildHub } from '../../helpers/hub.ts'
import { DASHBOARD_ESTATE } from '../../helpers/session.ts'

/** The policy as a browser reads it: directive → sources. */
function policyOf(res: Response): Map<string, string[]> {
  const header = res.headers.get('content-security-policy')
  expect(header, 'Content-Security-Policy').toBeTruthy()
  return new Map(
    header!.split(';').map((d) => {
      const [name, ...sources] = d.trim().split(/\s+/)
      return [name!, sources]
    }),
  )
}

/** `framing`: 'none' everywhere, except the report, which the dashboard shows in a frame of its own. */
function expectHardened(res: Response, framing: 'none' | 'self' = 'none'): Map<string, string[]> {
  const csp = policyOf(res)
  expect(csp.get('script-src')).toEqual(["'self'"])
  expect(csp.get('default-src')).toEqual(["'self'"])
  expect(csp.get('frame-ancestors')).toEqual([`'${framing}'`])
  expect(csp.get('object-src')).toEqual(["'none'"])
  expect(csp.get('style-src')).not.toContain("'unsafe-inline'")
  expect(res.headers.get('x-frame-options')).toBe(framing === 'none' ? 'DENY' : 'SAMEORIGIN')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  // Plain HTTP: no HSTS [RFC 6797 §7.2].
  expect(res.headers.get('strict-transport-security')).toBeNull()
  return csp
}

describe('HTTP security headers', () => {
  it('the dashboard page carries a strict policy and has no inline script for it to block', async () => {
    const t = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const res = await fetch(`${t.httpUrl}/`)
    expect(res.status).toBe(200)
    expectHardened(res)
    const html = await res.text()
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\ssrc=/)
    expect(html).not.toMatch(/\son[a-z]+=/i)
    expect(html).not.toMatch(/<style\b/)
  })

  it('an API answer, a refusal and a 404 carry the same headers', async () => {
    const t = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const ok = await t.api('/api/sites')
    expect(ok.status).toBe(200)
    expectHardened(ok)
    const refused = await fetch(`${t.httpUrl}/api/sites`)
    expect(refused.status).toBe(401)
    expectHardened(refused)
    expectHardened(await fetch(`${t.httpUrl}/api/no-such-route`))
  })

  it('the HTML report allows exactly its own stylesheet, carries no script, and only the hub may frame it', async () => {
    const t = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const res = await t.api('/api/reports?scope=e1&period=week&format=html')
    expect(res.status).toBe(200)
    const csp = expectHardened(res, 'self')
    const html = await res.text()
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!)
    expect(styles).toHaveLength(1)
    const hash = `'sha256-${createHash('sha256').update(styles[0]!).digest('base64')}'`
    expect(csp.get('style-src')).toContain(hash)
    expect(html).not.toMatch(/<script\b/i)
    expect(html).not.toMatch(/\sstyle=/i)
  })
})
