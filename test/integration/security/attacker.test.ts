import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { beforeAll, describe, expect, it } from 'vitest'
import YAML from 'yaml'
import type { Alert } from '../../../src/alerts/types.ts'
import {
  buildHub,
  connectDevice,
  DEMO_ESTATE,
  FIXTURES,
  secretOf,
  type TestHub,
  tempDir,
  until,
} from '../../helpers/hub.ts'
import { as, connected, type DashboardSocket, login, socketOf } from '../../helpers/session.ts'

/**
 * The hub tried as an attacker would: the demo estate plus a second estate with its own people
 * (test/fixtures/second-estate.yaml, in another street). The attacker holds a valid device of the
 * demo estate (mh_01) and a viewer login of the second estate (dx_viewer). Nothing outside their
 * own topics and scope may reach them, and no device may be knocked offline.
 *
 * Every "nothing arrived" is closed by a control message sent after the attack on the same path
 * that does arrive, so a broken channel cannot pass for a closed hole.
 */

const ATTACKER = 'mh_01'
/** Where the attacker's flood comes from; everything else connects from 127.0.0.1. */
const ATTACKER_HOST = '127.0.0.2'
const OWN = ['zhian/manhole/mh_01/set', 'zhian/manhole/mh_01/error']
const VIEWER = { username: 'dx_viewer', password: 'second-viewer-pw' }
const DX_MANAGER = { username: 'dx_wuye', password: 'second-manager-pw' }
/** Demo devices the attacker goes after (elev_b2_3 stays away until the flood test). */
const VICTIMS = ['elev_b1_1', 'elev_b1_2', 'mh_02'] as const

let t: TestHub
/** Ids, names and site ids of the demo estate: none may reach the second estate's viewer. */
let demoMarkers: string[]
const victims = new Map<string, MqttClient>()
let dxElevator: MqttClient

type Received = { topic: string; payload: string; retain: boolean }

function collect(client: MqttClient): Received[] {
  const got: Received[] = []
  client.on('message', (topic, payload, packet) =>
    got.push({ topic, payload: payload.toString(), retain: packet.retain }),
  )
  return got
}

function mergedEstate(): string {
  const demo = YAML.parse(fs.readFileSync(DEMO_ESTATE, 'utf8'))
  const second = YAML.parse(fs.readFileSync(path.join(FIXTURES, 'second-estate.yaml'), 'utf8'))
  for (const key of ['sites', 'devices', 'users', 'teams']) demo[key] = [...demo[key], ...second[key]]
  const file = path.join(tempDir('zhian-attack-'), 'estate.yaml')
  fs.writeFileSync(file, YAML.stringify(demo))
  demoMarkers = [
    ...collectIds(YAML.parse(fs.readFileSync(DEMO_ESTATE, 'utf8'))),
    ...['前新福苑', '闸弄口街道', '永安电梯'],
  ]
  return file
}

function collectIds(estate: {
  sites: { id: string; children?: unknown[] }[]
  devices: { id: string }[]
  teams: { id: string; estates?: string[] }[]
}): string[] {
  const ids: string[] = []
  const walk = (nodes: { id: string; children?: unknown[] }[]) => {
    for (const n of nodes) {
      ids.push(n.id)
      walk((n.children ?? []) as { id: string; children?: unknown[] }[])
    }
  }
  walk(estate.sites)
  // A team without `estates` serves every estate, the second one's too: everyone may see it.
  const teams = estate.teams.filter((x) => x.estates).map((x) => x.id)
  return [...ids, ...estate.devices.map((d) => d.id), ...teams]
}

/** Demo ids (as whole ids: `xinfeng` is not in `xinfeng_grid`) and names found in a text. */
function leaks(text: string): string[] {
  return demoMarkers.filter((m) => new RegExp(`(?<![a-z0-9_])${m}(?![a-z0-9_])`).test(text))
}

/** The SUBACK return codes of ONE SUBSCRIBE (mqtt.js rejects a SUBACK with a refusal in it). */
async function subscribe(client: MqttClient, filters: Record<string, 0 | 1>): Promise<number[]> {
  const request = Object.fromEntries(Object.entries(filters).map(([f, qos]) => [f, { qos }]))
  const granted = await client.subscribeAsync(request).catch((err: { packet?: { granted: number[] } }) => {
    if (err.packet) return err.packet.granted.map((qos) => ({ qos }))
    throw err
  })
  return granted.map((g) => g.qos)
}

/**
 * The CONNACK code of a refused connection, or 'connected'. From `localAddress` when given (loopback
 * is 127.0.0.0/8, so 127.0.0.2 is another host to the hub).
 */
function attempt(options: IClientOptions, localAddress?: string): Promise<'connected' | number | 'closed'> {
  const settings = { protocolVersion: 4 as const, reconnectPeriod: 0, ...options }
  const client = localAddress
    ? new mqtt.MqttClient(
        () => net.connect({ port: t.hub.broker.mqttPort, host: '127.0.0.1', localAddress }),
        settings,
      )
    : mqtt.connect(t.mqttUrl, settings)
  return new Promise((resolve) => {
    client.on('error', (err: Error & { code?: number }) => {
      if (typeof err.code === 'number') resolve(err.code)
    })
    client.once('connect', () => {
      client.end(true)
      resolve('connected')
    })
    client.once('close', () => resolve('closed'))
  })
}

async function admin<T>(pathname: string): Promise<T> {
  const res = await t.api(pathname)
  expect(res.status, pathname).toBe(200)
  return (await res.json()) as T
}

async function openAlert(device: string, type: string): Promise<Alert> {
  return until(async () => {
    const page = await admin<{ items: Alert[] }>(`/api/alerts?device=${device}&status=active`)
    return page.items.find((a) => a.type === type)
  }, `${type} on ${device}`)
}

async function tokenOf(user: { username: string; password: string }): Promise<string> {
  const res = await login(t.httpUrl, user.username, user.password)
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

beforeAll(async () => {
  t = await buildHub({ estateFile: mergedEstate() })
  for (const id of VICTIMS) {
    const client = await connectDevice(t.mqttUrl, id, {
      clientId: id,
      clean: false,
      will: {
        topic: `zhian/${id.startsWith('mh') ? 'manhole' : 'elevator'}/${id}/availability`,
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
      },
    })
    victims.set(id, client)
  }
  await victims.get('mh_02')!.subscribeAsync('zhian/manhole/mh_02/set', { qos: 1 })
  dxElevator = await connectDevice(t.mqttUrl, 'dx_elev_1', {
    username: 'dx_elev_1',
    password: 'second-secret-dx_elev_1',
    clientId: 'dx_elev_1',
  })
})

describe('a valid device of one estate, as an attacker', () => {
  it('receives nothing but its own downlink: clean and persistent sessions, wildcards, $SYS, retained', async () => {
    const live = await connectDevice(t.mqttUrl, ATTACKER, { clientId: 'attacker-live' })
    const liveGot = collect(live)
    const filters = [
      '#',
      '+/#',
      'zhian/#',
      'zhian/elevator/+/state',
      'zhian/elevator/elev_b1_1/state',
      'zhian/elevator/dx_elev_1/event',
      'zhian/manhole/mh_02/set',
      'zhian/hub/alert',
      'zhian/hub/#',
      '$SYS/#',
      '$zhian/#',
      OWN[0]!,
    ]
    const granted = await subscribe(live, Object.fromEntries(filters.map((f) => [f, 1 as const])))
    expect(granted).toEqual(filters.map((f) => (f === OWN[0] ? 1 : 128)))

    // A persistent session asks for its own downlink and the world in one SUBSCRIBE, then goes away.
    const persistOpts = { clientId: 'attacker-persist', clean: false }
    const persist = await connectDevice(t.mqttUrl, ATTACKER, persistOpts)
    const persistGranted = await subscribe(persist, {
      [OWN[0]!]: 1,
      '#': 1,
      '$SYS/#': 1,
      'zhian/+/+/state': 1,
    })
    expect(persistGranted).toEqual([1, 128, 128, 128])
    await persist.endAsync()

    // Meanwhile: readings and alarms of both estates, a retained reading, a downlink to another device.
    const b11 = victims.get('elev_b1_1')!
    await b11.publishAsync('zhian/elevator/elev_b1_1/state', JSON.stringify({ floor: 3, speed: 0 }), {
      qos: 1,
      retain: true,
    })
    await b11.publishAsync('zhian/elevator/elev_b1_1/event', JSON.stringify({ type: 'alarm_button' }), {
      qos: 1,
    })
    await dxElevator.publishAsync(
      'zhian/elevator/dx_elev_1/event',
      JSON.stringify({ type: 'alarm_button' }),
      {
        qos: 1,
      },
    )
    await openAlert('elev_b1_1', 'elevator.alarm_button')
    await openAlert('dx_elev_1', 'elevator.alarm_button')
    await t.hub.broker.publish('zhian/manhole/mh_02/set', '{"reset":true}', { qos: 1, retain: false })
    // The control: the attacker's own downlink, after everything else.
    await t.hub.broker.publish(OWN[0]!, 'control', { qos: 1, retain: false })
    await until(() => liveGot.some((m) => m.payload === 'control'), 'the live control')

    const again = await connectDevice(t.mqttUrl, ATTACKER, persistOpts)
    const againGot = collect(again)
    await until(() => againGot.some((m) => m.payload === 'control'), 'the queued control')
    // Retained messages are delivered on SUBSCRIBE: refused, so none.
    const late = await subscribe(again, { 'zhian/elevator/elev_b1_1/state': 1, '$SYS/#': 0 })
    expect(late).toEqual([128, 128])
    await t.hub.broker.publish(OWN[0]!, 'control-2', { qos: 1, retain: false })
    await until(() => againGot.some((m) => m.payload === 'control-2'), 'the second control')

    for (const got of [liveGot, againGot]) expect(got.filter((m) => !OWN.includes(m.topic))).toEqual([])
    await again.endAsync()
    await live.endAsync()
  })

  it("publishing to others' topics reaches no device, no login, no alert and no live value", async () => {
    const wuye = await mqtt.connectAsync(t.mqttUrl, {
      username: 'user:wuye',
      password: 'zhian-demo',
      protocolVersion: 4,
      reconnectPeriod: 0,
    })
    const wuyeGot = collect(wuye)
    await wuye.subscribeAsync('zhian/hub/#', { qos: 1 })
    const mh02Got = collect(victims.get('mh_02')!)
    const alertsBefore = await admin<{ total: number; items: Alert[] }>('/api/alerts?limit=500')
    const liveBefore = await admin<unknown[]>('/api/live/devices?q=elev')

    const attacker = await connectDevice(t.mqttUrl, ATTACKER, { clientId: 'attacker-pub' })
    const forged: [string, string, boolean][] = [
      ['zhian/elevator/elev_b1_2/event', '{"type":"alarm_button"}', false],
      ['zhian/elevator/dx_elev_1/state', '{"fault_code":5,"floor":2}', false],
      ['zhian/elevator/elev_b1_2/availability', 'offline', true],
      ['zhian/manhole/mh_02/set', '{"reset":true}', true],
      ['zhian/manhole/mh_02/state', '{"water_level_cm":999}', false],
      ['zhian/hub/alert', '{"type":"fire","estate":"qianxin_fuyuan","title":"假火警"}', false],
      ['zhian/hub/availability', 'offline', true],
      ['$SYS/forged', 'x', true],
    ]
    for (const [topic, payload, retain] of forged)
      await attacker.publishAsync(topic, payload, { qos: 1, retain })
    // Its own reading is taken: the forged ones before it were processed (PUBACKs leave in order).
    await attacker.publishAsync('zhian/manhole/mh_01/state', JSON.stringify({ water_level_cm: 12 }), {
      qos: 1,
    })
    const control = await admin<{ items: Alert[] }>('/api/alerts?limit=500')
    await t.hub.broker.publish('zhian/manhole/mh_02/set', 'control', { qos: 1, retain: false })
    await until(() => mh02Got.some((m) => m.payload === 'control'), "mh_02's control")
    await wuye.subscribeAsync('zhian/hub/availability', { qos: 1 })
    await until(() => wuyeGot.filter((m) => m.topic === 'zhian/hub/availability').length >= 2, 'availability')

    expect(mh02Got.map((m) => m.payload)).toEqual(['control'])
    expect(wuyeGot.filter((m) => m.topic === 'zhian/hub/alert')).toEqual([])
    expect(wuyeGot.map((m) => m.payload)).toEqual(['online', 'online'])
    expect(control.items).toEqual(alertsBefore.items)
    expect(await admin('/api/live/devices?q=elev')).toEqual(liveBefore)
    await attacker.endAsync()
    await wuye.endAsync()
  })

  it("cannot take over another device's client id, as a device or as a login", async () => {
    const holder = victims.get('elev_b1_2')!
    for (const clean of [true, false]) {
      expect(
        await attempt({ username: ATTACKER, password: secretOf(ATTACKER), clientId: 'elev_b1_2', clean }),
      ).toBe(2)
      expect(
        await attempt({
          username: `user:${VIEWER.username}`,
          password: VIEWER.password,
          clientId: 'elev_b1_2',
          clean,
        }),
      ).toBe(2)
    }
    expect(holder.connected).toBe(true)
    expect(t.hub.broker.connectionsOf('elev_b1_2')).toBe(1)
  })

  it('a flood of wrong secrets from another host keeps no device out, connected or not yet connected', async () => {
    const codes = new Set<unknown>()
    for (const id of ['elev_b1_1', 'elev_b2_3'])
      for (let i = 0; i < 20; i++)
        codes.add(
          await attempt(
            { username: id, password: `guess-${i}-${id}`, clientId: `flood-${i}` },
            ATTACKER_HOST,
          ),
        )
    // Wrong, then held at the attacker's address.
    expect([...codes].sort()).toEqual([4, 5])
    // The connected one stays, and may open another connection with its secret …
    expect(victims.get('elev_b1_1')!.connected).toBe(true)
    expect(
      await attempt({ username: 'elev_b1_1', password: secretOf('elev_b1_1'), clientId: 'b11-second' }),
    ).toBe('connected')
    // … and one that had not connected since the hub started gets in with its own.
    expect(
      await attempt({ username: 'elev_b2_3', password: secretOf('elev_b2_3'), clientId: 'elev_b2_3' }),
    ).toBe('connected')
  })
})

describe('a viewer login of another estate, as an attacker', () => {
  it('reads nothing of the demo estate over the HTTP API, not even whether an id exists', async () => {
    const viewer = as(t.httpUrl, await tokenOf(VIEWER))
    const demoAlert = (await openAlert('elev_b1_1', 'elevator.alarm_button')).id
    const demoOrders = await admin<{ items: { id: string }[] }>('/api/work-orders?site=qianxin_fuyuan')
    const demoOrder = demoOrders.items[0]!.id
    /** Each demo id in a path, and an id of the same form that names nothing. */
    const FAKES: [string, string][] = [
      [demoAlert, `${demoAlert.slice(0, -4)}zzzz`],
      [demoOrder, `${demoOrder.slice(0, -4)}zzzz`],
      ['qianxin_fuyuan', 'nosuch_estate'],
      ['zhalongkou', 'nosuch_street'],
      ['qxfy_b1', 'nosuch_b1'],
      ['elev_b1_1', 'nosuch_1_1'],
      ['wuye', 'nosuch_user'],
    ]
    const fake = (text: string) => FAKES.reduce((x, [real, f]) => x.replaceAll(real, f), text)
    const paths = [
      '/api/alerts',
      '/api/alerts?site=qianxin_fuyuan',
      '/api/alerts?site=qxfy_b1',
      '/api/alerts?device=elev_b1_1',
      `/api/alerts/${demoAlert}`,
      '/api/alerts/export.csv',
      '/api/alerts/export.csv?site=qianxin_fuyuan',
      '/api/work-orders',
      '/api/work-orders?site=qianxin_fuyuan',
      `/api/work-orders?alert=${demoAlert}`,
      `/api/work-orders/${demoOrder}`,
      '/api/devices',
      '/api/devices/elev_b1_1',
      '/api/live',
      '/api/live/alerts',
      '/api/live/devices',
      '/api/live/devices?estate=qianxin_fuyuan',
      '/api/live/devices?q=elev',
      '/api/live/estates/qianxin_fuyuan',
      '/api/reports?scope=qianxin_fuyuan&period=today&format=json',
      '/api/reports?scope=qianxin_fuyuan&period=today&format=csv',
      '/api/reports?scope=qianxin_fuyuan&period=today&format=html',
      '/api/reports?scope=zhalongkou&period=today&format=json',
      '/api/reports?period=today&format=json',
      '/api/reports/schedules',
      '/api/zones',
      '/api/zones?estate=qianxin_fuyuan',
      '/api/silences',
      '/api/sites',
      '/api/teams',
      '/api/teams?estate=qianxin_fuyuan',
      '/api/routing',
      '/api/audit/logins',
      '/api/audit/logins?user=wuye',
    ]
    const seen: Record<string, string> = {}
    for (const p of paths) {
      const res = await viewer(p)
      const body = await res.text()
      expect(res.status, p).toBeLessThan(500)
      const found = leaks(fake(body))
      if (found.length) seen[p] = `${res.status} leaks ${found.join(', ')}`
      // Asking about a demo id answers exactly what asking about an id that names nothing answers.
      if (fake(p) !== p) {
        const twin = await viewer(fake(p))
        const twinBody = await twin.text()
        if (twin.status !== res.status || twinBody !== fake(body))
          seen[p] = `${res.status} ${body.slice(0, 160)} ≠ ${twin.status} ${twinBody.slice(0, 160)}`
      }
    }
    expect(seen).toEqual({})
    // The control: the viewer does read its own estate's alert.
    const own = (await (await viewer('/api/alerts')).json()) as { items: Alert[] }
    expect(own.items.map((a) => a.device_id)).toContain('dx_elev_1')
  })

  it('is refused socket.io rooms of other scopes and pushed nothing of them', async () => {
    const socket: DashboardSocket = await connected(socketOf(t.httpUrl, { token: await tokenOf(VIEWER) }))
    const pushed: string[] = []
    socket.onAny((event, ...args) => pushed.push(`${event} ${JSON.stringify(args)}`))
    for (const site of ['qianxin_fuyuan', 'qxfy_b1', 'zhalongkou', 'xinfeng', '*', 'elev_b1_1', '']) {
      const reply = await socket.emitWithAck('watch', site)
      expect(reply.ok, site).toBe(false)
    }
    expect(await socket.emitWithAck('watch', 'dongxin_yuan')).toEqual({ ok: true })

    // The demo estate changes: readings, a new alarm, an acknowledgement.
    const b12 = victims.get('elev_b1_2')!
    for (let floor = 1; floor <= 5; floor++)
      await b12.publishAsync('zhian/elevator/elev_b1_2/state', JSON.stringify({ floor, speed: 1 }), {
        qos: 1,
      })
    await b12.publishAsync('zhian/elevator/elev_b1_2/event', JSON.stringify({ type: 'alarm_button' }), {
      qos: 1,
    })
    const demoAlert = await openAlert('elev_b1_2', 'elevator.alarm_button')
    const wuye = as(t.httpUrl, await tokenOf({ username: 'wuye', password: 'zhian-demo' }))
    expect((await wuye(`/api/alerts/${demoAlert.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(200)

    // The controls, after it: a reading and an acknowledgement in the viewer's own estate.
    await dxElevator.publishAsync('zhian/elevator/dx_elev_1/state', JSON.stringify({ floor: 7, speed: 0 }), {
      qos: 1,
    })
    const dxAlert = await openAlert('dx_elev_1', 'elevator.alarm_button')
    const manager = as(t.httpUrl, await tokenOf(DX_MANAGER))
    expect((await manager(`/api/alerts/${dxAlert.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(200)
    await until(
      () =>
        pushed.some((p) => p.startsWith('alert ') && p.includes(dxAlert.id) && p.includes('acknowledged')),
      'the own-estate acknowledgement',
    )
    await until(
      () => pushed.some((p) => p.startsWith('live:devices ') && p.includes('dx_elev_1')),
      'own live values',
    )
    expect(pushed.filter((p) => leaks(p).length > 0)).toEqual([])
  })

  it('over MQTT as user:, receives no alert of the demo estate (clean or persistent, any filter)', async () => {
    const options = {
      username: `user:${VIEWER.username}`,
      password: VIEWER.password,
      protocolVersion: 4 as const,
      reconnectPeriod: 0,
    }
    const live = await mqtt.connectAsync(t.mqttUrl, { ...options, clientId: 'viewer-live' })
    const liveGot = collect(live)
    const granted = await subscribe(live, { 'zhian/hub/#': 1, '#': 1, 'zhian/+/+/state': 1, '$SYS/#': 1 })
    expect(granted).toEqual([1, 128, 128, 128])
    const persistOpts = { ...options, clientId: 'viewer-persist', clean: false }
    const persist = await mqtt.connectAsync(t.mqttUrl, persistOpts)
    expect(await subscribe(persist, { 'zhian/hub/alert': 1, '#': 1 })).toEqual([1, 128])
    await persist.endAsync()

    const mh02 = victims.get('mh_02')!
    await mh02.publishAsync('zhian/manhole/mh_02/state', JSON.stringify({ water_level_cm: 95 }), { qos: 1 })
    await mh02.publishAsync('zhian/manhole/mh_02/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await openAlert('mh_02', 'manhole.cover_open')
    await dxElevator.publishAsync('zhian/elevator/dx_elev_1/state', JSON.stringify({ floor: 1, speed: 0 }), {
      qos: 1,
    })
    // The control: an alert of the viewer's own estate (its manhole's cover opened), raised after.
    const dxMh = await connectDevice(t.mqttUrl, 'dx_mh_1', {
      username: 'dx_mh_1',
      password: 'second-secret-dx_mh_1',
    })
    await dxMh.publishAsync('zhian/manhole/dx_mh_1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => liveGot.some((m) => m.payload.includes('dx_mh_1')), 'the own-estate alert')
    const again = await mqtt.connectAsync(t.mqttUrl, persistOpts)
    const againGot = collect(again)
    await until(() => againGot.some((m) => m.payload.includes('dx_mh_1')), 'the queued own-estate alert')

    for (const got of [liveGot, againGot]) {
      expect(got.filter((m) => !m.topic.startsWith('zhian/hub/'))).toEqual([])
      expect(got.filter((m) => leaks(m.payload).length > 0)).toEqual([])
    }
    await again.endAsync()
    await live.endAsync()
    await dxMh.endAsync()
  })
})

describe('after the attack', () => {
  it('no device was knocked offline', async () => {
    for (const [id, client] of victims) {
      expect(client.connected, id).toBe(true)
      expect(t.hub.broker.connectionsOf(id), id).toBeGreaterThanOrEqual(1)
    }
    expect(dxElevator.connected).toBe(true)
    const live = await admin<{ devices: { id: string; online: boolean }[] }>('/api/live/devices')
    const online = new Map(live.devices.map((d) => [d.id, d.online]))
    const ids = [...victims.keys(), 'dx_elev_1']
    expect(ids.map((id) => [id, online.get(id)])).toEqual(ids.map((id) => [id, true]))
  })
})
