import mqtt from 'mqtt'
import { expect, it } from 'vitest'
import { buildHub, type TestHub } from '../../helpers/hub.ts'

/**
 * /metrics is open to anyone who reaches the HTTP port, so what it counts must not tell an attacker
 * which device ids exist: a wrong secret for a real id and any secret for an unknown id leave the
 * same lines behind (the CONNACK and the decoy hash already make them alike on the wire).
 */

function refusedConnect(t: TestHub, username: string, password: string): Promise<number | undefined> {
  const client = mqtt.connect(t.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0 })
  return new Promise((resolve) => {
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true)
      resolve(err.code)
    })
    client.once('connect', () => {
      client.end(true)
      resolve(0)
    })
  })
}

async function refusedLines(t: TestHub): Promise<string[]> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text() // no credentials, as an attacker
  return text.split('\n').filter((line) => line.startsWith('zhian_mqtt_connect_refused_total'))
}

it('shows a wrong secret for a real device and an unknown device id as identical /metrics lines', async () => {
  const real = await buildHub()
  const unknown = await buildHub()
  expect(await refusedConnect(real, 'lift1', 'not-the-secret-at-all')).toBe(4)
  expect(await refusedConnect(unknown, 'no_such_device', 'not-the-secret-at-all')).toBe(4)
  const lines = await refusedLines(real)
  expect(lines).toEqual(['zhian_mqtt_connect_refused_total{reason="bad_credentials"} 1'])
  expect(await refusedLines(unknown)).toEqual(lines)
})
