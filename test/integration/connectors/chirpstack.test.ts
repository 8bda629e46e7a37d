import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { modelOf } from '../../../devices/models/index.ts'
import {
  ChirpStackPublisher,
  chirpstackStatus,
  chirpstackUp,
  type LoraDevice,
} from '../../../simulators/platforms/chirpstack.ts'
import { buildHub, type TestHub, tempDir, until } from '../../helpers/hub.ts'
import { startInflux, type TestInflux } from '../../helpers/influx.ts'
import { startMosquitto, type TestMosquitto } from '../../helpers/mosquitto.ts'
import { waitAlert } from '../rules/rig.ts'
import { connectorsEstate, metric, readingsOf } from './rig.ts'

/**
 * ChirpStack v4 behind a real Mosquitto (the network server's broker): zhian subscribes as an MQTT
 * client with a persistent session; a ChirpStack-shaped publisher (simulators/platforms) publishes
 * the JSON integration's events at QoS 1, frames built by the device's model.
 */

const APP = '17c82e96-be03-4f38-aef3-f83d48582d97'
const WELL: LoraDevice = { devEui: '24e124713a001234', name: 'well1', devAddr: '01f2a3b4' }
const em400 = modelOf('milesight/em400-udl')!
const PARAMS = { water_limit_cm: 80, mount_depth_cm: 300 }
const frameOf = (state: Record<string, unknown>) =>
  em400.frame!(state, PARAMS) as { bytes: Buffer; fPort: number }

let broker: TestMosquitto
let influx: TestInflux
let ns: ChirpStackPublisher
let estate: string
const DB = 'connectors_chirpstack'

beforeAll(async () => {
  broker = await startMosquitto()
  influx = await startInflux()
  estate = connectorsEstate(broker.url)
  ns = await ChirpStackPublisher.connect(broker.url, APP, {
    username: broker.username,
    password: broker.password,
  })
})
afterAll(async () => {
  await ns?.close()
})

async function hubOn(dataDir = tempDir()): Promise<TestHub> {
  const h = await buildHub({ estateFile: estate, dataDir, config: { history: influx.history(DB) } })
  await until(
    () => h.hub.connectors.list().find((c) => c.id === 'cs')?.connected,
    'connected to the network server',
  )
  return h
}
const accepted = (h: TestHub) =>
  metric(h.hub, 'zhian_connector_uplinks_total', { connector: 'cs', outcome: 'accepted' })

describe('ChirpStack v4 over MQTT', () => {
  it('an uplink decoded by the device’s model becomes a reading, manhole.water_high and an InfluxDB point', async () => {
    const h = await hubOn()
    const readings = readingsOf(h.hub)
    await ns.publish(
      WELL.devEui,
      'up',
      chirpstackUp(APP, WELL, frameOf({ water_level_cm: 95, battery_pct: 90 }), 1),
    )
    await until(() => readings.of('well1').length, 'a reading of well1')
    expect(readings.of('well1')[0]).toEqual({ water_level_cm: 95, battery_pct: 90 })
    const alert = await waitAlert(h, 'manhole.water_high', (a) => a.device_id === 'well1')
    expect(alert.values).toMatchObject({ water_level_cm: 95 })
    const rows = await until(
      async () =>
        (
          await influx
            .rows(`SELECT water_level_cm FROM manhole WHERE device_id = 'well1'`, DB)
            .catch(() => [])
        ).at(-1),
      'an InfluxDB point of well1',
      15_000,
    )
    expect(rows.water_level_cm).toBe(95)
  })

  it('a redelivered event and a repeated frame counter are one reading; status gives the battery', async () => {
    const h = await hubOn()
    const readings = readingsOf(h.hub)
    const up = chirpstackUp(APP, WELL, frameOf({ water_level_cm: 20 }), 2)
    await ns.publish(WELL.devEui, 'up', up)
    await ns.publish(WELL.devEui, 'up', up) // the broker's redelivery: same deduplicationId
    // The same frame received through another gateway after a network-server restart: a new
    // deduplicationId, the same DevAddr and frame counter.
    await ns.publish(WELL.devEui, 'up', { ...up, deduplicationId: '0c3a2c52-5cd5-4f7a-a0a8-111111111111' })
    await ns.publish(WELL.devEui, 'status', chirpstackStatus(APP, WELL, 64))
    await until(() => readings.of('well1').some((r) => r.battery_pct === 64), 'the status battery reading')
    expect(readings.of('well1')).toEqual([{ water_level_cm: 20 }, { battery_pct: 64 }])
    expect(
      await metric(h.hub, 'zhian_connector_uplinks_total', { connector: 'cs', outcome: 'duplicate' }),
    ).toBe(2)
  })

  it('a garbled frame, an unknown DevEUI and a non-JSON event are refused, counted and listed', async () => {
    const h = await hubOn()
    const readings = readingsOf(h.hub)
    await ns.publish(
      WELL.devEui,
      'up',
      chirpstackUp(APP, WELL, { bytes: Buffer.from([0x04, 0x82, 0x01]), fPort: 85 }, 3),
    )
    const stranger = { devEui: 'a84041000181c061', name: 'unregistered', devAddr: '0000beef' }
    await ns.publish(
      stranger.devEui,
      'up',
      chirpstackUp(APP, stranger, { bytes: Buffer.from([1]), fPort: 1 }, 1),
    )
    await ns.publishRaw(WELL.devEui, 'up', Buffer.from([0x0a, 0x10, 0xff]))
    const code = (outcome: string) =>
      metric(h.hub, 'zhian_connector_uplinks_total', { connector: 'cs', outcome })
    await until(async () => (await code('ZHIAN_ERR_PUSH_INVALID')) === 1, 'the non-JSON event counted')
    expect(await code('ZHIAN_ERR_MODEL_DECODE')).toBe(1)
    expect(await code('ZHIAN_ERR_UNCLAIMED_DEVICE')).toBe(1)
    expect(
      await metric(h.hub, 'zhian_mqtt_messages_rejected_total', {
        reason: 'ZHIAN_ERR_MODEL_DECODE',
        kind: 'manhole',
      }),
    ).toBe(1)
    const list = (await (await h.api('/api/connectors/cs/unclaimed')).json()) as {
      devices: { identities: unknown[]; hint: string }[]
    }
    expect(list.devices).toEqual([
      expect.objectContaining({
        identities: [{ kind: 'dev_eui', value: 'a84041000181c061' }],
        hint: 'simulated · unregistered',
      }),
    ])
    expect(readings.of('well1')).toEqual([])
  })

  it('a join restarts the device’s frame counter: the same FCnt after it is a new uplink', async () => {
    const h = await hubOn()
    const readings = readingsOf(h.hub)
    await ns.publish(WELL.devEui, 'up', chirpstackUp(APP, WELL, frameOf({ water_level_cm: 11 }), 1))
    await ns.publish(WELL.devEui, 'join', {
      deduplicationId: '5b1f0c7e-0d5c-4a55-9d38-222222222222',
      deviceInfo: { devEui: WELL.devEui },
      devAddr: WELL.devAddr,
    })
    await ns.publish(WELL.devEui, 'up', chirpstackUp(APP, WELL, frameOf({ water_level_cm: 12 }), 1))
    await until(() => readings.of('well1').length >= 2, 'both uplinks')
    expect(readings.of('well1')).toEqual([{ water_level_cm: 11 }, { water_level_cm: 12 }])
  })

  it('The Things Stack: an uplink on v3/{app}/devices/{id}/up with zhian JSON as decoded_payload is a reading, an alert and an InfluxDB point', async () => {
    const h = await hubOn()
    await until(() => h.hub.connectors.list().find((c) => c.id === 'tts')?.connected, 'the TTS connector')
    const readings = readingsOf(h.hub)
    const up = {
      end_device_ids: {
        device_id: 'playground-well',
        application_ids: { application_id: 'zhian-campus' },
        dev_eui: '70B3D57ED0000004',
        dev_addr: '260B1234',
      },
      correlation_ids: ['as:up:01HZTTS0000000000000000001'],
      received_at: new Date().toISOString(),
      uplink_message: { f_port: 1, f_cnt: 9, frm_payload: 'AA==', decoded_payload: { water_level_cm: 93 } },
    }
    await ns.publishTopic('v3/zhian-campus/devices/playground-well/up', up)
    await ns.publishTopic('v3/zhian-campus/devices/playground-well/up', up)
    await until(
      async () =>
        (await metric(h.hub, 'zhian_connector_uplinks_total', { connector: 'tts', outcome: 'duplicate' })) ===
        1,
      'the repeat recognised',
    )
    expect(readings.of('well4')).toEqual([{ water_level_cm: 93 }])
    await waitAlert(h, 'manhole.water_high', (a) => a.device_id === 'well4')
    const row = await until(
      async () =>
        (
          await influx
            .rows(`SELECT water_level_cm FROM manhole WHERE device_id = 'well4'`, DB)
            .catch(() => [])
        ).at(-1),
      'an InfluxDB point of well4',
      15_000,
    )
    expect(row.water_level_cm).toBe(93)
  })

  it('a set on a device whose model encodes it becomes a ChirpStack downlink on …/command/down', async () => {
    const h = await hubOn()
    const sub = await mqtt.connectAsync(broker.url, {
      username: broker.username,
      password: broker.password,
      reconnectPeriod: 0,
    })
    const down = new Promise<{ topic: string; body: Record<string, unknown> }>((resolve) =>
      sub.on('message', (topic, payload) => resolve({ topic, body: JSON.parse(payload.toString()) })),
    )
    await sub.subscribeAsync(`application/${APP}/device/+/command/down`, { qos: 1 })
    const post = (device: string, body: unknown) =>
      h.api(`/api/connectors/devices/${device}/set`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const res = await post('well1', { report_interval_s: 600 })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ device: 'well1', connector: 'cs', fPort: 85 })
    // Milesight's report-interval command: ff 03 and the seconds as uint16 LE (600 = 0x0258).
    expect(await down).toEqual({
      topic: `application/${APP}/device/24e124713a001234/command/down`,
      body: {
        devEui: '24e124713a001234',
        confirmed: false,
        fPort: 85,
        data: Buffer.from('ff035802', 'hex').toString('base64'),
      },
    })
    await sub.endAsync()
    expect((await post('well1', { report_interval_s: 5 })).status).toBe(400)
    const none = await post('bay1', { report_interval_s: 600 })
    expect(none.status).toBe(409)
    expect(await none.json()).toMatchObject({ code: 'ZHIAN_ERR_NO_DOWNLINK' })
  })

  it('reconnects by itself when the network server’s broker restarts, subscribes again, and takes uplinks in', async () => {
    const h = await hubOn()
    const readings = readingsOf(h.hub)
    await broker.stop()
    await until(() => !h.hub.connectors.list().find((c) => c.id === 'cs')?.connected, 'the connection lost')
    await broker.start()
    await until(() => h.hub.connectors.list().find((c) => c.id === 'cs')?.connected, 'reconnected', 20_000)
    const again = await ChirpStackPublisher.connect(broker.url, APP, {
      username: broker.username,
      password: broker.password,
    })
    try {
      await again.publish(WELL.devEui, 'up', chirpstackUp(APP, WELL, frameOf({ water_level_cm: 150 }), 500))
      await until(() => readings.of('well1').length, 'the uplink after the broker restart')
      expect(readings.of('well1')).toEqual([{ water_level_cm: 150 }])
    } finally {
      await again.close()
    }
  })

  it('uplinks published at QoS 1 while the hub is down all arrive after its restart, once each', async () => {
    const dataDir = tempDir()
    const first = await hubOn(dataDir)
    const before = chirpstackUp(APP, WELL, frameOf({ water_level_cm: 5 }), 100)
    await ns.publish(WELL.devEui, 'up', before)
    await until(async () => (await accepted(first)) === 1, 'the first uplink taken in')
    await first.close()

    const N = 25
    for (let i = 1; i <= N; i++) {
      await ns.publish(
        WELL.devEui,
        'up',
        chirpstackUp(APP, WELL, frameOf({ water_level_cm: 30 + i }), 100 + i),
      )
    }
    const second = await hubOn(dataDir)
    await until(async () => (await accepted(second)) === N, `${N} queued uplinks taken in`, 20_000)
    // The uplink taken in before the restart, delivered again, is still recognised.
    await ns.publish(WELL.devEui, 'up', before)
    await until(
      async () =>
        (await metric(second.hub, 'zhian_connector_uplinks_total', {
          connector: 'cs',
          outcome: 'duplicate',
        })) === 1,
      'the old uplink recognised',
    )
    const levels = await until(
      async () => {
        const rows = await influx
          .rows(
            `SELECT water_level_cm FROM manhole WHERE device_id = 'well1' AND water_level_cm > 30 AND water_level_cm < 60`,
            DB,
          )
          .catch(() => [])
        return rows.length >= N ? rows.map((r) => r.water_level_cm) : undefined
      },
      'the queued uplinks in InfluxDB',
      15_000,
    )
    expect(levels.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: N }, (_, i) => 31 + i))
    expect(await accepted(second)).toBe(N)
  })
})
