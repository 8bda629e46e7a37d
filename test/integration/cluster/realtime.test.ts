import net from 'node:net'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import type { DeviceLive } from '../../../src/live/live-state.ts'
import { API_TOKEN, buildHub, connectDevice, type TestHub, tempDir, until } from '../../helpers/hub.ts'
import { startHubProcess } from '../../helpers/hub-process.ts'
import { freshDatabase } from '../../helpers/postgres.ts'
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
 * Dashboards in cluster mode: two real hubs on one private Redis (socket.io's Redis Streams adapter,
 * the shared log) and one PostgreSQL store, real socket.io-client sockets of real users. Node A
 * starts first and leads: it raises the alerts, whichever node a device publishes to; node B follows
 * (its bus sees the leader's changes as replicas, and every reading through the shared log). What a
 * dashboard on either node gets must arrive once, and only if its user may see it.
 */

type Change = { alert: Alert; entry: AuditEntry }

interface Nodes {
  /** The leader. */
  a: TestHub
  /** A follower. */
  b: TestHub
  redisUrl: string
}

async function twoNodes(): Promise<Nodes & { databaseUrl: string }> {
  const redis = await startRedis()
  const databaseUrl = await freshDatabase()
  const node = (nodeId: string) => ({ config: { databaseUrl, cluster: { redisUrl: redis.url, nodeId } } })
  const a = await buildHub({ estateFile: DASHBOARD_ESTATE, ...node('node-a') })
  await until(() => a.hub.cluster?.isLeader, 'node A leads')
  const b = await buildHub({ estateFile: DASHBOARD_ESTATE, ...node('node-b') })
  expect(b.hub.cluster?.isLeader).toBe(false)
  return { a, b, redisUrl: redis.url, databaseUrl }
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

function alertsOf(socket: DashboardSocket): Change[] {
  const got: Change[] = []
  socket.on('alert', (c) => got.push(c))
  return got
}

/** A lift fault (GB/T 24476 code 5 raises at once) published to node `via`; the alert the leader stored. */
async function liftFault({ a }: Nodes, via: TestHub, device: 'lift1' | 'lift2' | 'e2_lift1'): Promise<Alert> {
  const lift = await connectDevice(via.mqttUrl, device)
  await lift.publishAsync(`zhian/elevator/${device}/state`, JSON.stringify({ fault_code: 5 }), { qos: 1 })
  return until(
    () => a.hub.alerts.openAlerts().find((x) => x.device_id === device),
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
  to: (node: { httpUrl: string }) => void
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
    to: (node) => {
      port = Number(new URL(node.httpUrl).port)
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

const admin = (hub: TestHub) => as(hub.httpUrl, API_TOKEN)

describe('dashboards in cluster mode', () => {
  it('an alert reaches the managers of its estate on both nodes once, and no one outside it', async () => {
    const nodes = await twoNodes()
    const { a, b } = nodes
    const onB = socketOf(b.httpUrl, { token: await tokenOf(b.httpUrl, 'mgr_e1') })
    const onA = socketOf(a.httpUrl, { token: await tokenOf(a.httpUrl, 'mgr_e1') })
    const otherEstate = socketOf(b.httpUrl, { token: await tokenOf(b.httpUrl, 'mgr_e2') })
    const [gotB, gotA, gotOther] = [alertsOf(onB), alertsOf(onA), alertsOf(otherEstate)]
    const ordersB: string[] = []
    onB.on('work_order', (c) => ordersB.push(JSON.stringify([c.work_order.id, c.event])))
    await Promise.all([connected(onB), connected(onA), connected(otherEstate)])

    // A device on node A; the alert is raised there and reaches B's dashboards through the adapter
    // (B's bus sees it too, as a replica, and sends nothing).
    const mh1 = await connectDevice(a.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => gotB.some((c) => c.alert.device_id === 'mh1'), 'the alert at the dashboard on B')
    expect(gotB[0]!.alert.type).toBe('manhole.cover_open')

    // Later alerts in e2 and e1, one through each node: everything travels one ordered stream, so
    // once these arrived a second copy of the first could no longer be on its way.
    await liftFault(nodes, a, 'e2_lift1')
    await liftFault(nodes, b, 'lift1')
    await until(() => raisedIds(gotB).includes('lift1'), 'the later e1 alert on B')
    await until(() => raisedIds(gotA).includes('lift1'), 'the later e1 alert on A')
    await until(() => raisedIds(gotOther).includes('e2_lift1'), 'the e2 alert at the e2 manager on B')
    expect(raisedIds(gotB)).toEqual(['mh1', 'lift1'])
    expect(raisedIds(gotA)).toEqual(['mh1', 'lift1'])
    // No change arrives twice (an alert has several: raised, then assigned by dispatch…).
    for (const got of [gotA, gotB, gotOther]) expect(new Set(got.map(entryOf)).size).toBe(got.length)
    expect(raisedIds(gotOther)).toEqual(['e2_lift1'])
    expect(gotOther.every((c) => c.alert.device_id === 'e2_lift1')).toBe(true)
    // The work orders dispatch opened for them (on the leader) reach B once too.
    expect(ordersB.length).toBeGreaterThan(0)
    expect(new Set(ordersB).size).toBe(ordersB.length)
  })

  it('live device values from a device on node A reach the watchers on node B once, within their scope', async () => {
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

  it('a dashboard cut from node A resumes its session on node B with the alerts it missed', async () => {
    const nodes = await twoNodes()
    const { a, b } = nodes
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

    // The network path to A breaks; the balancer holds the reconnect while alerts are raised from
    // devices on A and on B.
    lb.hold()
    lb.cut()
    await until(() => a.hub.realtime.io!.of('/').sockets.size === 0, 'A notices the drop')
    const lift1 = await liftFault(nodes, a, 'lift1')
    const lift2 = await liftFault(nodes, b, 'lift2')
    expect(raisedIds(got)).toEqual(['mh1'])

    // The reconnect lands on B: the same session, and both missed alerts, once each.
    lb.to(b)
    await until(() => hellos.length === 2, 'second hello')
    expect(hellos[1]).toBe(true)
    expect((socket as unknown as { recovered: boolean }).recovered).toBe(true)
    expect(b.hub.realtime.io!.of('/').sockets.size).toBe(1)
    await until(() => raisedIds(got).length === 3, 'the missed alerts')
    expect(raisedIds(got)).toEqual(['mh1', 'lift1', 'lift2'])
    // …and it is live on B: an acknowledgement (made on the leader, through B's API) arrives, once.
    expect((await admin(b)(`/api/alerts/${lift1.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(200)
    const acked = (c: Change) => c.alert.id === lift1.id && c.entry.action === 'acknowledged'
    await until(() => got.some(acked), 'the acknowledgement')
    // A later change closes the window for a second copy of the first.
    expect((await admin(a)(`/api/alerts/${lift2.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(200)
    await until(
      () => got.some((c) => c.alert.id === lift2.id && c.entry.action === 'acknowledged'),
      'the second acknowledgement',
    )
    expect(got.filter(acked)).toHaveLength(1)
    expect(new Set(got.map(entryOf)).size).toBe(got.length)
    lb.close()
  })

  it('a node that stops hands its dashboards to another: they resume there with what they missed', async () => {
    const nodes = await twoNodes()
    const { a, b } = nodes
    const lb = await balancer()
    lb.to(b)
    const token = await tokenOf(b.httpUrl, 'mgr_e1')
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
    const mh1 = await connectDevice(a.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => raisedIds(got).includes('mh1'), 'an alert at the dashboard on B')

    // A rolling restart takes node B down: its dashboards are closed without a socket.io goodbye,
    // so they reconnect (here held by the balancer while an alert is raised) and resume on A.
    lb.hold()
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve))
    await b.close()
    expect(await disconnected).toBe('transport close')
    await liftFault(nodes, a, 'lift1')
    lb.to(a)
    await until(() => hellos.length === 2, 'second hello')
    expect(hellos[1]).toBe(true)
    await until(() => raisedIds(got).includes('lift1'), 'the missed alert')
    expect(raisedIds(got)).toEqual(['mh1', 'lift1'])
    lb.close()
  })

  it("on another node, an old pid and offset need their own login: no credentials or another user's get nothing, the owner resumes", async () => {
    const nodes = await twoNodes()
    const { a, b } = nodes
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
    await liftFault(nodes, a, 'lift1')

    const anonymous = await resume(b, session)
    expect(anonymous.some((f) => f.startsWith('44{'))).toBe(true)
    expect(alertFrames(anonymous)).toEqual([])

    const other = await tokenOf(b.httpUrl, 'mgr_e2')
    const stranger = await resume(b, { ...session, token: other })
    const accepted = JSON.parse(stranger.find((f) => f.startsWith('40{'))!.slice(2)) as { pid: string }
    expect(accepted.pid).not.toBe(session.pid)
    expect(alertFrames(stranger)).toEqual([])

    const owner = await resume(b, { ...session, token })
    const resumed = JSON.parse(owner.find((f) => f.startsWith('40{'))!.slice(2)) as { pid: string }
    expect(resumed.pid).toBe(session.pid)
    const replayed = alertFrames(owner)
    expect(replayed).toContain('lift1 raised')
    // What it missed, once; not what it had already seen.
    expect(new Set(replayed).size).toBe(replayed.length)
    expect(replayed).not.toContain('mh1 raised')
  })

  it('logging out through one node closes the sockets of that session on every node at once, and only those', async () => {
    const nodes = await twoNodes()
    const { a, b } = nodes
    const ending = await tokenOf(b.httpUrl, 'mgr_e1')
    const staying = await tokenOf(b.httpUrl, 'mgr_e1')
    const onB = await connected(socketOf(b.httpUrl, { token: ending }))
    const onA = await connected(socketOf(a.httpUrl, { token: ending }))
    const other = await connected(socketOf(b.httpUrl, { token: staying }))
    const reasons = Promise.all(
      [onB, onA].map((s) => new Promise<string>((resolve) => s.once('disconnect', resolve))),
    )
    // Through B: the API is the leader's, so the session ends on A, and A's adapter tells B.
    expect((await as(b.httpUrl, ending)('/api/auth/logout', { method: 'POST' })).status).toBeLessThan(300)
    expect(await reasons).toEqual(['io server disconnect', 'io server disconnect'])
    // The other session of the same user: still connected, still live.
    const got = alertsOf(other)
    await liftFault(nodes, a, 'lift1')
    await until(() => raisedIds(got).includes('lift1'), 'an alert at the other session')
    expect(other.connected).toBe(true)
  })

  it('a scope that narrowed while away replays, on another node, only what the new scope may see', async () => {
    const nodes = await twoNodes()
    const { a, b } = nodes
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
    await until(() => raisedIds(got).includes('mh1'), 'a first alert', 15_000)
    lb.hold()
    lb.cut()
    await until(() => a.hub.realtime.io!.of('/').sockets.size === 0, 'A notices the drop')
    // The community officer is moved to estate e1 only (in the store both nodes share), then both
    // estates raise an alert: the e2 one first.
    a.hub.db.prepare("UPDATE users SET scope = 'e1' WHERE username = 'officer_c1'").run()
    await liftFault(nodes, a, 'e2_lift1')
    await liftFault(nodes, a, 'lift1')
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
    // One to publish and keep sessions, one reading the stream, one subscribed.
    expect(names.filter((n) => n === 'node-a:socket.io').length).toBe(3)
    expect(names.filter((n) => n === 'node-b:socket.io').length).toBe(3)
    await b.close()
    await until(
      async () => !(await redisClients(redisUrl)).includes('node-b:socket.io'),
      "node B's connections closed",
    )
    expect((await redisClients(redisUrl)).filter((n) => n === 'node-a:socket.io').length).toBe(3)
    await a.close()
    await until(
      async () => !(await redisClients(redisUrl)).includes('node-a:socket.io'),
      "node A's connections closed",
    )
  })

  it('a node killed outright (SIGKILL) leaves its dashboards a session to resume on another node, with what they missed', {
    timeout: 60_000,
  }, async () => {
    const nodes = await twoNodes()
    const { a, redisUrl, databaseUrl } = nodes
    // A third node as its own process, so that it can die without a word.
    const c = await startHubProcess({
      ZHIAN_DATA_DIR: tempDir('zhian-node-c-'),
      ZHIAN_CONFIG: DASHBOARD_ESTATE,
      ZHIAN_DATABASE_URL: databaseUrl,
      ZHIAN_REDIS_URL: redisUrl,
      ZHIAN_NODE_ID: 'node-c',
    })
    const lb = await balancer()
    lb.to(c)
    const token = await tokenOf(c.httpUrl, 'mgr_e1')
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
    const mh1 = await connectDevice(a.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => raisedIds(got).includes('mh1'), 'an alert at the dashboard on C')

    lb.hold()
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve))
    c.child.kill('SIGKILL')
    expect(await disconnected).toBe('transport close')
    await liftFault(nodes, a, 'lift1')
    lb.to(a)
    await until(() => hellos.length === 2, 'second hello')
    expect(hellos[1]).toBe(true)
    await until(() => raisedIds(got).includes('lift1'), 'the missed alert')
    expect(raisedIds(got)).toEqual(['mh1', 'lift1'])
    expect(new Set(got.map(entryOf)).size).toBe(got.length)
    lb.close()
  })

  it('a tab that said goodbye leaves no session to resume on any node', async () => {
    const nodes = await twoNodes()
    const { a, b } = nodes
    const token = await tokenOf(a.httpUrl, 'mgr_e1')
    const socket = socketOf(a.httpUrl, { token })
    const got = alertsOf(socket)
    await connected(socket)
    const mh1 = await connectDevice(a.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => got.length > 0, 'a first alert')
    const state = socket as unknown as { _pid: string; _lastOffset: string }
    const session = { pid: state._pid, offset: state._lastOffset }
    socket.disconnect()
    await until(() => a.hub.realtime.io!.of('/').sockets.size === 0, 'the goodbye')
    await liftFault(nodes, a, 'lift1')
    const frames = await resume(b, { ...session, token })
    const accepted = JSON.parse(frames.find((f) => f.startsWith('40{'))!.slice(2)) as { pid: string }
    expect(accepted.pid).not.toBe(session.pid)
    expect(alertFrames(frames)).toEqual([])
  })
})
