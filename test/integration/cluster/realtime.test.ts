import net from 'node:net'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import type { DeviceLive } from '../../../src/live/live-state.ts'
import { buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import { startRedis } from '../../helpers/redis.ts'
import {
  as,
  connected,
  DASHBOARD_ESTATE,
  type DashboardSocket,
  socketOf,
  tokenOf,
} from '../../helpers/session.ts'

/**
 * Dashboards in cluster mode: two real hubs on one private Redis (socket.io's Redis Streams
 * adapter), real socket.io-client sockets of real users. Devices publish to node A; the alert or
 * the reading is processed there only, and must reach the dashboards on node B — once, and only
 * those whose user may see it.
 */

type Change = { alert: Alert; entry: AuditEntry }

async function twoNodes(): Promise<{ a: TestHub; b: TestHub; redisUrl: string }> {
  const redis = await startRedis()
  const node = (nodeId: string) => ({ config: { cluster: { redisUrl: redis.url, nodeId } } })
  const a = await buildHub({ estateFile: DASHBOARD_ESTATE, ...node('node-a') })
  const b = await buildHub({ estateFile: DASHBOARD_ESTATE, ...node('node-b') })
  return { a, b, redisUrl: redis.url }
}

/** The names of the connections Redis has open (CLIENT LIST), without the asking one. */
async function redisClients(url: string): Promise<string[]> {
  const redis = new Redis(url, { connectionName: 'test-probe' })
  try {
    const list = (await redis.client('LIST')) as string
    return list
      .split('\n')
      .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
      .filter((name) => name !== 'test-probe')
  } finally {
    redis.disconnect()
  }
}

/**
 * The login sessions of one node copied to another: the nodes of a real cluster share one store
 * (PostgreSQL); these two hubs have a SQLite file each, so a token made on one is made known here.
 */
function shareSessions(from: TestHub, to: TestHub): void {
  const rows = from.hub.db.prepare('SELECT * FROM sessions').all() as Record<string, unknown>[]
  for (const row of rows) {
    const columns = Object.keys(row)
    to.hub.db
      .prepare(
        `INSERT OR REPLACE INTO sessions (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      )
      .run(...columns.map((c) => row[c]))
  }
}

function alertsOf(socket: DashboardSocket): Change[] {
  const got: Change[] = []
  socket.on('alert', (c) => got.push(c))
  return got
}

/** A lift fault (GB/T 24476 code 5 raises at once) published to `hub`; the alert as that node stored it. */
async function liftFault(hub: TestHub, device: 'lift1' | 'lift2' | 'e2_lift1'): Promise<Alert> {
  const lift = await connectDevice(hub.mqttUrl, device)
  await lift.publishAsync(`zhian/elevator/${device}/state`, JSON.stringify({ fault_code: 5 }), { qos: 1 })
  return until(
    () => hub.hub.alerts.openAlerts().find((a) => a.device_id === device),
    `the ${device} alert stored`,
  )
}

const entryOf = (c: Change) => JSON.stringify([c.alert.id, c.entry])

const raisedIds = (changes: Change[]) =>
  changes.filter((c) => c.entry.action === 'raised').map((c) => c.alert.device_id)

/**
 * A TCP load balancer in front of the nodes (what HAProxy does for a cluster): forwards each new
 * connection to the current node; `hold()` keeps new connections waiting, `cut()` drops the open ones.
 */
async function balancer(): Promise<{
  url: string
  to: (hub: TestHub) => void
  hold: () => void
  cut: () => void
  close: () => void
}> {
  let port: number | undefined
  const held: net.Socket[] = []
  const open = new Set<net.Socket>()
  const forward = (client: net.Socket, target: number) => {
    const node = net.connect(target, '127.0.0.1')
    open.add(client)
    open.add(node)
    client.pipe(node)
    node.pipe(client)
    const end = () => {
      client.destroy()
      node.destroy()
      open.delete(client)
      open.delete(node)
    }
    client.on('error', end).on('close', end)
    node.on('error', end).on('close', end)
  }
  const server = net.createServer((client) => {
    if (port === undefined) held.push(client)
    else forward(client, port)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    to: (hub) => {
      port = hub.hub.httpPort
      for (const client of held.splice(0)) forward(client, port)
    },
    hold: () => {
      port = undefined
    },
    cut: () => {
      for (const s of open) s.destroy()
    },
    close: () => {
      for (const s of [...open, ...held]) s.destroy()
      server.close()
    },
  }
}

/** Resume over a raw WebSocket; every socket.io frame the hub sends until it answered the CONNECT. */
async function resume(hub: TestHub, auth: Record<string, string>): Promise<string[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${hub.hub.httpPort}/socket.io/?EIO=4&transport=websocket`)
  const frames: string[] = []
  ws.on('message', (m) => frames.push(m.toString()))
  await until(() => frames.some((f) => f.startsWith('0{')), 'engine.io open')
  ws.send(`40${JSON.stringify(auth)}`)
  await until(() => frames.some((f) => f.startsWith('40{') || f.startsWith('44{')), 'the CONNECT answer')
  // Anything still queued for this connection arrives within this time.
  await new Promise((r) => setTimeout(r, 300))
  ws.terminate()
  return frames
}

/** The alert changes in raw frames: `<device> <action>`. */
const alertFrames = (frames: string[]) =>
  frames
    .filter((f) => f.startsWith('42'))
    .map((f) => JSON.parse(f.slice(2)) as [string, Change?])
    .filter(([name]) => name === 'alert')
    .map(([, c]) => `${c!.alert.device_id} ${c!.entry.action}`)

describe('dashboards in cluster mode', () => {
  it('an alert raised on node A reaches the managers of its estate on both nodes once, and no one outside it', async () => {
    const { a, b } = await twoNodes()
    const onB = socketOf(b.httpUrl, { token: await tokenOf(b.httpUrl, 'mgr_e1') })
    const onA = socketOf(a.httpUrl, { token: await tokenOf(a.httpUrl, 'mgr_e1') })
    const otherEstate = socketOf(b.httpUrl, { token: await tokenOf(b.httpUrl, 'mgr_e2') })
    const [gotB, gotA, gotOther] = [alertsOf(onB), alertsOf(onA), alertsOf(otherEstate)]
    await Promise.all([connected(onB), connected(onA), connected(otherEstate)])

    const mh1 = await connectDevice(a.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    const raised = await until(() => a.hub.alerts.openAlerts()[0], 'the alert stored on A')
    // Node B processed nothing: what its dashboards show came through the adapter.
    expect(b.hub.alerts.openAlerts()).toEqual([])
    await until(() => gotB.some((c) => c.alert.id === raised.id), 'the alert at the dashboard on B')
    expect(gotB[0]!.alert.type).toBe('manhole.cover_open')
    expect(gotB[0]!.alert.title.zh).toBeTruthy()

    // Later alerts in e1 and e2, also on A: everything travels one ordered stream, so once these
    // arrived a second copy of the first could no longer be on its way.
    await liftFault(a, 'e2_lift1')
    await liftFault(a, 'lift1')
    await until(() => raisedIds(gotB).includes('lift1'), 'the later e1 alert on B')
    await until(() => raisedIds(gotA).includes('lift1'), 'the later e1 alert on A')
    await until(() => raisedIds(gotOther).includes('e2_lift1'), 'the e2 alert at the e2 manager on B')
    expect(raisedIds(gotB)).toEqual(['mh1', 'lift1'])
    expect(raisedIds(gotA)).toEqual(['mh1', 'lift1'])
    // No change arrives twice (an alert has several: raised, then assigned by dispatch…).
    for (const got of [gotA, gotB, gotOther]) expect(new Set(got.map(entryOf)).size).toBe(got.length)
    expect(raisedIds(gotOther)).toEqual(['e2_lift1'])
    expect(gotOther.every((c) => c.alert.device_id === 'e2_lift1')).toBe(true)
  })

  it('live device values produced on node A reach the watchers on node B once, within their scope', async () => {
    const { a, b } = await twoNodes()
    const watcher = socketOf(b.httpUrl, { token: await tokenOf(b.httpUrl, 'mgr_e1') })
    const otherEstate = socketOf(b.httpUrl, { token: await tokenOf(b.httpUrl, 'mgr_e2') })
    const seen: DeviceLive[] = []
    const seenOther: DeviceLive[] = []
    watcher.on('live:devices', (ds) => seen.push(...ds))
    otherEstate.on('live:devices', (ds) => seenOther.push(...ds))
    await Promise.all([connected(watcher), connected(otherEstate)])
    expect(await watcher.emitWithAck('watch', 'e1')).toEqual({ ok: true })
    expect(await otherEstate.emitWithAck('watch', 'e2')).toEqual({ ok: true })

    const lift = await connectDevice(a.mqttUrl, 'lift1')
    const floors = (list: DeviceLive[], floor: number) =>
      list.filter((d) => d.id === 'lift1' && d.values.floor === floor)
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 7, moving: false }), {
      qos: 1,
    })
    await until(() => floors(seen, 7).length > 0, 'floor 7 at the watcher on B')
    expect(seen.find((d) => d.id === 'lift1')!.name).toBe('1号楼1号电梯')
    // The next change closes the window in which a second copy of the first could still arrive.
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 8, moving: false }), {
      qos: 1,
    })
    const e2 = await connectDevice(a.mqttUrl, 'e2_lift1')
    await e2.publishAsync('zhian/elevator/e2_lift1/state', JSON.stringify({ floor: 3, moving: false }), {
      qos: 1,
    })
    await until(() => floors(seen, 8).length > 0, 'floor 8 at the watcher on B')
    await until(() => seenOther.some((d) => d.id === 'e2_lift1'), "e2's lift at e2's watcher on B")
    expect(floors(seen, 7)).toHaveLength(1)
    expect(floors(seen, 8)).toHaveLength(1)
    expect(seen.some((d) => d.id === 'e2_lift1')).toBe(false)
    expect(seenOther.some((d) => d.id === 'lift1')).toBe(false)
  })

  it('a dashboard cut from node A resumes its session on node B with the alerts it missed, from both nodes', async () => {
    const { a, b } = await twoNodes()
    const lb = await balancer()
    lb.to(a)
    const token = await tokenOf(a.httpUrl, 'mgr_e1')
    const socket = socketOf(
      lb.url,
      { token },
      { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 200 },
    )
    const hellos: boolean[] = []
    socket.on('hello', (h) => hellos.push(h.recovered))
    const got = alertsOf(socket)
    await connected(socket)
    await until(() => hellos.length === 1, 'first hello')
    expect(hellos).toEqual([false])
    expect(a.hub.realtime.io!.of('/').sockets.size).toBe(1)

    // One alert while connected, so the tab holds an offset in the stream.
    const mh1 = await connectDevice(a.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => raisedIds(got).includes('mh1'), 'the first alert')

    // The network path to A breaks; the balancer holds the reconnect while alerts are raised on A and on B.
    lb.hold()
    lb.cut()
    await until(() => a.hub.realtime.io!.of('/').sockets.size === 0, 'A notices the drop')
    await liftFault(a, 'lift1')
    await liftFault(b, 'lift2')
    expect(raisedIds(got)).toEqual(['mh1'])

    // The reconnect lands on B: the same session, and both missed alerts, once each.
    shareSessions(a, b)
    lb.to(b)
    await until(() => hellos.length === 2, 'second hello')
    expect(hellos[1]).toBe(true)
    expect((socket as unknown as { recovered: boolean }).recovered).toBe(true)
    expect(b.hub.realtime.io!.of('/').sockets.size).toBe(1)
    await until(() => raisedIds(got).length === 3, 'the missed alerts')
    expect(raisedIds(got)).toEqual(['mh1', 'lift1', 'lift2'])
    // …and it is live on B: an alert raised on A after the switch arrives, once.
    await liftFault(a, 'lift2')
    await until(() => raisedIds(got).length === 4, 'a new alert from A')
    expect(raisedIds(got)).toEqual(['mh1', 'lift1', 'lift2', 'lift2'])
    expect(new Set(got.map(entryOf)).size).toBe(got.length)
    lb.close()
  })

  it('a node that stops hands its dashboards to another: they resume there with what they missed', async () => {
    const { a, b } = await twoNodes()
    const lb = await balancer()
    lb.to(a)
    const token = await tokenOf(a.httpUrl, 'mgr_e1')
    shareSessions(a, b)
    const socket = socketOf(
      lb.url,
      { token },
      { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 200 },
    )
    const hellos: boolean[] = []
    socket.on('hello', (h) => hellos.push(h.recovered))
    const got = alertsOf(socket)
    await connected(socket)
    await until(() => hellos.length === 1, 'first hello')
    const mh1 = await connectDevice(b.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => raisedIds(got).includes('mh1'), 'an alert from B at the dashboard on A')

    // A rolling restart takes node A down: its dashboards are closed without a socket.io goodbye,
    // so they reconnect (here held by the balancer while B raises an alert) and resume on B.
    lb.hold()
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve))
    await a.close()
    expect(await disconnected).toBe('transport close')
    await liftFault(b, 'lift1')
    lb.to(b)
    await until(() => hellos.length === 2, 'second hello')
    expect(hellos[1]).toBe(true)
    await until(() => raisedIds(got).includes('lift1'), 'the missed alert')
    expect(raisedIds(got)).toEqual(['mh1', 'lift1'])
    lb.close()
  })

  it("on another node, an old pid and offset need their own login: no credentials or another user's get nothing, the owner resumes", async () => {
    const { a, b } = await twoNodes()
    const token = await tokenOf(a.httpUrl, 'mgr_e1')
    const socket = socketOf(a.httpUrl, { token })
    const got = alertsOf(socket)
    await connected(socket)
    const mh1 = await connectDevice(a.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => got.length > 0, 'a first alert')
    const state = socket as unknown as { _pid: string; _lastOffset: string }
    const session = { pid: state._pid, offset: state._lastOffset }
    ;[...a.hub.realtime.io!.of('/').sockets.values()][0]!.conn.close()
    await until(() => a.hub.realtime.io!.of('/').sockets.size === 0, 'the drop')
    await liftFault(a, 'lift1')

    const anonymous = await resume(b, session)
    expect(anonymous.some((f) => f.startsWith('44{'))).toBe(true)
    expect(alertFrames(anonymous)).toEqual([])

    const other = await tokenOf(b.httpUrl, 'mgr_e2')
    const stranger = await resume(b, { ...session, token: other })
    const accepted = JSON.parse(stranger.find((f) => f.startsWith('40{'))!.slice(2)) as { pid: string }
    expect(accepted.pid).not.toBe(session.pid)
    expect(alertFrames(stranger)).toEqual([])

    shareSessions(a, b)
    const owner = await resume(b, { ...session, token })
    const resumed = JSON.parse(owner.find((f) => f.startsWith('40{'))!.slice(2)) as { pid: string }
    expect(resumed.pid).toBe(session.pid)
    const replayed = alertFrames(owner)
    expect(replayed).toContain('lift1 raised')
    // What it missed, once; not what it had already seen.
    expect(new Set(replayed).size).toBe(replayed.length)
    expect(replayed.every((c) => c.startsWith('lift1 '))).toBe(true)
  })

  it('logging out on one node closes the sockets of that session on every node at once, and only those', async () => {
    const { a, b } = await twoNodes()
    const ending = await tokenOf(b.httpUrl, 'mgr_e1')
    const staying = await tokenOf(b.httpUrl, 'mgr_e1')
    shareSessions(b, a)
    const onB = await connected(socketOf(b.httpUrl, { token: ending }))
    const onA = await connected(socketOf(a.httpUrl, { token: ending }))
    const other = await connected(socketOf(b.httpUrl, { token: staying }))
    const reasons = Promise.all(
      [onB, onA].map((s) => new Promise<string>((resolve) => s.once('disconnect', resolve))),
    )
    expect((await as(a.httpUrl, ending)('/api/auth/logout', { method: 'POST' })).status).toBeLessThan(300)
    expect(await reasons).toEqual(['io server disconnect', 'io server disconnect'])
    // The other session of the same user: still connected, still live (an alert from A arrives).
    const got = alertsOf(other)
    await liftFault(a, 'lift1')
    await until(() => raisedIds(got).includes('lift1'), 'an alert at the other session')
    expect(other.connected).toBe(true)
  })

  it('a scope that narrowed while away replays, on another node, only what the new scope may see', async () => {
    const { a, b } = await twoNodes()
    const lb = await balancer()
    lb.to(a)
    const token = await tokenOf(a.httpUrl, 'officer_c1')
    const socket = socketOf(
      lb.url,
      { token },
      { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 200 },
    )
    const hellos: { recovered: boolean; user: { scope: string | null } }[] = []
    socket.on('hello', (h) => hellos.push(h))
    const got = alertsOf(socket)
    await connected(socket)
    const mh1 = await connectDevice(a.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => raisedIds(got).includes('mh1'), 'a first alert')
    lb.hold()
    lb.cut()
    await until(() => a.hub.realtime.io!.of('/').sockets.size === 0, 'A notices the drop')
    // The community officer is moved to estate e1 only (in the store both nodes share), then both
    // estates raise an alert on A: the e2 one first.
    for (const node of [a, b])
      node.hub.db.prepare("UPDATE users SET scope = 'e1' WHERE username = 'officer_c1'").run()
    await liftFault(a, 'e2_lift1')
    await liftFault(a, 'lift1')
    shareSessions(a, b)
    lb.to(b)
    await until(() => hellos.length === 2, 'the second hello')
    expect(hellos[1]).toMatchObject({ recovered: true, user: { scope: 'e1' } })
    // Replayed in stream order: once the later e1 alert is here, the e2 one would have been too.
    await until(() => raisedIds(got).includes('lift1'), 'the e1 alert replayed')
    expect(raisedIds(got)).toEqual(['mh1', 'lift1'])
    expect(got.some((c) => c.alert.device_id === 'e2_lift1')).toBe(false)
    lb.close()
  })

  it("a node's socket.io connections to Redis are named after it and closed when it stops", async () => {
    const { a, b, redisUrl } = await twoNodes()
    const names = await redisClients(redisUrl)
    // One to publish and keep sessions, one reading the stream, one subscribed (peers' device values).
    expect(names.filter((n) => n === 'node-a:socket.io').length).toBe(3)
    expect(names.filter((n) => n === 'node-b:socket.io').length).toBe(3)
    await a.close()
    await until(
      async () => !(await redisClients(redisUrl)).includes('node-a:socket.io'),
      "node A's connections closed",
    )
    expect((await redisClients(redisUrl)).filter((n) => n === 'node-b:socket.io').length).toBe(3)
    await b.close()
    await until(
      async () => !(await redisClients(redisUrl)).includes('node-b:socket.io'),
      "node B's connections closed",
    )
  })
})
