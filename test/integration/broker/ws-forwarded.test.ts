import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { TrustProxy } from '../../../src/config/env.ts'
import { buildHub, secretOf, type TestHub } from '../../helpers/hub.ts'
import { DASHBOARD_ESTATE, USERS } from '../../helpers/session.ts'

/**
 * MQTT over WebSocket (/mqtt) behind a reverse proxy: the socket's peer is the proxy for every
 * client, so the per-address caps, the device login throttle and the login audit must key on the
 * client the proxy forwarded for (X-Forwarded-For), believed from trusted proxies only — as the HTTP
 * side does. The test plays the proxy: it connects from 127.0.0.1 and sets the header itself.
 */

const CLIENT_A = '203.0.113.7'
const CLIENT_B = '203.0.113.8'
/** Loopback is not exempt here, so the caps apply to the (forwarded or not) loopback address too. */
const LIMITS = { maxConnectionsPerAddress: 2, exempt: [] }

async function proxiedHub(trustProxy: TrustProxy): Promise<TestHub> {
  return buildHub({
    estateFile: DASHBOARD_ESTATE,
    config: {
      http: { host: '127.0.0.1', port: 0, trustProxy },
      mqtt: { host: '127.0.0.1', port: 0, limits: LIMITS },
    },
  })
}

type Outcome = 'connected' | 'closed' | number

/** One MQTT connection over ws://…/mqtt carrying X-Forwarded-For; what the hub answered. */
function overWs(
  t: TestHub,
  forwardedFor: string,
  username: string,
  password: string,
  keep: mqtt.MqttClient[] = [],
): Promise<Outcome> {
  const client = mqtt.connect(`ws://127.0.0.1:${t.hub.httpPort}/mqtt`, {
    username,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    wsOptions: { headers: { 'x-forwarded-for': forwardedFor } },
  })
  return new Promise((resolve) => {
    client.on('error', (err: Error & { code?: number }) => {
      if (typeof err.code === 'number') resolve(err.code)
    })
    client.once('connect', () => {
      keep.push(client)
      resolve('connected')
    })
    client.once('close', () => resolve('closed'))
  })
}

async function auditSources(t: TestHub, user: string): Promise<(string | null)[]> {
  const res = await t.api(`/api/audit/logins?user=${user}`)
  expect(res.status).toBe(200)
  const body = (await res.json()) as { items: { source: string | null; channel: string }[] }
  return body.items.filter((i) => i.channel === 'mqtt').map((i) => i.source)
}

async function endAll(clients: mqtt.MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true)))
}

describe('MQTT over WebSocket behind a trusted proxy', () => {
  it('audits a user: login under the forwarded client address', async () => {
    const t = await proxiedHub(['127.0.0.1'])
    const held: mqtt.MqttClient[] = []
    expect(await overWs(t, CLIENT_A, 'user:mgr_e1', USERS.mgr_e1, held)).toBe('connected')
    expect(await overWs(t, CLIENT_A, 'user:mgr_e1', 'wrong-password')).toBe(4)
    expect(await auditSources(t, 'mgr_e1')).toEqual([CLIENT_A, CLIENT_A])
    await endAll(held)
  })

  it('caps connections per forwarded client, not per proxy', async () => {
    const t = await proxiedHub(['127.0.0.1'])
    const held: mqtt.MqttClient[] = []
    expect(await overWs(t, CLIENT_A, 'lift1', secretOf('lift1'), held)).toBe('connected')
    expect(await overWs(t, CLIENT_A, 'lift2', secretOf('lift2'), held)).toBe('connected')
    // A's third is over its cap; B, behind the same proxy, is another client with its own.
    expect(await overWs(t, CLIENT_A, 'fp1', secretOf('fp1'))).toBe('closed')
    expect(await overWs(t, CLIENT_B, 'fp1', secretOf('fp1'), held)).toBe('connected')
    expect(await overWs(t, CLIENT_B, 'mh1', secretOf('mh1'), held)).toBe('connected')
    await endAll(held)
  })

  it("throttles device secret guessing at the guesser's forwarded address, not at every client of the proxy", async () => {
    const t = await proxiedHub(['127.0.0.1'])
    // 100 failures (the per-address limit) from A, each against another id, so no id reaches its own.
    for (let i = 0; i < 100; i++) expect(await overWs(t, CLIENT_A, `ghost${i}`, `guess-${i}`)).toBe(4)
    // A is held now, even with a right secret the hub has not seen yet …
    expect(await overWs(t, CLIENT_A, 'pb1', secretOf('pb1'))).toBe(5)
    // … and B, behind the same proxy, is not.
    const held: mqtt.MqttClient[] = []
    expect(await overWs(t, CLIENT_B, 'pb1', secretOf('pb1'), held)).toBe('connected')
    await endAll(held)
  })
})

describe('MQTT over WebSocket without a trusted proxy', () => {
  it('ignores a forged X-Forwarded-For: the audit and the caps see the socket peer', async () => {
    const t = await proxiedHub(false)
    const held: mqtt.MqttClient[] = []
    expect(await overWs(t, CLIENT_A, 'user:mgr_e1', USERS.mgr_e1, held)).toBe('connected')
    expect(await auditSources(t, 'mgr_e1')).toEqual(['127.0.0.1'])
    // Each connection claims another client, yet all come from 127.0.0.1: the cap of 2 holds.
    expect(await overWs(t, CLIENT_B, 'lift1', secretOf('lift1'), held)).toBe('connected')
    expect(await overWs(t, '198.51.100.1', 'lift2', secretOf('lift2'))).toBe('closed')
    await endAll(held)
  })
})
