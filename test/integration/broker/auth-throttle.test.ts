import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, secretOf, type TestHub } from '../../helpers/hub.ts'

/**
 * Guessing device secrets: each wrong guess costs a KDF (scrypt) on libuv's small thread pool, which
 * the dashboard login's own password check shares. Failed device logins are throttled per device id
 * and per source address (refused with CONNACK 5 without hashing) and secret checks are capped, so the
 * dashboard login stays responsive under a flood; a device whose secret the hub already verified is
 * not locked out by someone guessing against its id.
 */

const PASSWORD = 'correct-horse-42'

/** CONNACK return code of one attempt (0 = accepted; the connection is then closed). */
function connackCode(t: TestHub, username: string, password: string): Promise<number> {
  const client = mqtt.connect(t.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0 })
  return new Promise((resolve) => {
    client.once('connect', () => {
      client.end(true)
      resolve(0)
    })
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true)
      resolve(err.code ?? -1)
    })
    client.once('close', () => resolve(-1))
  })
}

/** Milliseconds of one dashboard login (right password). */
async function timedLogin(t: TestHub): Promise<number> {
  const started = performance.now()
  const res = await fetch(`${t.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'duty', password: PASSWORD }),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  return performance.now() - started
}

async function medianLogin(t: TestHub, n: number): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < n; i++) times.push(await timedLogin(t))
  times.sort((a, b) => a - b)
  return times[Math.floor(n / 2)]!
}

/** `workers` parallel loops of wrong-secret CONNECTs (known and unknown ids) until stopped. */
function flood(t: TestHub, workers: number): { stop: () => Promise<void>; codes: Map<number, number> } {
  const codes = new Map<number, number>()
  let running = true
  const ids = ['lift1', 'lift2', 'mh1', 'no_such_device', 'guess_me']
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; running; i++) {
      const code = await connackCode(t, ids[(w + i) % ids.length]!, `wrong-secret-${w}-${i}`)
      codes.set(code, (codes.get(code) ?? 0) + 1)
    }
  })
  return {
    codes,
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

async function refused(t: TestHub, reason: string): Promise<number> {
  const { values } = await t.hub.metrics.connectRefused.get()
  return values.find((v) => v.labels.reason === reason)?.value ?? 0
}

describe('device authentication throttle', () => {
  it('keeps the dashboard login within 5x of its unloaded latency under a flood of wrong device secrets', {
    timeout: 120_000,
  }, async () => {
    const t = await buildHub()
    await t.hub.auth.users.add({ username: 'duty', password: PASSWORD, role: 'manager', scope: null })
    await timedLogin(t) // warm-up: JIT, first scrypt, session table
    const unloaded = await medianLogin(t, 7)

    const attack = flood(t, 64)
    // Let the flood reach its steady state before measuring.
    while ([...attack.codes.values()].reduce((a, b) => a + b, 0) < 300)
      await new Promise((r) => setTimeout(r, 50))
    const loaded = await medianLogin(t, 7)
    await attack.stop()

    const ratio = loaded / unloaded
    expect(
      ratio,
      `login ${loaded.toFixed(0)} ms under flood vs ${unloaded.toFixed(0)} ms unloaded`,
    ).toBeLessThan(5)
    // The flood was answered, mostly by the throttle (5), never accepted.
    expect(attack.codes.get(0)).toBeUndefined()
    expect(await refused(t, 'throttled')).toBeGreaterThan(0)
  })

  it('refuses with CONNACK 5 once an id has failed too often, even with the right secret — unless the hub verified that secret before', async () => {
    const t = await buildHub()
    // lift2 has connected before: its secret is known good.
    await (await connectDevice(t.mqttUrl, 'lift2')).endAsync()
    const codes: number[] = []
    for (let i = 0; i < 12; i++) codes.push(await connackCode(t, 'lift1', `wrong-secret-${i}`))
    expect(codes.slice(0, 10)).toEqual(Array(10).fill(4))
    expect(codes.slice(10)).toEqual([5, 5])
    // lift1's real secret was never verified since the hub started: it waits out the window too.
    expect(await connackCode(t, 'lift1', secretOf('lift1'))).toBe(5)

    // Guessing against lift2 cannot lock lift2 out.
    for (let i = 0; i < 12; i++) await connackCode(t, 'lift2', `wrong-secret-${i}`)
    expect(await connackCode(t, 'lift2', 'still-wrong-secret')).toBe(5)
    expect(await connackCode(t, 'lift2', secretOf('lift2'))).toBe(0)
  })
})
