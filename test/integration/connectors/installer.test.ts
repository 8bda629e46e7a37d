import { afterAll, beforeAll, expect, it } from 'vitest'
import { modelOf } from '../../../devices/models/index.ts'
import { ChirpStackPublisher, chirpstackUp } from '../../../simulators/platforms/chirpstack.ts'
import { ctwingDataReport, ctwingPost } from '../../../simulators/platforms/ctwing.ts'
import { buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import { startMosquitto, type TestMosquitto } from '../../helpers/mosquitto.ts'
import { waitAlert } from '../rules/rig.ts'
import { connectorsEstate, TOKENS } from './rig.ts'

/**
 * Tried as an installer would: the estate file declares a LoRaWAN well-level sensor (Milesight
 * EM400-UDL) behind ChirpStack and an NB-IoT geomagnetic parking sensor (WXHS P_MD) behind CTWing,
 * each with its model and platform identity, next to a native zhian manhole. They show live on the
 * estate page and raise manhole.water_high and parking_bay.overstay through the same rules as the
 * native device.
 */

let broker: TestMosquitto
let ns: ChirpStackPublisher
let h: TestHub
const APP = '17c82e96-be03-4f38-aef3-f83d48582d97'

beforeAll(async () => {
  broker = await startMosquitto()
  ns = await ChirpStackPublisher.connect(broker.url, APP, {
    username: broker.username,
    password: broker.password,
  })
  h = await buildHub({ estateFile: connectorsEstate(broker.url) })
  await until(
    () => h.hub.connectors.list().find((c) => c.id === 'cs')?.connected,
    'connected to ChirpStack’s broker',
  )
})
afterAll(async () => {
  await ns?.close()
})

interface EstatePage {
  devices: { id: string; name: string; values: Record<string, unknown> }[]
  alerts: { type: string; device_id: string; message: { zh: string } }[]
}

it('a LoRaWAN well sensor behind ChirpStack and an NB-IoT parking sensor behind CTWing show live and raise alerts like native devices', async () => {
  // The well sensor's own frame, built by its model: 2.05 m from a sensor mounted 3 m above the bottom.
  const em400 = modelOf('milesight/em400-udl')!
  const frame = em400.frame!({ water_level_cm: 95, battery_pct: 81 }, { mount_depth_cm: 300 }) as {
    bytes: Buffer
    fPort: number
  }
  await ns.publish(
    '24e124713a001234',
    'up',
    chirpstackUp(APP, { devEui: '24e124713a001234', name: 'EM400-UDL', devAddr: '01f2a3b4' }, frame, 12),
  )
  // The parking sensor as CTWing pushes it: its profile's serviceData (parking_state 1 = occupied).
  const pmd = modelOf('wxhs/p-md')!
  const payload = pmd.frame!({ occupied: true }, {}).json as Record<string, unknown>
  const pushed = await ctwingPost(
    `${h.httpUrl}/ingest/ctwing/ctw`,
    TOKENS.ctw,
    ctwingDataReport({ deviceId: 'ctw-pmd-0002', imei: '867724052340002' }, payload, 40),
  )
  expect(await pushed.json()).toEqual({ status: 'accepted' })
  // The native manhole next to them, zhian's JSON over MQTT.
  const native = await connectDevice(h.mqttUrl, 'mh9')
  await native.publishAsync('zhian/manhole/mh9/state', JSON.stringify({ water_level_cm: 95 }), { qos: 1 })

  const well = await waitAlert(h, 'manhole.water_high', (a) => a.device_id === 'well1')
  const nativeWell = await waitAlert(h, 'manhole.water_high', (a) => a.device_id === 'mh9')
  const bay = await waitAlert(h, 'parking_bay.overstay', (a) => a.device_id === 'bay2')
  // The same rule: the same severity, crew and wording, with the device's display name.
  expect(well.severity).toBe(nativeWell.severity)
  expect(well.crew).toBe(nativeWell.crew)
  expect(well.message.zh).toBe(nativeWell.message.zh.replace('西门雨水井', '北门雨水井'))
  expect(bay.message.zh).toContain('地面2号车位')

  const page = (await (await h.api('/api/live/estates/e1')).json()) as EstatePage
  const byId = new Map(page.devices.map((d) => [d.id, d]))
  expect(byId.get('well1')?.values).toMatchObject({ water_level_cm: 95, battery_pct: 81 })
  expect(byId.get('bay2')?.values).toMatchObject({ occupied: true })
  expect(page.alerts.map((a) => `${a.type} ${a.device_id}`)).toEqual(
    expect.arrayContaining([
      'manhole.water_high well1',
      'manhole.water_high mh9',
      'parking_bay.overstay bay2',
    ]),
  )
})
