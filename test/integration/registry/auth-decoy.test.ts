import mqtt from 'mqtt'
import { beforeEach, describe, expect, it } from 'vitest'
import { KDF_CHANNEL } from '../../../src/util/secrets.ts'
import { buildHub } from '../../helpers/hub.ts'

/**
 * Constant-time policy for device logins: an unknown id must cost the same hash work as a known id
 * with a wrong secret. No timing assertion (that belongs in the benchmark): the hub announces each
 * scrypt run it starts (salt and parameters) on a diagnostics channel, which records which work each
 * refusal did.
 */
const calls: { salt: string; N: number; r: number; p: number }[] = []
KDF_CHANNEL.subscribe((run) => calls.push(run as (typeof calls)[number]))

async function connack(url: string, username: string, password: string): Promise<number> {
  const client = mqtt.connect(url, { username, password, protocolVersion: 4, reconnectPeriod: 0 })
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

const saltOf = (hash: string) => hash.split('$')[4]

beforeEach(() => {
  calls.length = 0
})

describe('an unknown device id costs what a wrong secret costs', () => {
  it('runs the same scrypt, with the same parameters, against a real device hash', async () => {
    const t = await buildHub()
    const stored = new Set(
      (t.hub.db.prepare('SELECT secret_hash FROM devices').all() as { secret_hash: string }[]).map((r) =>
        saltOf(r.secret_hash),
      ),
    )
    calls.length = 0
    expect(await connack(t.mqttUrl, 'lift1', 'not-the-secret-at-all')).toBe(4)
    const wrongSecret = calls.splice(0)
    expect(await connack(t.mqttUrl, 'no_such_device', 'whatever-secret-1')).toBe(4)
    const unknownId = calls.splice(0)
    expect(wrongSecret).toHaveLength(1)
    expect(unknownId).toHaveLength(1)
    expect({ ...unknownId[0], salt: undefined }).toEqual({ ...wrongSecret[0], salt: undefined })
    expect(wrongSecret[0]!.N).toBe(4096)
    expect(stored.has(unknownId[0]!.salt)).toBe(true)
  })

  it('follows the kind most devices have: hub-generated secrets (sha256) mean no scrypt for unknown ids either', async () => {
    const t = await buildHub()
    for (let i = 0; i < 10; i++) await t.hub.registry.add({ id: `gen${i}`, kind: 'manhole', estate: 'e1' })
    expect(await t.hub.registry.decoyHash()).toMatch(/^sha256\$/)
    calls.length = 0
    expect(await t.hub.registry.authenticate('no_such_device', 'whatever-secret-1')).toBe('unknown_device')
    expect(calls).toEqual([])
    expect(await t.hub.registry.authenticate('gen0', 'whatever-secret-1')).toBe('bad_secret')
    expect(calls).toEqual([])
  })

  it('with no devices at all, checks a typed-secret cost hash', async () => {
    const t = await buildHub({ estateFile: undefined })
    expect(t.hub.registry.list()).toEqual([])
    calls.length = 0
    expect(await t.hub.registry.authenticate('anything', 'whatever-secret-1')).toBe('unknown_device')
    expect(calls.map((c) => c.N)).toContain(4096)
  })
})
