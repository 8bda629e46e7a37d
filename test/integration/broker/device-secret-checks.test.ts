import fs from 'node:fs'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { KDF_CHANNEL } from '../../../src/util/secrets.ts'
import { buildHub, secretOf, type TestHub } from '../../helpers/hub.ts'

/**
 * How device secrets are checked under connection churn: a secret the hub verified since it started,
 * or a hub-generated one, is answered without scrypt (and without queueing behind other devices'
 * checks); scrypt itself runs on threads at the lowest CPU priority, so a storm of new devices or
 * wrong secrets does not take CPU from the connected devices' PUBACKs. No timing here: the benchmark's
 * churn row measures the latency.
 */

/** CONNACK return code of one attempt (0 = accepted; the connection is then closed). */
function connack(t: TestHub, username: string, password: string): Promise<number> {
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
  })
}

/** Nice values of this process's threads (Linux): the hub runs in the test's process. */
function threadNiceValues(): number[] {
  return fs.readdirSync('/proc/self/task').map((tid) => {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
  })
}

describe('device secret checks', () => {
  it('admits a reconnecting device without a second scrypt, and never a wrong secret', async () => {
    const t = await buildHub()
    const runs: unknown[] = []
    const record = (run: unknown) => runs.push(run)
    KDF_CHANNEL.subscribe(record)
    try {
      expect(await connack(t, 'lift1', secretOf('lift1'))).toBe(0)
      expect(runs).toHaveLength(1)
      expect(await connack(t, 'lift1', secretOf('lift1'))).toBe(0)
      expect(runs).toHaveLength(1) // remembered: no scrypt on reconnect
      // A wrong secret is checked in full every time, however often the right one was seen.
      expect(await connack(t, 'lift1', `${secretOf('lift1')}x`)).toBe(4)
      expect(await connack(t, 'lift1', 'lift1-secret-000')).toBe(4)
      expect(runs).toHaveLength(3)
    } finally {
      KDF_CHANNEL.unsubscribe(record)
    }
  })

  it('refuses the old secret of a re-keyed device at once, though the hub had verified it', async () => {
    const t = await buildHub()
    expect(await connack(t, 'lift1', secretOf('lift1'))).toBe(0)
    const lift = t.hub.registry.get('lift1')!
    await t.hub.registry.importCsv(
      `id,kind,estate,building,name,location,secret\nlift1,${lift.kind},${lift.estate},${lift.building ?? ''},,,lift1-new-secret-0009\n`,
    )
    expect(await connack(t, 'lift1', secretOf('lift1'))).toBe(4)
    expect(await connack(t, 'lift1', 'lift1-new-secret-0009')).toBe(0)
    expect(await connack(t, 'lift1', 'lift1-new-secret-0009')).toBe(0)
    expect(await connack(t, 'lift1', secretOf('lift1'))).toBe(4)
  })

  it('checks a hub-generated secret without scrypt, right and wrong alike', async () => {
    const t = await buildHub()
    const { secret } = await t.hub.registry.add({ id: 'gen_mh', kind: 'manhole', estate: 'e1' })
    const runs: unknown[] = []
    const record = (run: unknown) => runs.push(run)
    KDF_CHANNEL.subscribe(record)
    try {
      expect(await connack(t, 'gen_mh', secret!)).toBe(0)
      expect(await connack(t, 'gen_mh', `${secret}x`)).toBe(4)
      expect(runs).toEqual([])
    } finally {
      KDF_CHANNEL.unsubscribe(record)
    }
  })

  it('runs device scrypt at the lowest CPU priority, people’s passwords at the normal one', async () => {
    const t = await buildHub()
    const runs: { priority: string }[] = []
    const record = (run: unknown) => runs.push(run as { priority: string })
    KDF_CHANNEL.subscribe(record)
    try {
      expect(await connack(t, 'mh1', `${secretOf('mh1')}x`)).toBe(4)
      expect(await connack(t, 'mh1', secretOf('mh1'))).toBe(0)
      await t.hub.auth.users.add({
        username: 'duty',
        password: 'correct-horse-42',
        role: 'manager',
        scope: null,
      })
      const login = await fetch(`${t.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'duty', password: 'correct-horse-42' }),
      })
      expect(login.status).toBe(200)
    } finally {
      KDF_CHANNEL.unsubscribe(record)
    }
    // Two device checks, then the password's hash and its check at login.
    expect(runs.map((r) => r.priority)).toEqual(['low', 'low', 'normal', 'normal'])
    // The hashing threads are reniced to 19: the kernel runs the event loop and the pool's file I/O first.
    expect(threadNiceValues()).toContain(19)
  })
})
