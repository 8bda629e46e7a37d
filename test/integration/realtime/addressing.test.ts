import path from 'node:path'
import type { MqttClient } from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import type { WorkOrder } from '../../../src/dispatch/types.ts'
import type { DeviceLive, SiteRollup } from '../../../src/live/live-state.ts'
import { API_TOKEN, buildHub, connectDevice, FIXTURES, type TestHub, until } from '../../helpers/hub.ts'
import { connected, type DashboardSocket, login, socketOf } from '../../helpers/session.ts'

/**
 * What each dashboard socket receives when many devices of several buildings and estates change at
 * once: only what its user may see (the sites below its scope and the watched node), and all of it.
 */

const SCOPES_ESTATE = path.join(FIXTURES, 'scopes-estate.yaml')

/** The fixture's site tree: node → parent. */
const PARENT: Record<string, string | null> = {
  s1: null,
  c1: 's1',
  e1: 'c1',
  e1_b1: 'e1',
  e1_b2: 'e1',
  e2: 'c1',
  e2_b1: 'e2',
  s2: null,
  c2: 's2',
  e3: 'c2',
}
/** Every device and the lowest site node it sits at. */
const DEVICES: Record<string, string> = {
  b1_lift1: 'e1_b1',
  b1_lift2: 'e1_b1',
  b1_lift3: 'e1_b1',
  b2_lift1: 'e1_b2',
  b2_lift2: 'e1_b2',
  b2_lift3: 'e1_b2',
  e1_club: 'e1',
  e2b1_lift1: 'e2_b1',
  e2b1_lift2: 'e2_b1',
  e2_club: 'e2',
  e3_lift1: 'e3',
  e3_lift2: 'e3',
}

/** A node and every node above it. */
function levels(node: string): string[] {
  const out: string[] = []
  for (let n: string | null | undefined = node; n; n = PARENT[n]) out.push(n)
  return out
}
const below = (scope: string | null, node: string) => scope === null || levels(node).includes(scope)
const devicesBelow = (scope: string | null) => Object.keys(DEVICES).filter((d) => below(scope, DEVICES[d]!))
/** The lowest site node of an alert or a work order. */
const nodeOf = (x: {
  street: string | null
  community: string | null
  estate: string | null
  building: string | null
}) => [x.building, x.estate, x.community, x.street].find(Boolean) ?? null

interface Viewer {
  name: string
  scope: string | null
  watch: string[]
  socket: DashboardSocket
  devices: DeviceLive[]
  alerts: Alert[]
  workOrders: WorkOrder[]
  rollups: { sites: SiteRollup[]; parking: { estate: string }[] }[]
}

const PASSWORDS: Record<string, string> = {
  mgr_b1: 'mgr-b1-password',
  mgr_e1: 'mgr-e1-password',
  mgr_e2: 'mgr-e2-password',
  crew_e1: 'crew-e1-password',
  officer_s1: 'officer-s1-password',
}

async function viewer(hub: TestHub, name: string, scope: string | null, watch: string[]): Promise<Viewer> {
  let token = API_TOKEN
  if (name !== 'admin') {
    const res = await login(hub.httpUrl, name, PASSWORDS[name]!)
    expect(res.status).toBe(200)
    token = ((await res.json()) as { token: string }).token
  }
  const socket = socketOf(hub.httpUrl, { token })
  const v: Viewer = { name, scope, watch, socket, devices: [], alerts: [], workOrders: [], rollups: [] }
  socket.on('live:devices', (ds) => v.devices.push(...ds))
  socket.on('alert', ({ alert }) => v.alerts.push(alert))
  socket.on('work_order', ({ work_order }) => v.workOrders.push(work_order))
  socket.on('live:rollup', (r) => v.rollups.push(r))
  await connected(socket)
  for (const node of watch) expect(await socket.emitWithAck('watch', node)).toEqual({ ok: true })
  return v
}

/** Every packet the hub sent a socket before this call has arrived once the ack is back (one ordered connection). */
async function drained(v: Viewer): Promise<void> {
  await v.socket.emitWithAck('watch', v.watch[0]!)
}

async function viewers(hub: TestHub): Promise<Viewer[]> {
  return [
    await viewer(hub, 'mgr_b1', 'e1_b1', ['e1_b1']),
    await viewer(hub, 'mgr_e1', 'e1', ['e1']),
    // Watching the estate and one of its buildings: a device is still pushed once per change.
    await viewer(hub, 'mgr_e1', 'e1', ['e1', 'e1_b1']),
    await viewer(hub, 'mgr_e2', 'e2', ['e2']),
    await viewer(hub, 'crew_e1', 'e1', ['e1']),
    await viewer(hub, 'officer_s1', 's1', ['s1']),
    await viewer(hub, 'admin', null, ['*']),
  ]
}

async function connectAll(hub: TestHub): Promise<Record<string, MqttClient>> {
  const ids = Object.keys(DEVICES)
  const clients = await Promise.all(ids.map((id) => connectDevice(hub.mqttUrl, id)))
  return Object.fromEntries(ids.map((id, i) => [id, clients[i]!]))
}

/** Every device publishes at once, so devices of several buildings and estates land in one push interval. */
async function publishAll(lifts: Record<string, MqttClient>, values: Record<string, unknown>): Promise<void> {
  await Promise.all(
    Object.entries(lifts).map(([id, c]) =>
      c.publishAsync(`zhian/elevator/${id}/state`, JSON.stringify(values), { qos: 1 }),
    ),
  )
}

function expected(v: Viewer): string[] {
  // The watched nodes are in the user's scope: what it should get is what sits below one of them.
  return Object.keys(DEVICES).filter((d) => v.watch.some((w) => w === '*' || below(w, DEVICES[d]!)))
}

describe('socket.io addressing', () => {
  it('live device values reach only the sockets watching a site above them, once per change, and all of them', async () => {
    const hub = await buildHub({ estateFile: SCOPES_ESTATE })
    const all = await viewers(hub)
    const lifts = await connectAll(hub)
    const seenAll = (v: Viewer, floor: number) =>
      expected(v).every((id) => v.devices.some((d) => d.id === id && d.values.floor === floor))
    const admin = all.at(-1)!
    for (let floor = 1; floor <= 6; floor++) {
      await publishAll(lifts, { floor })
      // The admin watches everything: once it has this round, every socket's push of it was sent.
      await until(() => seenAll(admin, floor), `floor ${floor} of every lift at the admin`, 10_000)
      await Promise.all(all.map(drained))
      for (const v of all) {
        for (const d of v.devices) expect(below(v.scope, DEVICES[d.id]!), `${v.name} got ${d.id}`).toBe(true)
        expect(seenAll(v, floor), `${v.name} watching ${v.watch} got floor ${floor} of its lifts`).toBe(true)
      }
    }

    for (const v of all) {
      const ids = new Set(v.devices.map((d) => d.id))
      expect([...ids].sort(), `${v.name} watching ${v.watch}`).toEqual(expected(v).sort())
      const pushes = v.devices.map((d) => `${d.id}@${d.values.floor}`)
      expect(pushes.length, `${v.name} got a change twice`).toBe(new Set(pushes).size)
    }
    expect(all[0]!.devices.map((d) => d.id)).not.toContain('b2_lift1')
  })

  it('alerts, work orders and roll-ups reach only the sockets whose user may see them, and all of them', async () => {
    const hub = await buildHub({ estateFile: SCOPES_ESTATE })
    const all = await viewers(hub)
    const lifts = await connectAll(hub)
    // GB/T 24476 fault code 5 (unintended car movement) raises a critical alert at once: every lift at
    // once, and a work order for each (critical opens one automatically).
    await publishAll(lifts, { fault_code: 5 })
    const admin = all.at(-1)!
    await until(
      () => {
        const alerted = new Set(admin.alerts.map((a) => a.device_id))
        const ordered = new Set(admin.workOrders.map((w) => w.device_id))
        return Object.keys(DEVICES).every((id) => alerted.has(id) && ordered.has(id))
      },
      'an alert and a work order for every lift at the admin',
      10_000,
    )
    await Promise.all(all.map(drained))

    for (const v of all) {
      const crew = v.name === 'crew_e1'
      const want = devicesBelow(v.scope).sort()
      const alerted = [...new Set(v.alerts.map((a) => a.device_id!))].sort()
      const ordered = [...new Set(v.workOrders.map((w) => w.device_id!))].sort()
      for (const item of [...v.alerts, ...v.workOrders])
        expect(below(v.scope, nodeOf(item)!), `${v.name} got ${item.device_id}`).toBe(true)
      // The crew's team serves e1: it gets every e1 lift's alert (routed to it) and the orders its
      // member zhang was dispatched to — the same as managers of e1, here.
      expect(alerted, `${v.name}'s alerts`).toEqual(want)
      expect(ordered, `${v.name}'s work orders`).toEqual(want)
      if (crew) for (const w of v.workOrders) expect(w.team).toBe('e1_lifts')
      expect(v.rollups.length, `${v.name} got a roll-up`).toBeGreaterThan(0)
      for (const r of v.rollups) {
        for (const s of r.sites) expect(below(v.scope, s.id), `${v.name} got roll-up ${s.id}`).toBe(true)
        for (const z of r.parking) expect(below(v.scope, z.estate)).toBe(true)
      }
    }
    const last = (v: Viewer) =>
      v.rollups
        .at(-1)!
        .sites.map((s) => s.id)
        .sort()
    expect(last(all[0]!)).toEqual(['e1_b1'])
    expect(last(all[3]!)).toEqual(['e2', 'e2_b1'])
  })
})
