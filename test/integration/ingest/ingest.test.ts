import { describe, expect, it } from 'vitest'
import type { Reading } from '../../../src/core/bus.ts'
import { buildHub, collect, connectDevice, until } from '../../helpers/hub.ts'

async function metric(
  hub: Awaited<ReturnType<typeof buildHub>>,
  name: string,
  labels: Record<string, string> = {},
) {
  const m = await hub.hub.metrics.registry.getSingleMetric(name)?.get()
  const match = m?.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
  return (match ?? []).reduce((sum, v) => sum + v.value, 0)
}

describe('ingest of device telemetry', () => {
  it('accepts valid elevator telemetry and puts a normalised reading with its site path on the bus', async () => {
    const t = await buildHub()
    const readings: Reading[] = []
    t.hub.bus.on('reading', (r) => readings.push(r))
    const lift = await connectDevice(t.mqttUrl, 'lift1')
    await lift.publishAsync(
      'zhian/elevator/lift1/state',
      JSON.stringify({ floor: 7, direction: 'none', door: 'closed', moving: false, passenger: true, seq: 3 }),
      { qos: 1 },
    )
    const r = await until(() => readings[0], 'a reading')
    expect(r.device.id).toBe('lift1')
    expect(r.device.site).toEqual({ street: 's1', community: 'c1', estate: 'e1', building: 'e1_b1' })
    expect(r.values).toEqual({ floor: 7, direction: 'none', door: 'closed', moving: false, passenger: true })
    expect(r.seq).toBe(3)
    expect(await metric(t, 'zhian_mqtt_messages_in_total', { kind: 'elevator', suffix: 'state' })).toBe(1)
  })

  it('uses the device clock when plausible and receive time when the device clock is far off', async () => {
    const t = await buildHub()
    const readings: Reading[] = []
    t.hub.bus.on('reading', (r) => readings.push(r))
    const bay = await connectDevice(t.mqttUrl, 'pb1')
    const recent = Date.now() - 30_000
    await bay.publishAsync('zhian/parking_bay/pb1/state', JSON.stringify({ occupied: true, ts: recent }), {
      qos: 1,
    })
    await bay.publishAsync('zhian/parking_bay/pb1/state', JSON.stringify({ occupied: false, ts: 1000 }), {
      qos: 1,
    })
    await until(() => readings.length === 2, 'two readings')
    expect(readings[0]!.ts).toBe(recent)
    expect(readings[1]!.ts).toBe(readings[1]!.receivedAt)
  })

  it('passes events, info and availability of a device to the bus', async () => {
    const t = await buildHub()
    const seen: string[] = []
    t.hub.bus.on('device_event', (e) => seen.push(`event:${e.type}:${JSON.stringify(e.data)}`))
    t.hub.bus.on('device_info', (e) => seen.push(`info:${e.info.model}`))
    t.hub.bus.on('availability', (e) => seen.push(`availability:${e.online}`))
    const lift = await connectDevice(t.mqttUrl, 'lift1')
    await lift.publishAsync(
      'zhian/elevator/lift1/event',
      JSON.stringify({ type: 'fault', data: { code: 2, active: true } }),
      {
        qos: 1,
      },
    )
    await lift.publishAsync('zhian/elevator/lift1/info', JSON.stringify({ model: 'ZX-9', interval_s: 60 }), {
      qos: 1,
      retain: true,
    })
    await lift.publishAsync('zhian/elevator/lift1/availability', 'online', { qos: 1, retain: true })
    await until(() => seen.length === 3, 'three bus events')
    expect(seen).toEqual(['event:fault:{"code":2,"active":true}', 'info:ZX-9', 'availability:true'])
  })

  it('turns a device will into availability offline when the connection drops', async () => {
    const t = await buildHub()
    const seen: boolean[] = []
    t.hub.bus.on('availability', (e) => seen.push(e.online))
    const lift = await connectDevice(t.mqttUrl, 'lift1', {
      will: {
        topic: 'zhian/elevator/lift1/availability',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
      },
    })
    // Destroy the socket without DISCONNECT so the broker publishes the will [MQTT-3.1.2-8].
    ;(lift.stream as unknown as { destroy: () => void }).destroy()
    await until(() => seen.includes(false), 'availability offline from the will')
  })

  const BAD: [string, string, string | Buffer, string][] = [
    ['invalid JSON', 'zhian/manhole/mh1/state', '{"tilt_deg": ', 'ZHIAN_ERR_INVALID_JSON'],
    ['a JSON array', 'zhian/manhole/mh1/state', '[1,2]', 'ZHIAN_ERR_NOT_AN_OBJECT'],
    ['a wrong type', 'zhian/manhole/mh1/state', '{"tilt_deg":"steep"}', 'ZHIAN_ERR_WRONG_TYPE'],
    [
      'an unknown field',
      'zhian/manhole/mh1/state',
      '{"tilt_deg":3,"colour":"red"}',
      'ZHIAN_ERR_UNKNOWN_FIELD',
    ],
    ['an out-of-range value', 'zhian/manhole/mh1/state', '{"battery_pct":140}', 'ZHIAN_ERR_OUT_OF_RANGE'],
    ['an empty state', 'zhian/manhole/mh1/state', '{"ts":1}', 'ZHIAN_ERR_EMPTY_STATE'],
    ['the wrong kind in the topic', 'zhian/elevator/mh1/state', '{"floor":1}', 'ZHIAN_ERR_WRONG_KIND'],
    [
      'an oversized payload',
      'zhian/manhole/mh1/state',
      `{"tilt_deg":1,"x":"${'a'.repeat(9000)}"}`,
      'ZHIAN_ERR_PAYLOAD_TOO_LARGE',
    ],
    ['a bad availability text', 'zhian/manhole/mh1/availability', 'maybe', 'ZHIAN_ERR_INVALID_VALUE'],
    ['an unknown event type', 'zhian/manhole/mh1/event', '{"type":"explode"}', 'ZHIAN_ERR_INVALID_VALUE'],
  ]
  for (const [what, topic, payload, code] of BAD) {
    it(`refuses ${what} with ${code} on the device's error topic and processes nothing`, async () => {
      const t = await buildHub()
      let readings = 0
      t.hub.bus.on('reading', () => readings++)
      const mh = await connectDevice(t.mqttUrl, 'mh1')
      await mh.subscribeAsync('zhian/manhole/mh1/error')
      const replies = collect(mh, 'zhian/manhole/mh1/error', 1)
      await mh.publishAsync(topic, payload, { qos: 1 })
      const [reply] = await replies
      expect(reply, 'an error reply').toBeDefined()
      const body = JSON.parse(reply!)
      expect(body.code).toBe(code)
      expect(body.topic).toBe(topic)
      expect(typeof body.message).toBe('string')
      expect(readings).toBe(0)
      expect(await metric(t, 'zhian_mqtt_messages_rejected_total', { reason: code })).toBe(1)
      // The connection survives: the next good message goes through.
      await mh.publishAsync('zhian/manhole/mh1/state', '{"tilt_deg":1.5}', { qos: 1 })
      await until(() => readings === 1, 'the good message after the bad one')
    })
  }

  it('does not retain a refused availability message for later subscribers', async () => {
    const t = await buildHub()
    const mh = await connectDevice(t.mqttUrl, 'mh1')
    await mh.publishAsync('zhian/manhole/mh1/availability', 'garbage', { qos: 1, retain: true })
    const retained: string[] = []
    await t.hub.broker.publish('zhian/probe', 'x', { qos: 0, retain: false })
    // An in-process subscriber on the hub sees retained messages of the topic if any were stored.
    const aedes = (
      t.hub.broker as unknown as {
        aedes: { persistence: { createRetainedStream: (p: string) => AsyncIterable<{ topic: string }> } }
      }
    ).aedes
    for await (const p of aedes.persistence.createRetainedStream('zhian/manhole/mh1/availability'))
      retained.push(p.topic)
    expect(retained).toEqual([])
  })
})
