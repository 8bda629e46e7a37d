import fs from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { modelOf } from '../../../devices/models/index.ts'
import { ChirpStackPublisher, chirpstackUp } from '../../../simulators/platforms/chirpstack.ts'
import { buildHub, until } from '../../helpers/hub.ts'
import { startMosquitto, type TestMosquitto } from '../../helpers/mosquitto.ts'
import { connectorsEstate, readingsOf } from './rig.ts'

/**
 * A network server's broker over TLS with its own certificate authority (a self-signed certificate
 * here): the connector's `ca` makes the hub trust it — `reject_unauthorized` stays on.
 */

const APP = '17c82e96-be03-4f38-aef3-f83d48582d97'
let broker: TestMosquitto
let ns: ChirpStackPublisher

beforeAll(async () => {
  broker = await startMosquitto({ tls: true })
  ns = await ChirpStackPublisher.connect(broker.url, APP, {
    username: broker.username,
    password: broker.password,
    ca: fs.readFileSync(broker.ca!),
  })
})
afterAll(async () => {
  await ns?.close()
})

it('connects to an mqtts:// network server whose certificate its `ca` names, and takes its uplinks in', async () => {
  const h = await buildHub({ estateFile: connectorsEstate(broker.url, broker.ca) })
  await until(() => h.hub.connectors.list().find((c) => c.id === 'cs')?.connected, 'connected over TLS')
  const readings = readingsOf(h.hub)
  const frame = modelOf('milesight/em400-udl')!.frame!({ water_level_cm: 61 }, { mount_depth_cm: 300 })
  await ns.publish(
    '24e124713a001234',
    'up',
    chirpstackUp(
      APP,
      { devEui: '24e124713a001234', name: 'well1', devAddr: '01f2a3b4' },
      { bytes: frame.bytes!, fPort: 85 },
      3,
    ),
  )
  await until(() => readings.of('well1').length, 'the uplink over TLS')
  expect(readings.of('well1')).toEqual([{ water_level_cm: 61 }])
})
