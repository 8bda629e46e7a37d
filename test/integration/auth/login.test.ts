import { describe, expect, it } from 'vitest'
import { buildHub } from '../../helpers/hub.ts'
import { as, DASHBOARD_ESTATE, login, tokenOf, USERS } from '../../helpers/session.ts'

describe('login, sessions and the API token', () => {
  it('logs in with a password and returns a bearer token plus an httpOnly session cookie, both accepted', async () => {
    const { httpUrl } = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const res = await login(httpUrl, 'mgr_e1', USERS.mgr_e1)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { token: string; user: { role: string; scope: string } }
    expect(body.user).toMatchObject({ username: 'mgr_e1', role: 'manager', scope: 'e1' })
    const cookie = res.headers.get('set-cookie')!
    expect(cookie).toMatch(/^zhian_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/)
    expect(res.headers.get('cache-control')).toBe('no-store')

    const viaBearer = await as(httpUrl, body.token)('/api/auth/me')
    expect(await viaBearer.json()).toMatchObject({ username: 'mgr_e1', scope: 'e1' })
    const viaCookie = await fetch(`${httpUrl}/api/auth/me`, { headers: { cookie: cookie.split(';')[0]! } })
    expect(await viaCookie.json()).toMatchObject({ username: 'mgr_e1', role: 'manager' })
  })

  it('refuses requests without credentials, with a forged token, with an expired session and after logout', async () => {
    const { hub, httpUrl } = await buildHub({ estateFile: DASHBOARD_ESTATE })
    expect((await fetch(`${httpUrl}/api/live`)).status).toBe(401)
    const forged = await as(httpUrl, 'x'.repeat(43))('/api/live')
    expect(forged.status).toBe(401)
    expect(await forged.json()).toMatchObject({ code: 'ZHIAN_ERR_UNAUTHORIZED' })

    const expiring = await tokenOf(httpUrl, 'viewer_e1')
    expect((await as(httpUrl, expiring)('/api/live')).status).toBe(200)
    // A week passes: the stored session's expiry is now in the past.
    hub.db.prepare('UPDATE sessions SET expires_at = ? WHERE username = ?').run(Date.now() - 1, 'viewer_e1')
    expect((await as(httpUrl, expiring)('/api/live')).status).toBe(401)

    const token = await tokenOf(httpUrl, 'mgr_e1')
    const out = await as(httpUrl, token)('/api/auth/logout', { method: 'POST' })
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/)
    expect((await as(httpUrl, token)('/api/live')).status).toBe(401)
  })

  it('stores sessions hashed: the database holds no usable token', async () => {
    const { hub, httpUrl } = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const token = await tokenOf(httpUrl, 'mgr_e1')
    const rows = hub.db.prepare('SELECT token_sha256 FROM sessions').all() as { token_sha256: string }[]
    expect(rows).toHaveLength(1)
    expect(rows[0]!.token_sha256).not.toContain(token)
    expect((await as(httpUrl, rows[0]!.token_sha256)('/api/auth/me')).status).toBe(401)
  })

  it('keeps the admin API token working as an unscoped admin', async () => {
    const { api } = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const me = await api('/api/auth/me')
    expect(await me.json()).toEqual({
      username: 'api-token',
      role: 'admin',
      scope: null,
      team: null,
      // Everything an admin may do, so the dashboard shows every action.
      may: [
        'read',
        'act_on_alerts',
        'silence',
        'open_work_orders',
        'work_on_orders',
        'cancel_work_orders',
        'read_reports',
        'read_routing',
      ],
    })
    const live = (await (await api('/api/live')).json()) as { sites: { id: string }[] }
    expect(live.sites.map((s) => s.id).sort()).toEqual(['c1', 'e1', 'e1_b1', 'e1_b2', 'e2', 's1'])
  })

  it('rate-limits failed logins per user: after 5 failures even the right password waits', async () => {
    const { httpUrl } = await buildHub({ estateFile: DASHBOARD_ESTATE })
    for (let i = 0; i < 5; i++) {
      const res = await login(httpUrl, 'mgr_e2', 'wrong-password')
      expect(res.status).toBe(401)
    }
    const blocked = await login(httpUrl, 'mgr_e2', USERS.mgr_e2)
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another user from elsewhere is not affected by mgr_e2's lock.
    expect((await login(httpUrl, 'mgr_e1', USERS.mgr_e1)).status).toBe(200)
  })

  it('counts parallel guesses as they start: 20 at once → 5 checked, 15 throttled, then the right password waits too', async () => {
    const { httpUrl } = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await login(httpUrl, 'mgr_e2', 'wrong-password')
        return {
          status: res.status,
          body: (await res.json()) as { code: string },
          retry: res.headers.get('retry-after'),
        }
      }),
    )
    const checked = results.filter((r) => r.status === 401)
    const throttled = results.filter((r) => r.status === 429)
    expect(checked).toHaveLength(5)
    expect(throttled).toHaveLength(15)
    for (const r of throttled) {
      expect(r.body.code).toBe('ZHIAN_ERR_LOGIN_THROTTLED')
      expect(Number(r.retry)).toBeGreaterThan(0)
    }
    const right = await login(httpUrl, 'mgr_e2', USERS.mgr_e2)
    expect(right.status).toBe(429)
    expect(((await right.json()) as { code: string }).code).toBe('ZHIAN_ERR_LOGIN_THROTTLED')
  })

  it('refuses a cookie-authenticated write coming from another site (CSRF)', async () => {
    const { httpUrl } = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const res = await login(httpUrl, 'mgr_e1', USERS.mgr_e1)
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!
    const evil = await fetch(`${httpUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example' },
    })
    expect(evil.status).toBe(403)
    const own = await fetch(`${httpUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, origin: httpUrl },
    })
    expect(own.status).toBe(204)
  })

  it('creates an admin with a random password at first start, once', async () => {
    const first = await buildHub()
    const password = first.hub.generatedAdminPassword
    expect(password).toMatch(/^[\w-]{16}$/)
    expect((await login(first.httpUrl, 'admin', password!)).status).toBe(200)
    const dataDir = first.dataDir
    await first.close()
    const second = await buildHub({ dataDir })
    expect(second.hub.generatedAdminPassword).toBeUndefined()
    expect((await login(second.httpUrl, 'admin', password!)).status).toBe(200)
  })
})
