import type { MqttClient } from 'mqtt'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DeviceLive } from '../../../src/live/live-state.ts'
import { buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import { as, connected, type DashboardSocket, login, socketOf } from '../../helpers/session.ts'
import { connectorsEstate, TOKENS } from './rig.ts'

/**
 * A refused message is visible on its device's page: a garbled frame through a connector and a bad
 * native MQTT payload each become the device's last error (code, the catalogue's text, when, where
 * from, how many), pushed live to the dashboards that may see the device and to no other.
 */

let h: TestHub
const MGR = { mgr_e1: 'mgr-e1-password', mgr_e2: 'mgr-e2-password' }

beforeAll(async () => {
  h = await buildHub({ estateFile: connectorsEstate() })
  await h.hub.auth.users.add({ username: 'mgr_e1', password: MGR.mgr_e1, role: 'manager', scope: 'e1' })
  await h.hub.auth.users.add({ username: 'mgr_e2', password: MGR.mgr_e2, role: 'manager', scope: 'e2' })
})

async function tokenOf(user: keyof typeof MGR): Promise<string> {
  const res = await login(h.httpUrl, user, MGR[user])
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

/** A dashboard socket watching a node, keeping every device it was pushed. */
async function watcher(
  user: keyof typeof MGR,
  node: string,
): Promise<{ socket: DashboardSocket; got: DeviceLive[] }> {
  const socket = socketOf(h.httpUrl, { token: await tokenOf(user) })
  const got: DeviceLive[] = []
  socket.on('live:devices', (ds) => got.push(...ds))
  await connected(socket)
  expect(await socket.emitWithAck('watch', node)).toEqual({ ok: true })
  return { socket, got }
}

const pushGarbled = (id: string) =>
  fetch(`${h.httpUrl}/ingest/http/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.push}` },
    // Milesight EM400-UDL: a distance channel header (04 82) with its two value bytes missing.
    body: JSON.stringify({
      device: 'well1',
      data: Buffer.from([0x04, 0x82]).toString('base64'),
      f_port: 85,
      id,
    }),
  })

async function deviceAs(user: keyof typeof MGR, id: string): Promise<DeviceLive | undefined> {
  const res = await as(h.httpUrl, await tokenOf(user))('/api/live/devices')
  expect(res.status).toBe(200)
  return ((await res.json()) as { devices: DeviceLive[] }).devices.find((d) => d.id === id)
}

describe('refused messages on the device page', () => {
  it('a garbled frame through a connector is the device’s last error, counted, pushed live to its estate only', async () => {
    const e1 = await watcher('mgr_e1', 'e1')
    const e2 = await watcher('mgr_e2', 'e2')

    expect((await pushGarbled('g-1')).status).toBe(400)
    const first = await until(
      async () => e1.got.find((d) => d.id === 'well1' && d.last_error),
      'well1 pushed with its last error',
    )
    expect(first.last_error).toMatchObject({
      code: 'ZHIAN_ERR_MODEL_DECODE',
      zh: '设备型号无法解析该上报',
      via: 'connector:push',
      count: 1,
    })
    expect(first.last_error?.detail).toContain('milesight/em400-udl')
    // The page names the model and the platform identity, not only the device id.
    expect(first.model).toBe('milesight/em400-udl')
    expect(first.identity).toMatchObject({ dev_eui: '24e124713a001234' })

    expect((await pushGarbled('g-2')).status).toBe(400)
    await until(
      async () => e1.got.find((d) => d.id === 'well1' && d.last_error?.count === 2),
      'well1 pushed with two refusals',
    )
    expect((await deviceAs('mgr_e1', 'well1'))?.last_error).toMatchObject({
      code: 'ZHIAN_ERR_MODEL_DECODE',
      count: 2,
    })

    // Everything pushed before this ack has arrived: the other estate's manager got nothing of well1.
    await e2.socket.emitWithAck('watch', 'e2')
    expect(e2.got.filter((d) => d.id === 'well1')).toEqual([])
    expect(await e2.socket.emitWithAck('watch', 'e1')).not.toEqual({ ok: true })
    expect(await deviceAs('mgr_e2', 'well1')).toBeUndefined()
  })

  it('a bad native MQTT payload is the device’s last error, with the catalogue’s text', async () => {
    const e1 = await watcher('mgr_e1', 'e1')
    const mh9: MqttClient = await connectDevice(h.mqttUrl, 'mh9')
    await mh9.publishAsync('zhian/manhole/mh9/state', '{"water_level_cm": 12', { qos: 1 })
    const pushed = await until(
      async () => e1.got.find((d) => d.id === 'mh9' && d.last_error),
      'mh9 pushed with its last error',
    )
    expect(pushed.last_error).toMatchObject({
      code: 'ZHIAN_ERR_INVALID_JSON',
      zh: '负载不是合法的 JSON',
      en: 'payload is not valid JSON',
      via: 'mqtt',
      count: 1,
    })
    expect(pushed.model).toBeNull()
    // A good message afterwards is a reading; the last error stays until a newer one.
    await mh9.publishAsync('zhian/manhole/mh9/state', '{"water_level_cm": 12}', { qos: 1 })
    const after = await until(async () => {
      const d = await deviceAs('mgr_e1', 'mh9')
      return d?.values.water_level_cm === 12 ? d : undefined
    }, 'mh9 reading')
    expect(after.last_error).toMatchObject({ code: 'ZHIAN_ERR_INVALID_JSON', count: 1 })
  })
})
