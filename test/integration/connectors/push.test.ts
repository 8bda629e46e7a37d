import { beforeAll, describe, expect, it } from 'vitest'
import { modelOf } from '../../../devices/models/index.ts'
import {
  appData,
  ctwingDataReport,
  ctwingEventReport,
  ctwingOnlineOffline,
  ctwingPost,
} from '../../../simulators/platforms/ctwing.ts'
import {
  onenetBody,
  onenetLifeCycle,
  onenetOpaque,
  onenetPost,
  onenetProperty,
  onenetVerify,
} from '../../../simulators/platforms/onenet.ts'
import { buildHub, type TestHub, until } from '../../helpers/hub.ts'
import { startInflux, type TestInflux } from '../../helpers/influx.ts'
import { waitAlert } from '../rules/rig.ts'
import { connectorsEstate, metric, readingsOf, TOKENS } from './rig.ts'

/**
 * Platform pushes against a running hub over real HTTP, with real InfluxDB behind it: CTWing,
 * OneNET and the generic push, each speaking its documented format (simulators/platforms).
 */

let h: TestHub
let influx: TestInflux
let readings: ReturnType<typeof readingsOf>
const DB = 'connectors_push'
const BAY = { deviceId: 'ctw-bay-0001', imei: '867724052345678' }

beforeAll(async () => {
  influx = await startInflux()
  h = await buildHub({ estateFile: connectorsEstate(), config: { history: influx.history(DB) } })
  readings = readingsOf(h.hub)
})

const ctwUrl = () => `${h.httpUrl}/ingest/ctwing/ctw`
const oneUrl = () => `${h.httpUrl}/ingest/onenet/one`
const pushUrl = () => `${h.httpUrl}/ingest/http/push`
const pushHttp = (body: unknown, token = TOKENS.push) =>
  fetch(pushUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  })
const point = (measurement: string, device: string) =>
  until(
    async () =>
      (
        await influx.rows(`SELECT * FROM ${measurement} WHERE device_id = '${device}'`, DB).catch(() => [])
      ).at(-1),
    `${measurement} point of ${device}`,
    15_000,
  )

describe('CTWing push', () => {
  it('an NB-IoT parking sensor’s uplink becomes a reading, parking_bay.overstay and an InfluxDB point', async () => {
    const res = await ctwingPost(
      ctwUrl(),
      TOKENS.ctw,
      ctwingDataReport(BAY, { occupied: true, battery_pct: 88 }, 1),
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'accepted' })
    expect(readings.of('bay1').at(-1)).toEqual({ occupied: true, battery_pct: 88 })
    const alert = await waitAlert(h, 'parking_bay.overstay', (a) => a.device_id === 'bay1')
    expect(alert.condition).toBe('raised')
    expect(await point('parking_bay', 'bay1')).toMatchObject({ occupied: true, battery_pct: 88 })
  })

  it('a push retried three times is one reading', async () => {
    const before = readings.of('bay1').length
    const body = ctwingDataReport(BAY, appData(Buffer.from('{"battery_pct":77}')), 2)
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await (await ctwingPost(ctwUrl(), TOKENS.ctw, body)).json())
    expect(answers).toEqual([
      { status: 'accepted' },
      { status: 'duplicate' },
      { status: 'duplicate' },
      { status: 'duplicate' },
    ])
    expect(readings.of('bay1').length - before).toBe(1)
    expect(
      await metric(h.hub, 'zhian_connector_uplinks_total', { connector: 'ctw', outcome: 'duplicate' }),
    ).toBe(3)
  })

  it('an eventReport of an NB-IoT SOS button raises sos_button.sos; its retry is a duplicate', async () => {
    const sos = { deviceId: 'ctw-sos-0003', imei: '867724052340003' }
    const report = ctwingEventReport(sos, 'sos', { type: 'pressed', data: { press: 'short' } })
    expect(await (await ctwingPost(ctwUrl(), TOKENS.ctw, report)).json()).toEqual({ status: 'accepted' })
    const alert = await waitAlert(h, 'sos_button.sos', (a) => a.device_id === 'sos3')
    expect(alert.message.zh).toContain('3号楼101室一键报警')
    expect(await (await ctwingPost(ctwUrl(), TOKENS.ctw, report)).json()).toEqual({ status: 'duplicate' })
  })

  it('online/offline reports move the device’s availability', async () => {
    const res = await ctwingPost(ctwUrl(), TOKENS.ctw, ctwingOnlineOffline(BAY, false))
    expect(await res.json()).toEqual({ status: 'accepted' })
    const live = await until(async () => {
      const r = await h.api('/api/live/devices?q=bay1')
      const d = ((await r.json()) as { devices: { id: string; online: boolean }[] }).devices.find(
        (x) => x.id === 'bay1',
      )
      return d && d.online === false ? d : undefined
    }, 'bay1 offline')
    expect(live.online).toBe(false)
  })

  it('a wrong URL token is refused 401 and counted; nothing is read', async () => {
    const before = readings.of('bay1').length
    const res = await ctwingPost(
      ctwUrl(),
      'not-the-token-0123456789',
      ctwingDataReport(BAY, { occupied: false }, 3),
    )
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'ZHIAN_ERR_PUSH_SIGNATURE' })
    expect(
      (await fetch(ctwUrl(), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }))
        .status,
    ).toBe(401)
    expect(readings.of('bay1').length).toBe(before)
    expect(
      await metric(h.hub, 'zhian_connector_uplinks_total', {
        connector: 'ctw',
        outcome: 'ZHIAN_ERR_PUSH_SIGNATURE',
      }),
    ).toBe(2)
  })

  it('an unknown device is answered with its code (200: a retry cannot help), counted and listed for the installer', async () => {
    const stranger = { deviceId: 'ctw-unknown-77', imei: '860000000000077', productId: '15009999' }
    const res = await ctwingPost(ctwUrl(), TOKENS.ctw, ctwingDataReport(stranger, { occupied: true }, 1))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'refused', code: 'ZHIAN_ERR_UNCLAIMED_DEVICE' })
    await ctwingPost(ctwUrl(), TOKENS.ctw, ctwingDataReport(stranger, { occupied: false }, 2))
    const list = (await (await h.api('/api/connectors/ctw/unclaimed')).json()) as {
      devices: { identities: unknown[]; count: number; hint: string }[]
    }
    expect(list.devices).toEqual([
      expect.objectContaining({
        identities: [
          { kind: 'platform_device_id', value: 'ctw-unknown-77' },
          { kind: 'imei', value: '860000000000077' },
        ],
        count: 2,
        hint: '15009999',
      }),
    ])
    expect(
      await metric(h.hub, 'zhian_connector_uplinks_total', {
        connector: 'ctw',
        outcome: 'ZHIAN_ERR_UNCLAIMED_DEVICE',
      }),
    ).toBe(2)
  })

  it('the installer claims a listed device by adding its identity: it leaves the list and its next uplink is read', async () => {
    const newcomer = { deviceId: 'ctw-newcomer-5', imei: '860000000000555' }
    await ctwingPost(ctwUrl(), TOKENS.ctw, ctwingDataReport(newcomer, { occupied: true }, 1))
    const listed = async () =>
      (
        (await (await h.api('/api/connectors/ctw/unclaimed')).json()) as {
          devices: { identities: { value: string }[] }[]
        }
      ).devices.some((d) => d.identities.some((i) => i.value === 'ctw-newcomer-5'))
    expect(await listed()).toBe(true)
    const added = await h.api('/api/devices', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'bay5',
        kind: 'parking_bay',
        estate: 'e1',
        name: '地面5号车位',
        platform_device_id: 'ctw-newcomer-5',
      }),
    })
    expect(added.status).toBe(201)
    await until(async () => !(await listed()), 'the newcomer off the unclaimed list')
    const res = await ctwingPost(ctwUrl(), TOKENS.ctw, ctwingDataReport(newcomer, { occupied: true }, 2))
    expect(await res.json()).toEqual({ status: 'accepted' })
    expect(readings.of('bay5')).toEqual([{ occupied: true }])
  })

  it('a garbled payload is a coded decode error, counted with the device’s kind', async () => {
    const before = readings.of('bay1').length
    const res = await ctwingPost(
      ctwUrl(),
      TOKENS.ctw,
      ctwingDataReport(BAY, appData(Buffer.from([0xde, 0xad, 0xbe])), 4),
    )
    expect(await res.json()).toMatchObject({ status: 'refused', code: 'ZHIAN_ERR_MODEL_DECODE' })
    const wrong = await ctwingPost(ctwUrl(), TOKENS.ctw, ctwingDataReport(BAY, { occupied: 'yes' }, 5))
    expect(await wrong.json()).toMatchObject({ status: 'refused', code: 'ZHIAN_ERR_WRONG_TYPE' })
    expect(readings.of('bay1').length).toBe(before)
    expect(
      await metric(h.hub, 'zhian_mqtt_messages_rejected_total', {
        reason: 'ZHIAN_ERR_MODEL_DECODE',
        kind: 'parking_bay',
      }),
    ).toBe(1)
  })

  it('a device of an estate the connector does not serve is refused', async () => {
    const res = await ctwingPost(
      ctwUrl(),
      TOKENS.ctw,
      ctwingDataReport({ deviceId: 'ctw-bay-e2', imei: '867724052340000' }, { occupied: true }, 1),
    )
    expect(await res.json()).toMatchObject({ status: 'refused', code: 'ZHIAN_ERR_CONNECTOR_SCOPE' })
    expect(readings.of('bay9')).toEqual([])
  })

  it('an unknown connector and an oversized body are refused with codes', async () => {
    const res = await ctwingPost(`${h.httpUrl}/ingest/ctwing/nope`, TOKENS.ctw, {})
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ code: 'ZHIAN_ERR_UNKNOWN_CONNECTOR' })
    const big = await ctwingPost(ctwUrl(), TOKENS.ctw, ctwingDataReport(BAY, { pad: 'x'.repeat(70_000) }, 9))
    expect(big.status).toBe(413)
    expect(await big.json()).toMatchObject({ code: 'ZHIAN_ERR_PAYLOAD_TOO_LARGE' })
  })
})

describe('OneNET push', () => {
  it('answers the URL check with msg only when the signature is the token’s', async () => {
    const ok = await onenetVerify(oneUrl(), TOKENS.one)
    expect(ok.res.status).toBe(200)
    expect(await ok.res.text()).toBe(ok.msg)
    const bad = await onenetVerify(oneUrl(), 'some-other-token-0123456789')
    expect(bad.res.status).toBe(401)
    expect(await bad.res.text()).not.toContain(bad.msg)
  })

  it('a property notify becomes a reading, manhole.water_high and an InfluxDB point', async () => {
    const res = await onenetPost(
      oneUrl(),
      onenetBody(TOKENS.one, onenetProperty('onenet-well-2', { water_level_cm: 95, battery_pct: 70 }), 'p-1'),
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'accepted' })
    expect(readings.of('well2').at(-1)).toEqual({ water_level_cm: 95, battery_pct: 70 })
    await waitAlert(h, 'manhole.water_high', (a) => a.device_id === 'well2')
    expect(await point('manhole', 'well2')).toMatchObject({ water_level_cm: 95 })
  })

  it('a message re-pushed three times (same id) is one reading; lifeCycle moves availability', async () => {
    const before = readings.of('well2').length
    const body = onenetBody(TOKENS.one, onenetProperty('onenet-well-2', { water_level_cm: 96 }), 'p-2')
    for (let i = 0; i < 4; i++) expect((await onenetPost(oneUrl(), body)).status).toBe(200)
    expect(readings.of('well2').length - before).toBe(1)
    const life = await onenetPost(
      oneUrl(),
      onenetBody(TOKENS.one, onenetLifeCycle('onenet-well-2', true), 'l-1'),
    )
    expect(await life.json()).toEqual({ status: 'accepted' })
  })

  it('an NB-IoT device’s own frame (LwM2M opaque data) is decoded by its model', async () => {
    const nb = modelOf('milesight/em400-udl-nb')!
    const frame = nb.frame!({ water_level_cm: 42, battery_pct: 77 }, { mount_depth_cm: 300 }).bytes!
    const res = await onenetPost(
      oneUrl(),
      onenetBody(TOKENS.one, onenetOpaque('onenet-nb-well-5', '868508064807350', frame), 'nb-1'),
    )
    expect(await res.json()).toEqual({ status: 'accepted' })
    expect(readings.of('well5').at(-1)).toMatchObject({ water_level_cm: 42, battery_pct: 77 })
  })

  it('a bad signature is refused 401 and counted; nothing is read', async () => {
    const before = readings.of('well2').length
    const label = { connector: 'one', outcome: 'ZHIAN_ERR_PUSH_SIGNATURE' }
    const refusedBefore = await metric(h.hub, 'zhian_connector_uplinks_total', label)
    const body = onenetBody(
      'wrong-token-000000000000',
      onenetProperty('onenet-well-2', { water_level_cm: 10 }),
      'p-3',
    )
    const res = await onenetPost(oneUrl(), body)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'ZHIAN_ERR_PUSH_SIGNATURE' })
    expect(readings.of('well2').length).toBe(before)
    expect(await metric(h.hub, 'zhian_connector_uplinks_total', label)).toBe(refusedBefore + 1)
  })

  it('an AES "safe mode" push is refused 400 with a code that says to switch it off', async () => {
    const res = await onenetPost(oneUrl(), {
      enc_msg: 'q1w2e3',
      nonce: 'abcdefgh',
      signature: 'x',
      time: 1,
      id: 'e-1',
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({
      code: 'ZHIAN_ERR_PUSH_INVALID',
      message: expect.stringContaining('safe mode'),
    })
  })
})

describe('generic HTTP push', () => {
  it('a device’s native JSON becomes a reading, manhole.water_high and an InfluxDB point', async () => {
    const res = await pushHttp({ device: 'cam-well-3', id: 'm-1', payload: { water_level_cm: 90 } })
    expect(res.status).toBe(200)
    expect(readings.of('well3').at(-1)).toEqual({ water_level_cm: 90 })
    await waitAlert(h, 'manhole.water_high', (a) => a.device_id === 'well3')
    expect(await point('manhole', 'well3')).toMatchObject({ water_level_cm: 90 })
  })

  it('a retried message id is one reading', async () => {
    const before = readings.of('well3').length
    for (let i = 0; i < 4; i++)
      expect(
        (await pushHttp({ device: 'cam-well-3', id: 'm-2', payload: { water_level_cm: 91 } })).status,
      ).toBe(200)
    expect(readings.of('well3').length - before).toBe(1)
  })

  it('a model’s bytes are decoded by the model; garbled bytes are a coded 400', async () => {
    // Milesight EM400-UDL: battery channel 01 75 (100 %), distance channel 04 82 (2500 mm, little
    // endian) below a sensor mounted 300 cm above the well's bottom: 50 cm of water.
    const frame = Buffer.from('017564' + '0482c409', 'hex')
    const ok = await pushHttp({ device: 'well1', data: frame.toString('base64'), f_port: 85, id: 'b-1' })
    expect(ok.status).toBe(200)
    expect(readings.of('well1').at(-1)).toMatchObject({ battery_pct: 100, water_level_cm: 50 })
    const bad = await pushHttp({
      device: 'well1',
      data: Buffer.from([0x04, 0x82]).toString('base64'),
      f_port: 85,
      id: 'b-2',
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ code: 'ZHIAN_ERR_MODEL_DECODE' })
  })

  it('an AI camera’s event raises its alert once; the retried push adds no occurrence', async () => {
    const event = {
      device: 'nvr-cam-7',
      id: 'evt-42',
      payload: {
        type: 'high_altitude_throw',
        data: { floor: 12, snapshot_url: 'https://nvr.example/s/42.jpg', confidence: 0.93 },
      },
    }
    expect((await pushHttp(event)).status).toBe(200)
    const alert = await waitAlert(h, 'ai_camera.high_altitude_throw', (a) => a.device_id === 'cam7')
    expect(alert.message.zh).toContain('12 层')
    for (let i = 0; i < 3; i++) expect(await (await pushHttp(event)).json()).toEqual({ status: 'duplicate' })
    // A second sighting (another event id) is a second occurrence: the retries were not.
    expect((await pushHttp({ ...event, id: 'evt-43' })).status).toBe(200)
    const again = await waitAlert(
      h,
      'ai_camera.high_altitude_throw',
      (a) => a.device_id === 'cam7' && a.occurrences === 2,
    )
    expect(again.occurrences).toBe(2)
  })

  it('a connector’s rate is capped: past its burst a push is 429 ZHIAN_ERR_RATE_LIMITED, counted', async () => {
    const statuses: number[] = []
    let refusal: unknown
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${h.httpUrl}/ingest/http/slow`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer slow-bearer-token-0123456789' },
        body: JSON.stringify({ device: 'cam-well-3', id: `r-${i}`, payload: { battery_pct: 50 } }),
      })
      statuses.push(res.status)
      if (res.status === 429) refusal = await res.json()
      else await res.arrayBuffer()
    }
    expect(statuses.slice(0, 2)).toEqual([200, 200]) // a burst of 2 s at 1 push/s
    expect(statuses).toContain(429)
    expect(refusal).toMatchObject({ code: 'ZHIAN_ERR_RATE_LIMITED' })
    expect(
      await metric(h.hub, 'zhian_connector_uplinks_total', {
        connector: 'slow',
        outcome: 'ZHIAN_ERR_RATE_LIMITED',
      }),
    ).toBe(statuses.filter((s) => s === 429).length)
  })

  it('a wrong bearer token is 401, an unknown device 404 — both coded and counted', async () => {
    const wrong = await pushHttp(
      { device: 'cam-well-3', payload: { water_level_cm: 1 } },
      'wrong-token-0123456789',
    )
    expect(wrong.status).toBe(401)
    const unknown = await pushHttp({ device: 'nobody', payload: { water_level_cm: 1 } })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ code: 'ZHIAN_ERR_UNCLAIMED_DEVICE' })
    expect(
      await metric(h.hub, 'zhian_connector_uplinks_total', {
        connector: 'push',
        outcome: 'ZHIAN_ERR_UNCLAIMED_DEVICE',
      }),
    ).toBe(1)
  })
})
