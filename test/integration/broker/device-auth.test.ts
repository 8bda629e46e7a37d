import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { Reading } from '../../../src/core/bus.ts'
import { buildHub, collect, connectDevice, secretOf, until } from '../../helpers/hub.ts'

const run = promisify(execFile)

/** CONNACK return code of a connection attempt (0 = accepted). */
async function connackCode(url: string, username: string, password: string): Promise<number> {
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

describe('device authentication and ACL', () => {
  it('refuses a wrong secret and an unknown device with CONNACK 4, and counts both as bad_credentials', async () => {
    const t = await buildHub()
    expect(await connackCode(t.mqttUrl, 'lift1', 'not-the-secret-at-all')).toBe(4)
    expect(await connackCode(t.mqttUrl, 'no_such_device', 'whatever-secret-1')).toBe(4)
    expect(await connackCode(t.mqttUrl, 'lift1', secretOf('lift1'))).toBe(0)
    const text = await t.hub.metrics.registry.metrics()
    expect(text).toMatch(/zhian_mqtt_connect_refused_total\{reason="bad_credentials"\} 2/)
  })

  it('lets one device hold several connections with free-form client ids (a gateway)', async () => {
    const t = await buildHub()
    const a = await connectDevice(t.mqttUrl, 'pb1', { clientId: 'gateway-east-uplink-1' })
    const b = await connectDevice(t.mqttUrl, 'pb1', {
      clientId: 'gateway-east-uplink-2-with-a-long-client-id',
    })
    expect(a.connected && b.connected).toBe(true)
    expect(t.hub.broker.connectionsOf('pb1')).toBe(2)
  })

  it('refuses a publish to another device topic: error reply, no reading for the victim', async () => {
    const t = await buildHub()
    const readings: Reading[] = []
    t.hub.bus.on('reading', (r) => readings.push(r))
    const lift1 = await connectDevice(t.mqttUrl, 'lift1')
    await lift1.subscribeAsync('zhian/elevator/lift1/error')
    const replies = collect(lift1, 'zhian/elevator/lift1/error', 2)
    await lift1.publishAsync('zhian/elevator/lift2/state', '{"floor":3}', { qos: 1 })
    await lift1.publishAsync('zhian/elevator/lift1/set', '{"report_interval_s":30}', { qos: 1 })
    const got = (await replies).map((r) => JSON.parse(r).code)
    expect(got).toEqual(['ZHIAN_ERR_TOPIC_FORBIDDEN', 'ZHIAN_ERR_TOPIC_FORBIDDEN'])
    expect(readings).toEqual([])
  })

  it('refuses subscriptions outside the device own set and error topics (SUBACK 128)', async () => {
    const t = await buildHub()
    const lift1 = await connectDevice(t.mqttUrl, 'lift1')
    const topics = ['zhian/elevator/lift1/set', 'zhian/elevator/lift1/error']
    const forbidden = ['zhian/elevator/lift2/set', 'zhian/#', '#', 'zhian/manhole/lift1/set', '$SYS/#']
    const granted = await lift1.subscribeAsync(topics)
    expect(granted.map((g) => g.qos)).toEqual([0, 0])
    for (const topic of forbidden) {
      // mqtt.js rejects when the broker answers SUBACK 0x80 (failure) [MQTT-3.9.3-2].
      const err = (await lift1.subscribeAsync(topic).catch((e: unknown) => e)) as {
        packet?: { granted: number[] }
      }
      expect(err.packet?.granted, topic).toEqual([128])
    }
  })

  it('delivers a command on the device set topic to that device only', async () => {
    const t = await buildHub()
    const lift1 = await connectDevice(t.mqttUrl, 'lift1')
    const lift2 = await connectDevice(t.mqttUrl, 'lift2')
    await lift1.subscribeAsync('zhian/elevator/lift1/set')
    await lift2.subscribeAsync('zhian/elevator/lift2/set')
    const got1 = collect(lift1, 'zhian/elevator/lift1/set', 1)
    const got2 = collect(lift2, 'zhian/elevator/lift2/set', 1, 500)
    await t.hub.broker.publish('zhian/elevator/lift1/set', '{"report_interval_s":30}', {
      qos: 1,
      retain: false,
    })
    expect(await got1).toEqual(['{"report_interval_s":30}'])
    expect(await got2).toEqual([])
  })

  it('talks to Debian mosquitto_pub and mosquitto_sub with device credentials', async () => {
    const t = await buildHub()
    const readings: Reading[] = []
    t.hub.bus.on('reading', (r) => readings.push(r))
    const port = String(t.hub.broker.mqttPort)
    const aedes = (t.hub.broker as unknown as { aedes: { once: (e: 'subscribe', l: () => void) => void } })
      .aedes
    const subscribed = new Promise<void>((r) => aedes.once('subscribe', () => r()))
    const sub = spawn('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', port, '-u', 'mh1', '-P', secretOf('mh1')],
      ...['-t', 'zhian/manhole/mh1/error', '-C', '1', '-W', '20'],
    ])
    const subClosed = new Promise((r) => sub.once('close', r))
    let subOut = ''
    sub.stdout.on('data', (d) => {
      subOut += d
    })
    await subscribed // publish only once the hub holds the subscription
    const base = ['-h', '127.0.0.1', '-p', port, '-u', 'mh1', '-P', secretOf('mh1'), '-q', '1']
    await run('mosquitto_pub', [
      ...base,
      '-t',
      'zhian/manhole/mh1/state',
      '-m',
      '{"tilt_deg":2.5,"battery_pct":91}',
    ])
    await run('mosquitto_pub', [...base, '-t', 'zhian/manhole/mh1/state', '-m', '{"tilt_deg":"x"}'])
    await subClosed
    const reply = subOut.split('\n').find((line) => line.startsWith('{'))
    expect(JSON.parse(reply ?? '{}').code).toBe('ZHIAN_ERR_WRONG_TYPE')
    await until(() => readings.length === 1, 'the mosquitto_pub reading')
    expect(readings[0]!.values).toEqual({ tilt_deg: 2.5, battery_pct: 91 })
    const refused = await run('mosquitto_pub', [
      ...base.slice(0, 6),
      '-P',
      'wrong-secret-123',
      '-t',
      'zhian/x',
      '-m',
      '1',
    ]).catch((e: { stderr: string }) => e.stderr)
    expect(String(refused)).toMatch(/refused|not authori[sz]ed|bad user name or password/i)
  })

  it('holds back a flooding device at its rate cap while another device goes straight through', async () => {
    const t = await buildHub({ config: { deviceRate: { perSecond: 50, burst: 20 } } })
    const times = new Map<string, number[]>()
    t.hub.bus.on('reading', (r) => times.set(r.device.id, [...(times.get(r.device.id) ?? []), Date.now()]))
    const flooder = await connectDevice(t.mqttUrl, 'pb1')
    const quiet = await connectDevice(t.mqttUrl, 'pb2')
    const start = Date.now()
    for (let i = 0; i < 120; i++)
      flooder.publish('zhian/parking_bay/pb1/state', `{"occupied":${i % 2 === 0}}`, { qos: 0 })
    await quiet.publishAsync('zhian/parking_bay/pb2/state', '{"occupied":true}', { qos: 1 })
    const quietAt = times.get('pb2')?.[0]
    expect(quietAt! - start).toBeLessThan(1000)
    await until(
      () => (times.get('pb1')?.length ?? 0) === 120,
      'all 120 flooded readings (delayed, not dropped)',
      10_000,
    )
    const flood = times.get('pb1')!
    // 120 messages at 50/s with a burst of 20 take at least (120 - 20) / 50 = 2 s.
    expect(flood.at(-1)! - start).toBeGreaterThanOrEqual(1800)
    expect(await t.hub.metrics.registry.metrics()).toMatch(
      /zhian_mqtt_rate_limited_total\{kind="parking_bay"\} \d+/,
    )
  })

  it('publishes hub availability online, retained, for anyone allowed to read it', async () => {
    const t = await buildHub()
    const aedes = (
      t.hub.broker as unknown as {
        aedes: { persistence: { createRetainedStream: (p: string) => AsyncIterable<{ payload: Buffer }> } }
      }
    ).aedes
    const retained: string[] = []
    for await (const p of aedes.persistence.createRetainedStream('zhian/hub/availability'))
      retained.push(String(p.payload))
    expect(retained).toEqual(['online'])
  })

  it('disconnects a device the moment it is removed from the registry', async () => {
    const t = await buildHub()
    const bay = await connectDevice(t.mqttUrl, 'pb2')
    const closed = new Promise<void>((r) => bay.once('close', () => r()))
    const res = await t.api('/api/devices/pb2', { method: 'DELETE' })
    expect(res.status).toBe(204)
    await closed
    expect(await connackCode(t.mqttUrl, 'pb2', secretOf('pb2'))).toBe(4)
  })
})
