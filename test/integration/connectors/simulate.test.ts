import { afterAll, beforeAll, expect, it } from 'vitest'
import { PlatformDrive } from '../../../simulators/platforms/drive.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
import { buildHub, type TestHub, until } from '../../helpers/hub.ts'
import { startMosquitto, type TestMosquitto } from '../../helpers/mosquitto.ts'
import { connectorsEstate, metric } from './rig.ts'

/** `zhian simulate --platforms`: model devices over ChirpStack's broker and CTWing pushes, into a real hub. */

let broker: TestMosquitto
let h: TestHub
let drive: PlatformDrive | undefined

beforeAll(async () => {
  broker = await startMosquitto()
  const file = connectorsEstate(broker.url)
  h = await buildHub({ estateFile: file })
  await until(() => h.hub.connectors.list().find((c) => c.id === 'cs')?.connected, 'connected to the broker')
})
afterAll(async () => {
  await drive?.stop()
})

it('drives each model device over its platform with the model’s own frames; the hub takes them all in', async () => {
  const lines: string[] = []
  drive = new PlatformDrive({
    estate: loadEstateFile(connectorsEstate(broker.url)),
    httpUrl: h.httpUrl,
    intervalMs: 3_600_000,
    log: (l) => lines.push(l),
  })
  await drive.start()
  // well1 (EM400-UDL, LoRaWAN, ChirpStack), bay2 (P_MD, NB-IoT, CTWing) and well5 (EM400-UDL NB-IoT in
  // estate e2, which the CTWing connector does not serve: OneNET); the others have no model.
  expect(drive.size).toBe(3)
  expect(drive.failed).toBe(0)
  await until(
    async () =>
      (await metric(h.hub, 'zhian_connector_uplinks_total', { connector: 'cs', outcome: 'accepted' })) === 1,
    'the LoRaWAN uplink',
  )
  expect(
    await metric(h.hub, 'zhian_connector_uplinks_total', { connector: 'ctw', outcome: 'accepted' }),
  ).toBe(1)
  expect(
    await metric(h.hub, 'zhian_connector_uplinks_total', { connector: 'one', outcome: 'accepted' }),
  ).toBe(1)
  const page = (await (await h.api('/api/live/estates/e1')).json()) as {
    devices: { id: string; values: Record<string, unknown> }[]
  }
  const values = new Map(page.devices.map((d) => [d.id, d.values]))
  expect(values.get('well1')).toHaveProperty('water_level_cm')
  expect(values.get('bay2')).toHaveProperty('occupied', false)
})
