import net from 'node:net'
import { Redis } from 'ioredis'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { buildHub, connectDevice, DEMO_ESTATE, secretOf, type TestHub, until } from '../../helpers/hub.ts'
import { startHubProcess } from '../../helpers/hub-process.ts'
import { freshDatabase } from '../../helpers/postgres.ts'
import { startRedis } from '../../helpers/redis.ts'
import type { Server } from '../../helpers/servers.ts'

/**
 * MQTT across the nodes of a cluster: two real hubs on the same estate file, each with its own data
 * directory, sharing one private Redis (Aedes' mqemitter-redis and aedes-persistence-redis), and real
 * mqtt.js clients connected to whichever node a load balancer would have given them.
 *
 * No waiting for silence: a check that something did NOT arrive ends with a marker sent after it
 * through the same path; messages to one client arrive in order, so a wrong delivery would be in first.
 */

const PASSWORD = 'correct-horse-42'
const LIFT1_SET = 'zhian/elevator/lift1/set'
const LIFT2_SET = 'zhian/elevator/lift2/set'

let redis: Server
beforeAll(async () => {
  redis = await startRedis()
})

/** Two nodes of one cluster: one PostgreSQL store, one Redis, a data directory each. */
async function twoNodes(): Promise<[TestHub, TestHub]> {
  const databaseUrl = await freshDatabase()
  const node = (nodeId: string) =>
    buildHub({ config: { databaseUrl, cluster: { redisUrl: redis.url, nodeId } } })
  return [await node('node-a'), await node('node-b')]
}

/** The cluster's leader (its rules raise every alert, and it publishes them) and the other node. */
async function byRole(nodes: TestHub[]): Promise<{ leader: TestHub; follower: TestHub }> {
  const leader = await until(async () => {
    for (const node of nodes) {
      const health = (await (await fetch(`${node.httpUrl}/healthz`)).json()) as {
        cluster?: { leader: boolean }
      }
      if (health.cluster?.leader) return node
    }
    return undefined
  }, 'a leader')
  return { leader, follower: nodes.find((n) => n !== leader)! }
}

/** A connection that records every message from its first byte (a replayed queue follows CONNACK at once). */
async function open(
  t: TestHub,
  options: IClientOptions,
): Promise<{ client: MqttClient; got: string[]; closed: Promise<void> }> {
  const client = mqtt.connect(t.mqttUrl, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  })
  const got: string[] = []
  client.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`))
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  onTestFinished(() => client.endAsync(true))
  return { client, got, closed }
}

/** CONNACK return code of one attempt (0 = accepted; the connection is then closed). */
function connackCode(t: TestHub, options: IClientOptions): Promise<number> {
  const client = mqtt.connect(t.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, ...options })
  return new Promise((resolve) => {
    client.once('connect', () => {
      client.end(true)
      resolve(0)
    })
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true)
      resolve(err.code ?? -1)
    })
  })
}

/**
 * MQTT 3.1.1 written byte by byte, for what mqtt.js will not do: leave in the middle of a QoS 2
 * exchange (after PUBREC, before PUBREL) and reuse a chosen packet identifier.
 */
class RawClient {
  private buffer = Buffer.alloc(0)
  private waiting: { first: number; resolve: () => void } | undefined
  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.check()
    })
  }

  static async connect(t: TestHub, clientId: string, username: string, password: string): Promise<RawClient> {
    const socket = net.connect(t.hub.broker.mqttPort, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    onTestFinished(() => void socket.destroy())
    const raw = new RawClient(socket)
    const flags = 0x80 | 0x40 | 0x02 // username, password, clean session [MQTT-3.1.2-3]
    const variable = Buffer.concat([str('MQTT'), Buffer.from([4, flags, 0, 60])])
    raw.send(0x10, Buffer.concat([variable, str(clientId), str(username), str(password)]))
    await raw.expect(0x20) // CONNACK
    return raw
  }

  async publishQos2(topic: string, payload: string, messageId: number): Promise<void> {
    this.send(0x34, Buffer.concat([str(topic), u16(messageId), Buffer.from(payload)])) // PUBLISH, QoS 2
    await this.expect(0x50) // PUBREC
  }

  async release(messageId: number): Promise<void> {
    this.send(0x62, u16(messageId)) // PUBREL [MQTT-3.6.1-1]
    await this.expect(0x70) // PUBCOMP
  }

  close(): void {
    this.socket.destroy()
  }

  private send(header: number, body: Buffer): void {
    this.socket.write(Buffer.concat([Buffer.from([header]), remainingLength(body.length), body]))
  }

  /** The next packet must be of this type (high nibble); it is consumed. */
  private expect(first: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = { first, resolve }
      this.check()
    })
  }

  private check(): void {
    // Every reply awaited here is 4 bytes long (fixed header, remaining length 2).
    if (!this.waiting || this.buffer.length < 4) return
    expect(this.buffer[0]! & 0xf0).toBe(this.waiting.first)
    this.buffer = this.buffer.subarray(4)
    const { resolve } = this.waiting
    this.waiting = undefined
    resolve()
  }
}

const str = (s: string) => Buffer.concat([u16(Buffer.byteLength(s)), Buffer.from(s)])
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff])
function remainingLength(n: number): Buffer {
  const bytes: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    bytes.push(byte)
  } while (n > 0)
  return Buffer.from(bytes)
}

const command = (t: TestHub, topic: string, payload: object) =>
  t.hub.broker.publish(topic, JSON.stringify(payload), { qos: 1, retain: false })

describe('MQTT across cluster nodes', { timeout: 60_000 }, () => {
  it('a command issued through node A reaches the device connected to node B, once', async () => {
    const [a, b] = await twoNodes()
    const lift1 = await open(b, { username: 'lift1', password: secretOf('lift1'), clientId: 'c1-lift1' })
    await lift1.client.subscribeAsync(LIFT1_SET, { qos: 1 })

    await command(a, LIFT1_SET, { report_interval_s: 60 })
    await until(() => lift1.got.length > 0, 'the command at the device on node B')
    // A second command, then: the first arrived once, in order, and nothing else came with it.
    await command(a, LIFT1_SET, { report_interval_s: 30 })
    await until(() => lift1.got.length > 1, 'the second command')
    expect(lift1.got).toEqual([
      `${LIFT1_SET} {"report_interval_s":60}`,
      `${LIFT1_SET} {"report_interval_s":30}`,
    ])
  })

  it('a hub alert raised on the leader reaches a user on the other node inside its scope, and not one outside it', async () => {
    const { leader, follower: b } = await byRole(await twoNodes())
    await b.hub.auth.users.add({ username: 'mgr_e1', password: PASSWORD, role: 'manager', scope: 'e1' })
    await b.hub.auth.users.add({ username: 'mgr_e2', password: PASSWORD, role: 'manager', scope: 'e2' })
    const e1 = await open(b, { username: 'user:mgr_e1', password: PASSWORD, clientId: 'c2-mgr-e1' })
    const e2 = await open(b, { username: 'user:mgr_e2', password: PASSWORD, clientId: 'c2-mgr-e2' })
    await e1.client.subscribeAsync('zhian/hub/alert', { qos: 1 })
    await e2.client.subscribeAsync('zhian/hub/alert', { qos: 1 })

    // The devices on the follower too: their readings reach the leader's rules through the shared
    // log, and the alerts come back to this node's subscribers through Redis.
    const lift1 = await connectDevice(b.mqttUrl, 'lift1', { clientId: 'c2-lift1' })
    const e2lift = await connectDevice(b.mqttUrl, 'e2_lift1', { clientId: 'c2-e2-lift1' })
    expect(leader).not.toBe(b)
    await lift1.publishAsync('zhian/elevator/lift1/event', '{"type":"alarm_button"}', { qos: 1 })
    const alerts = (got: string[]) => got.map((m) => JSON.parse(m.slice('zhian/hub/alert '.length)))
    await until(
      () => alerts(e1.got).find((x) => x.device_id === 'lift1' && x.type === 'elevator.alarm_button'),
      'the lift1 alert at the e1 manager on the follower',
    )
    // The marker for e2: its own estate's alarm, raised after lift1's.
    await e2lift.publishAsync('zhian/elevator/e2_lift1/event', '{"type":"alarm_button"}', { qos: 1 })
    const raised = (got: string[]) => alerts(got).filter((x) => x.event.action === 'raised')
    await until(
      () => raised(e2.got).find((x) => x.device_id === 'e2_lift1'),
      'the e2 alert at the e2 manager on the follower',
    )
    expect(alerts(e2.got).every((x) => x.estate === 'e2')).toBe(true)
    expect(raised(e2.got).filter((x) => x.device_id === 'e2_lift1')).toHaveLength(1)
    expect(alerts(e1.got).every((x) => x.estate === 'e1')).toBe(true)
    expect(raised(e1.got).filter((x) => x.type === 'elevator.alarm_button')).toHaveLength(1)
  })

  it('a persistent session left on node A gets its queued QoS 1 commands when it reconnects to node B; refused filters stay out', async () => {
    const [a, b] = await twoNodes()
    const session = { username: 'lift1', password: secretOf('lift1'), clientId: 'c3-lift1', clean: false }
    const first = await open(a, session)
    // One allowed filter and one another device's: SUBACK [1, 128], and only the first is stored.
    const granted = await first.client
      .subscribeAsync([LIFT1_SET, LIFT2_SET], { qos: 1 })
      .catch((err: { packet?: { granted: number[] } }) => err.packet?.granted.map((qos) => ({ qos })))
    expect(granted?.map((g) => g.qos)).toEqual([1, 128])
    await first.client.endAsync()

    // While it is away: commands through node A, and one for lift2 that its session must not hold.
    await command(a, LIFT2_SET, { report_interval_s: 5 })
    await command(a, LIFT1_SET, { report_interval_s: 60 })
    await command(b, LIFT1_SET, { report_interval_s: 30 })

    const again = await open(b, session)
    await until(() => again.got.length >= 2, 'the queued commands at node B')
    expect(again.got).toEqual([
      `${LIFT1_SET} {"report_interval_s":60}`,
      `${LIFT1_SET} {"report_interval_s":30}`,
    ])
    // The session itself moved: a live command through node A still reaches it on node B.
    await command(a, LIFT1_SET, { report_interval_s: 10 })
    await until(() => again.got.length >= 3, 'a live command after the move')
    expect(again.got[2]).toBe(`${LIFT1_SET} {"report_interval_s":10}`)
  })

  it('a user session left on node A gets the alerts raised meanwhile, in its scope only, on node B', async () => {
    const [a, b] = await twoNodes()
    await a.hub.auth.users.add({ username: 'view_e1', password: PASSWORD, role: 'viewer', scope: 'e1' })
    const session = { username: 'user:view_e1', password: PASSWORD, clientId: 'c4-view-e1', clean: false }
    const first = await open(a, session)
    await first.client.subscribeAsync('zhian/hub/alert', { qos: 1 })
    await first.client.endAsync()

    const lift1 = await connectDevice(a.mqttUrl, 'lift1', { clientId: 'c4-lift1' })
    const e2lift = await connectDevice(a.mqttUrl, 'e2_lift1', { clientId: 'c4-e2-lift1' })
    await e2lift.publishAsync('zhian/elevator/e2_lift1/event', '{"type":"alarm_button"}', { qos: 1 })
    await lift1.publishAsync('zhian/elevator/lift1/event', '{"type":"alarm_button"}', { qos: 1 })
    // Both alerts are raised (and queued for the session) before the viewer comes back.
    await until(
      async () => (await (await a.api('/api/alerts?type=elevator.alarm_button')).json()).total >= 2,
      'both alerts stored on node A',
    )

    const again = await open(b, session)
    await until(
      () => again.got.some((m) => m.includes('"device_id":"lift1"')),
      'the queued e1 alert at node B',
    )
    // The e2 alert was queued first: had the replay skipped the scope check, it would be here already.
    expect(again.got.some((m) => m.includes('e2_lift1'))).toBe(false)
  })

  it('a clean session dropped in the middle of a QoS 2 exchange leaves nothing behind in Redis', async () => {
    const [a] = await twoNodes()
    const floors: unknown[] = []
    a.hub.bus.on('reading', (r) => floors.push(r.values.floor))
    const db = new Redis(redis.url)
    onTestFinished(() => void db.disconnect())
    const leftOver = () => db.keys('zhian:zhian:mqtt:incoming*c7-lift1*')

    const raw = await RawClient.connect(a, 'c7-lift1', 'lift1', secretOf('lift1'))
    // PUBREC'd, so stored as "received, waiting for PUBREL" [MQTT-4.3.3-2]; then the connection drops.
    await raw.publishQos2('zhian/elevator/lift1/state', '{"floor":1}', 7)
    expect(await leftOver()).not.toEqual([])
    raw.close()
    // A clean session ends with its connection, its QoS 2 state included [MQTT-3.1.2-6]: a device
    // that keeps doing this (or an attacker with fresh client ids) must not grow Redis without bound.
    await until(async () => (await leftOver()).length === 0, 'the abandoned exchange gone from Redis')
    expect(floors).toEqual([1])
  })

  it('a client id is unique across the cluster: the same device takes it over, another identity is refused', async () => {
    const [a, b] = await twoNodes()
    await a.hub.auth.users.add({ username: 'view_e2', password: PASSWORD, role: 'viewer', scope: 'e2' })
    const clientId = 'c5-lift1-gateway'
    const onA = await open(a, { username: 'lift1', password: secretOf('lift1'), clientId })

    // The same device with the same client id on node B: node A closes its copy [MQTT-3.1.4-2].
    const onB = await open(b, { username: 'lift1', password: secretOf('lift1'), clientId })
    await onA.closed
    await onB.client.subscribeAsync(LIFT1_SET, { qos: 1 })

    // Another device, or a user, presenting it on either node: identifier rejected; the holder stays.
    const e2device = { clientId, username: 'e2_lift1', password: secretOf('e2_lift1') }
    expect(await connackCode(a, e2device)).toBe(2)
    expect(await connackCode(b, e2device)).toBe(2)
    expect(await connackCode(a, { clientId, username: 'user:view_e2', password: PASSWORD })).toBe(2)
    await command(a, LIFT1_SET, { report_interval_s: 60 })
    await until(() => onB.got.length > 0, 'a command at the holder on node B')
    expect(onB.client.connected).toBe(true)

    // Released cluster-wide when its (clean) holder leaves: then another device may use it.
    await onB.client.endAsync()
    await until(async () => (await connackCode(a, e2device)) === 0, 'the client id free on node A')
  })

  it('one node stopping (a rolling restart) does not tell subscribers the hub is offline; the last one does', async () => {
    const [a, b] = await twoNodes()
    await b.hub.auth.users.add({ username: 'view_all', password: PASSWORD, role: 'viewer', scope: null })
    const user = { username: 'user:view_all', password: PASSWORD }
    const watcher = await open(b, { ...user, clientId: 'c8-watcher' })
    await watcher.client.subscribeAsync('zhian/hub/availability', { qos: 1 })
    await until(() => watcher.got.length > 0, 'the retained hub availability')

    await a.close()
    // Someone opening the dashboard's MQTT feed now still reads the hub as online.
    const late = await open(b, { ...user, clientId: 'c8-late' })
    await late.client.subscribeAsync('zhian/hub/availability', { qos: 1 })
    await until(() => late.got.length > 0, 'the retained hub availability after node A left')
    expect(late.got).toEqual(['zhian/hub/availability online'])

    // The last node says it, once; node A's stop, earlier on the same path, said nothing.
    await b.close()
    await watcher.closed
    expect(watcher.got).toEqual(['zhian/hub/availability online', 'zhian/hub/availability offline'])
  })

  it('a node killed under its devices: a device back on node B is not marked offline by its old will, and the client ids node A held are free again', {
    timeout: 120_000,
  }, async () => {
    const databaseUrl = await freshDatabase()
    const a = await startHubProcess({
      ZHIAN_DATABASE_URL: databaseUrl,
      ZHIAN_REDIS_URL: redis.url,
      ZHIAN_NODE_ID: 'will-a',
    })
    const b = await buildHub({
      estateFile: DEMO_ESTATE,
      config: { databaseUrl, cluster: { redisUrl: redis.url, nodeId: 'will-b' } },
    })
    const id = 'elev_b1_1'
    const availability = `zhian/elevator/${id}/availability`
    const seen: string[] = []
    b.hub.bus.on('availability', (e) => e.device.id === id && seen.push(e.online ? 'online' : 'offline'))
    b.hub.bus.on('reading', (r) => r.device.id === id && seen.push(`floor ${r.values.floor}`))
    const device = {
      clientId: 'c9-elevator',
      will: { topic: availability, payload: Buffer.from('offline'), qos: 1 as const, retain: true },
    }
    const first = await connectDevice(a.mqttUrl, id, device)
    await first.publishAsync(availability, 'online', { qos: 1, retain: true })
    await until(() => seen.includes('online'), 'online through node A')
    // Another device's connection on node A: its client id is held while that connection lives.
    const gateway = { clientId: 'c9-gateway', username: 'elev_b1_2', password: secretOf('elev_b1_2') }
    const other = await connectDevice(a.mqttUrl, 'elev_b1_2', { clientId: gateway.clientId })
    const intruder = { clientId: gateway.clientId, username: id, password: secretOf(id) }
    expect(await connackCode(b, intruder)).toBe(2)

    a.child.kill('SIGKILL')
    first.end(true)
    other.end(true)
    const again = await connectDevice(b.mqttUrl, id, device)
    await again.publishAsync(availability, 'online', { qos: 1, retain: true })
    const back = seen.length
    // Node B finds node A dead (3 missed heartbeats) and sweeps the will node A stored for this
    // client id, while the device is connected to B under that id.
    const db = new Redis(redis.url)
    onTestFinished(() => void db.disconnect())
    await until(
      async () => (await db.exists('zhian:zhian:mqtt:will:will-a:c9-elevator')) === 0,
      "node A's will swept by node B",
      90_000,
    )
    // A reading after the sweep: anything the sweep did reached the bus before it.
    await again.publishAsync(`zhian/elevator/${id}/state`, '{"floor":7}', { qos: 1 })
    await until(() => seen.includes('floor 7'), 'the marker reading at node B')
    expect(seen.slice(back)).not.toContain('offline')
    // Node A is gone from the roster: the connections it counted no longer hold their client ids.
    await until(async () => (await connackCode(b, intruder)) === 0, "node A's client ids released", 60_000)
  })

  it('two clusters with different base topics share one Redis without touching each other', async () => {
    const node = async (nodeId: string, baseTopic: string) =>
      buildHub({
        config: { databaseUrl: await freshDatabase(), baseTopic, cluster: { redisUrl: redis.url, nodeId } },
      })
    const x = await node('x-1', 'zhian')
    const y = await node('y-1', 'tenant2')
    const login = { username: 'lift1', password: secretOf('lift1'), clientId: 'c10-lift1' }
    const onX = await open(x, login)
    await onX.client.subscribeAsync(LIFT1_SET, { qos: 1 })
    // The same device and client id in the other cluster: no takeover across clusters.
    const onY = await open(y, login)
    await onY.client.subscribeAsync('tenant2/elevator/lift1/set', { qos: 1 })
    await command(y, 'tenant2/elevator/lift1/set', { report_interval_s: 5 })
    await until(() => onY.got.length > 0, "the other cluster's command")
    await command(x, LIFT1_SET, { report_interval_s: 60 })
    await until(() => onX.got.length > 0, 'the command in this cluster')
    expect(onX.got).toEqual([`${LIFT1_SET} {"report_interval_s":60}`])
    expect(onY.got).toEqual(['tenant2/elevator/lift1/set {"report_interval_s":5}'])
    expect(onX.client.connected && onY.client.connected).toBe(true)
  })

  it('device authentication and the ACL hold the same on node B: no publishing as another device', async () => {
    const [a, b] = await twoNodes()
    expect(await connackCode(b, { username: 'lift1', password: 'wrong-secret-000' })).toBe(4)
    expect(await connackCode(b, { username: 'nosuchdevice', password: secretOf('lift1') })).toBe(4)

    const lift2 = await open(a, { username: 'lift2', password: secretOf('lift2'), clientId: 'c6-lift2' })
    await lift2.client.subscribeAsync(LIFT2_SET, { qos: 1 })
    const lift1 = await connectDevice(b.mqttUrl, 'lift1', { clientId: 'c6-lift1' })
    // lift1 through node B: a command to lift2, lift2's readings, a subscription to lift2's commands.
    await lift1.publishAsync(LIFT2_SET, '{"report_interval_s":1}', { qos: 1 })
    await lift1.publishAsync('zhian/elevator/lift2/state', '{"trapped":true}', { qos: 1 })
    await expect(lift1.subscribeAsync(LIFT2_SET, { qos: 1 })).rejects.toThrow(/Subscribe error/)
    const rejected = await b.hub.metrics.messagesRejected.get()
    expect(rejected.values.find((v) => v.labels.reason === 'ZHIAN_ERR_TOPIC_FORBIDDEN')?.value).toBe(2)

    // The marker: the hub's own command to lift2 through node B, after the forged one.
    await command(b, LIFT2_SET, { report_interval_s: 600 })
    await until(() => lift2.got.length > 0, 'the hub command at lift2 on node A')
    expect(lift2.got).toEqual([`${LIFT2_SET} {"report_interval_s":600}`])
  })

  it('a device removed through node A is disconnected from node B and cannot log in there again', async () => {
    const [a, b] = await twoNodes()
    const lift2 = await open(b, { username: 'lift2', password: secretOf('lift2'), clientId: 'c13-lift2' })
    const removed = await a.api('/api/devices/lift2', { method: 'DELETE' })
    expect(removed.status).toBeLessThan(300)
    await lift2.closed
    expect(await connackCode(b, { username: 'lift2', password: secretOf('lift2') })).toBe(4)
  })

  it('a damaged key in Redis fails Aedes’ will sweep without taking the node down', {
    timeout: 60_000,
  }, async () => {
    const [a, b] = await twoNodes()
    const lift1 = await open(b, { username: 'lift1', password: secretOf('lift1'), clientId: 'c12-lift1' })
    await lift1.client.subscribeAsync(LIFT1_SET, { qos: 1 })
    const db = new Redis(redis.url)
    onTestFinished(() => void db.disconnect())
    // The list of stored wills is now a string: its next sweep (every 20 s) gets WRONGTYPE.
    await db.set('zhian:zhian:mqtt:will', 'damaged')
    const monitor = await db.monitor()
    onTestFinished(() => void monitor.disconnect())
    let swept = false
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'lrange' && args[1] === 'zhian:zhian:mqtt:will') swept = true
    })
    await until(() => swept, 'a will sweep on the damaged key', 40_000)
    // Both nodes still serve: a command through node A reaches the device on node B.
    await command(a, LIFT1_SET, { report_interval_s: 60 })
    await until(() => lift1.got.length > 0, 'a command after the failed sweep')
    await db.del('zhian:zhian:mqtt:will')
  })

  // Last: it restarts the file's Redis.
  it('Redis unreachable: a login gets CONNACK 3 (server unavailable, retry), not 5; then Redis restarts and the nodes carry on', {
    timeout: 90_000,
  }, async () => {
    const [a, b] = await twoNodes()
    await a.hub.auth.users.add({ username: 'view_r', password: PASSWORD, role: 'viewer', scope: null })
    const lift1 = await open(b, { username: 'lift1', password: secretOf('lift1'), clientId: 'c11-lift1' })
    await lift1.client.subscribeAsync(LIFT1_SET, { qos: 1 })
    await redis.stop()
    // ioredis holds the claim while it reconnects (20 attempts, about 10 s), then gives up on it.
    const user = {
      username: 'user:view_r',
      password: PASSWORD,
      clientId: 'c11-viewer',
      connectTimeout: 60_000,
    }
    expect(await connackCode(b, user)).toBe(3)
    await redis.start()

    // ioredis reconnects and subscribes again; until then a command fails at node A (not lost silently).
    await until(
      async () => {
        await command(a, LIFT1_SET, { report_interval_s: 60 }).catch(() => {})
        return lift1.got.length > 0
      },
      'a command through node A reaching node B after the restart',
      30_000,
    )
    expect(new Set(lift1.got)).toEqual(new Set([`${LIFT1_SET} {"report_interval_s":60}`]))
    expect(lift1.client.connected).toBe(true)
  })
})
