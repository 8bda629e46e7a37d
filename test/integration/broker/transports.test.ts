import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Reading } from '../../../src/core/bus.ts'
import { buildHub, connectDevice, tempDir, until } from '../../helpers/hub.ts'

describe('MQTT transports', () => {
  it('accepts device telemetry over WebSocket on /mqtt of the HTTP port', async () => {
    const t = await buildHub()
    const readings: Reading[] = []
    t.hub.bus.on('reading', (r) => readings.push(r))
    const ws = await connectDevice(`ws://127.0.0.1:${t.hub.httpPort}/mqtt`, 'fp1')
    await ws.publishAsync('zhian/fire_passage/fp1/state', '{"occupied":true,"object_class":"car"}', {
      qos: 1,
    })
    await until(() => readings.length === 1, 'a reading over WebSocket')
    expect(readings[0]!.values).toEqual({ occupied: true, object_class: 'car' })
  })

  it('accepts device telemetry over TLS with the configured certificate', async () => {
    const dir = tempDir('zhian-tls-')
    const cert = path.join(dir, 'cert.pem')
    const key = path.join(dir, 'key.pem')
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
        ...['-subj', '/CN=localhost', '-keyout', key, '-out', cert],
      ],
      { stdio: 'ignore' },
    )
    const t = await buildHub({ config: { tls: { port: 0, cert, key } } })
    const readings: Reading[] = []
    t.hub.bus.on('reading', (r) => readings.push(r))
    const secure = await connectDevice(`mqtts://127.0.0.1:${t.hub.broker.tlsPort}`, 'pb1', {
      ca: execFileSync('cat', [cert]),
      servername: 'localhost',
      rejectUnauthorized: true,
    })
    await secure.publishAsync('zhian/parking_bay/pb1/state', '{"occupied":false,"battery_pct":77}', {
      qos: 1,
    })
    await until(() => readings.length === 1, 'a reading over TLS')
    expect(readings[0]!.device.id).toBe('pb1')
  })

  it('refuses other WebSocket upgrade paths', async () => {
    const t = await buildHub()
    const res = await fetch(`${t.httpUrl}/not-mqtt`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    }).catch((e: Error) => e)
    expect(res).toBeInstanceOf(Error)
  })
})
