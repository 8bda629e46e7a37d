import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { configFromEnv } from '../../../src/config/env.ts'
import { buildHub, secretOf, tempDir } from '../../helpers/hub.ts'
import { connected, DASHBOARD_ESTATE, socketOf, USERS } from '../../helpers/session.ts'
import { loginFrom } from './client.ts'

/** A self-signed certificate for localhost, as an operator's own CA would issue one. */
function makeCert(): { cert: string; key: string; ca: Buffer } {
  const dir = tempDir('zhian-https-')
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
      ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  )
  return { cert, key, ca: fs.readFileSync(cert) }
}

const PROXIED = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' }

describe('the dashboard over HTTPS', () => {
  it('gives a Secure cookie and HSTS, and socket.io and MQTT over WebSocket work over TLS', async () => {
    const { cert, key, ca } = makeCert()
    const t = await buildHub({
      estateFile: DASHBOARD_ESTATE,
      config: { http: { host: '127.0.0.1', port: 0, tls: { cert, key } } },
    })
    const base = `https://localhost:${t.hub.httpPort}`
    const res = await loginFrom(base, 'mgr_e1', USERS.mgr_e1, { ca })
    expect(res.status).toBe(200)
    expect(String(res.headers['set-cookie'])).toMatch(/; Secure$/)
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000')
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(t.hub.linkBase()).toMatch(/^https:/)

    const token = (JSON.parse(res.body) as { token: string }).token
    const socket = await connected(socketOf(base, { token }, { ca: ca.toString() }))
    expect(socket.connected).toBe(true)

    const device = await mqtt.connectAsync(`wss://localhost:${t.hub.httpPort}/mqtt`, {
      username: 'fp1',
      password: secretOf('fp1'),
      protocolVersion: 4,
      reconnectPeriod: 0,
      ca,
    })
    expect(device.connected).toBe(true)
    await device.endAsync(true)
  })

  it('refuses plain HTTP on the HTTPS port', async () => {
    const { cert, key } = makeCert()
    const t = await buildHub({ config: { http: { host: '127.0.0.1', port: 0, tls: { cert, key } } } })
    const plain = await fetch(`http://127.0.0.1:${t.hub.httpPort}/healthz`).catch((e: Error) => e)
    expect(plain).toBeInstanceOf(Error)
  })
})

describe('behind a reverse proxy', () => {
  it('with the proxy trusted, a forwarded https request gets a Secure cookie and HSTS, and the throttle keys on the forwarded address', async () => {
    const t = await buildHub({
      estateFile: DASHBOARD_ESTATE,
      config: { http: { host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.1'] } },
    })
    const res = await loginFrom(t.httpUrl, 'mgr_e1', USERS.mgr_e1, { headers: PROXIED })
    expect(res.status).toBe(200)
    expect(String(res.headers['set-cookie'])).toMatch(/; Secure$/)
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000')

    // Five guesses relayed for 203.0.113.66 hold that address; the proxy's other clients go on.
    const guesser = { ...PROXIED, 'x-forwarded-for': '203.0.113.66' }
    for (let i = 0; i < 5; i++)
      expect((await loginFrom(t.httpUrl, 'mgr_e2', `guess-${i}`, { headers: guesser })).status).toBe(401)
    expect((await loginFrom(t.httpUrl, 'mgr_e2', USERS.mgr_e2, { headers: guesser })).status).toBe(429)
    expect((await loginFrom(t.httpUrl, 'mgr_e2', USERS.mgr_e2, { headers: PROXIED })).status).toBe(200)
    const audit = (await (await t.api('/api/audit/logins?user=mgr_e2')).json()) as {
      items: { source: string; outcome: string }[]
    }
    expect(new Set(audit.items.map((r) => r.source))).toEqual(new Set(['203.0.113.66', '203.0.113.9']))
  })

  it('without a trusted proxy, a forged X-Forwarded-Proto makes neither the cookie Secure nor HSTS', async () => {
    const t = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const res = await loginFrom(t.httpUrl, 'mgr_e1', USERS.mgr_e1, { headers: PROXIED })
    expect(res.status).toBe(200)
    expect(String(res.headers['set-cookie'])).not.toMatch(/Secure/)
    expect(res.headers['strict-transport-security']).toBeUndefined()
    const audit = (await (await t.api('/api/audit/logins?user=mgr_e1')).json()) as {
      items: { source: string }[]
    }
    expect(audit.items[0]!.source).toBe('127.0.0.1')
  })

  it('reads ZHIAN_TRUST_PROXY and ZHIAN_HTTPS_CERT/KEY, refusing what it cannot use with a coded error', () => {
    const http = (env: Record<string, string>) => configFromEnv(env).http
    expect(http({}).trustProxy).toBe(false)
    expect(http({ ZHIAN_TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    expect(http({ ZHIAN_TRUST_PROXY: '2' }).trustProxy).toBe(2)
    expect(http({ ZHIAN_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,loopback,::1' }).trustProxy).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      'loopback',
      '::1',
    ])
    for (const bad of ['yes', '10.0.0.0/33', 'proxy.example.cn'])
      expect(() => http({ ZHIAN_TRUST_PROXY: bad }), bad).toThrow(/ZHIAN_TRUST_PROXY/)
    expect(http({ ZHIAN_HTTPS_CERT: '/c.pem', ZHIAN_HTTPS_KEY: '/k.pem' }).tls).toEqual({
      cert: '/c.pem',
      key: '/k.pem',
    })
    expect(() => http({ ZHIAN_HTTPS_CERT: '/c.pem' })).toThrow(
      expect.objectContaining({ code: 'ZHIAN_ERR_ENV_INVALID' }),
    )
  })
})
