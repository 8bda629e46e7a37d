import fs from 'node:fs'
import path from 'node:path'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { buildHub, type TestHub } from '../../helpers/hub.ts'
import { as, DASHBOARD_ESTATE, tokenOf } from '../../helpers/session.ts'
import { loginFrom } from './client.ts'

const ATTACKER = '127.0.0.2'
const OFFICE = '127.0.0.3'
const WUYE_PASSWORD = 'wuye-duty-password'

async function withWuye(): Promise<TestHub> {
  const t = await buildHub({ estateFile: DASHBOARD_ESTATE })
  await t.hub.auth.users.add({ username: 'wuye', password: WUYE_PASSWORD, role: 'manager', scope: 'e1' })
  return t
}

interface AuditItem {
  at: string
  user: string
  source: string | null
  channel: string
  outcome: string
  detail: string | null
}

async function auditOf(t: TestHub, query = ''): Promise<{ total: number; items: AuditItem[] }> {
  const res = await t.api(`/api/audit/logins${query}`)
  expect(res.status).toBe(200)
  return (await res.json()) as { total: number; items: AuditItem[] }
}

function mqttLogin(t: TestHub, username: string, password: string): Promise<string | number | undefined> {
  return mqtt
    .connectAsync(t.mqttUrl, {
      username: `user:${username}`,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
    })
    .then(
      async (c) => {
        await c.endAsync(true)
        return 'connected'
      },
      (err: Error & { code?: number }) => err.code,
    )
}

describe('lockout that cannot be turned against the victim', () => {
  it('an attacker guessing wuye from one address is held there, while wuye logs in from the office', async () => {
    const t = await withWuye()
    const answers = []
    for (let i = 0; i < 10; i++)
      answers.push((await loginFrom(t.httpUrl, 'wuye', `guess-${i}`, { localAddress: ATTACKER })).status)
    expect(answers).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429])
    // Even the right password waits at the attacker's address …
    const atAttacker = await loginFrom(t.httpUrl, 'wuye', WUYE_PASSWORD, { localAddress: ATTACKER })
    expect(atAttacker.status).toBe(429)
    expect(Number(atAttacker.headers['retry-after'])).toBeGreaterThan(0)
    // … and the duty manager at the office is let in, over HTTP and MQTT alike.
    expect((await loginFrom(t.httpUrl, 'wuye', WUYE_PASSWORD, { localAddress: OFFICE })).status).toBe(200)
    expect(await mqttLogin(t, 'wuye', WUYE_PASSWORD)).toBe('connected')
  })

  it('a forged X-Forwarded-For does not move a guess to another address without a trusted proxy', async () => {
    const t = await withWuye()
    for (let i = 0; i < 5; i++) {
      const res = await loginFrom(t.httpUrl, 'wuye', `guess-${i}`, {
        localAddress: ATTACKER,
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      })
      expect(res.status).toBe(401)
    }
    const sixth = await loginFrom(t.httpUrl, 'wuye', 'guess-6', {
      localAddress: ATTACKER,
      headers: { 'x-forwarded-for': '198.51.100.77' },
    })
    expect(sixth.status).toBe(429)
    const rows = (await auditOf(t, '?user=wuye')).items
    expect(new Set(rows.map((r) => r.source))).toEqual(new Set([ATTACKER]))
  })
})

describe('login audit', () => {
  it('records HTTP and MQTT logins, failures, the lockout and a password change, never the password', async () => {
    const t = await withWuye()
    expect((await loginFrom(t.httpUrl, 'wuye', WUYE_PASSWORD, { localAddress: OFFICE })).status).toBe(200)
    expect(await mqttLogin(t, 'wuye', 'wrong-mqtt-password')).toBe(4)
    expect(await mqttLogin(t, 'wuye', WUYE_PASSWORD)).toBe('connected')
    for (let i = 0; i < 5; i++)
      await loginFrom(t.httpUrl, 'wuye', `secret-guess-${i}`, { localAddress: ATTACKER })
    await t.hub.auth.users.setPassword('wuye', 'a-new-duty-password')

    const { total, items } = await auditOf(t, '?user=wuye')
    expect(total).toBe(10)
    const seen = items
      .reverse()
      .map((r) => [r.channel, r.outcome, r.source === null ? null : r.source.replace(/^::ffff:/, '')])
    expect(seen).toEqual([
      ['http', 'success', OFFICE],
      ['mqtt', 'failure', '127.0.0.1'],
      ['mqtt', 'success', '127.0.0.1'],
      ['http', 'failure', ATTACKER],
      ['http', 'failure', ATTACKER],
      ['http', 'failure', ATTACKER],
      ['http', 'failure', ATTACKER],
      ['http', 'failure', ATTACKER],
      ['http', 'locked', ATTACKER],
      ['cli', 'password_changed', null],
    ])
    expect(items.find((r) => r.outcome === 'locked')!.detail).toMatch(/^pair, \d+ s$/)
    for (const r of items) expect(Date.parse(r.at)).toBeGreaterThan(Date.now() - 60_000)

    const dump = JSON.stringify(t.hub.db.prepare('SELECT * FROM login_audit').all())
    for (const secret of [WUYE_PASSWORD, 'wrong-mqtt-password', 'secret-guess', 'a-new-duty-password'])
      expect(dump).not.toContain(secret)
  })

  it('records an unknown username as typed, and filters by user and time with paging', async () => {
    const t = await withWuye()
    await loginFrom(t.httpUrl, 'nobody-here', 'whatever-password')
    const before = Date.now()
    await tokenOf(t.httpUrl, 'mgr_e1')
    await tokenOf(t.httpUrl, 'mgr_e2')
    await tokenOf(t.httpUrl, 'mgr_e1')
    expect((await auditOf(t, '?user=nobody-here')).items).toMatchObject([
      { user: 'nobody-here', outcome: 'failure', channel: 'http' },
    ])
    const since = await auditOf(t, `?since=${before}`)
    expect(since.items.map((r) => r.user)).toEqual(['mgr_e1', 'mgr_e2', 'mgr_e1'])
    const page = await auditOf(t, `?since=${new Date(before).toISOString()}&limit=2&offset=1`)
    expect(page.total).toBe(3)
    expect(page.items.map((r) => r.user)).toEqual(['mgr_e2', 'mgr_e1'])
    const bad = await t.api('/api/audit/logins?since=yesterday')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ code: 'ZHIAN_ERR_VALIDATION' })
  })

  it('shows the audit to admins of the whole tree only', async () => {
    const t = await withWuye()
    for (const user of ['mgr_e1', 'viewer_e1', 'street_admin'] as const) {
      const res = await as(t.httpUrl, await tokenOf(t.httpUrl, user))('/api/audit/logins')
      expect(res.status, user).toBe(403)
    }
    expect((await fetch(`${t.httpUrl}/api/audit/logins`)).status).toBe(401)
    await t.hub.auth.users.add({ username: 'root2', password: 'root2-password', role: 'admin', scope: null })
    const admin = await loginFrom(t.httpUrl, 'root2', 'root2-password')
    const token = (JSON.parse(admin.body) as { token: string }).token
    expect((await as(t.httpUrl, token)('/api/audit/logins')).status).toBe(200)
  })

  it('audits a password changed in the estate file', async () => {
    const first = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const dataDir = first.dataDir
    await first.close()
    const changed = path.join(dataDir, 'estate.yaml')
    fs.writeFileSync(
      changed,
      fs.readFileSync(DASHBOARD_ESTATE, 'utf8').replace('mgr-e1-password', 'mgr-e1-new-password'),
    )
    const second = await buildHub({ estateFile: changed, dataDir })
    expect((await auditOf(second, '?user=mgr_e1')).items).toMatchObject([
      { user: 'mgr_e1', channel: 'config', outcome: 'password_changed', source: null },
    ])
  })
})
