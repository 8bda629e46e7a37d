import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { API_TOKEN, buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import { freshDatabase } from '../../helpers/postgres.ts'
import { startRedis } from '../../helpers/redis.ts'
import { connected, DASHBOARD_ESTATE, socketOf, tokenOf } from '../../helpers/session.ts'

/**
 * Any node serves any person and any device: two real hubs on one PostgreSQL store and one Redis.
 * A follower passes the API on to the leader (the one in-memory state that acts on alerts), and a
 * device added or removed through one node is known to the other within about a second (the
 * registry's change counter on PostgreSQL).
 */

async function twoNodes(): Promise<{ a: TestHub; b: TestHub }> {
  const redis = await startRedis()
  const databaseUrl = await freshDatabase()
  const node = (nodeId: string) => ({ config: { databaseUrl, cluster: { redisUrl: redis.url, nodeId } } })
  const a = await buildHub({ estateFile: DASHBOARD_ESTATE, ...node('node-a') })
  await until(() => a.hub.cluster?.isLeader, 'node A leads')
  const b = await buildHub({ estateFile: DASHBOARD_ESTATE, ...node('node-b') })
  return { a, b }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' })

async function metric(hub: TestHub, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.split(' ')[1])
}

async function canConnect(url: string, id: string, secret: string): Promise<boolean> {
  try {
    const c = await mqtt.connectAsync(url, {
      username: id,
      password: secret,
      reconnectPeriod: 0,
      connectTimeout: 2000,
    })
    await c.endAsync(true)
    return true
  } catch {
    return false
  }
}

describe('cluster: any node serves any person and any device', () => {
  it('a manager logged in through the follower acknowledges an alert there; the leader holds the change', async () => {
    const { a, b } = await twoNodes()
    const token = await tokenOf(b.httpUrl, 'mgr_e1')
    const lift = await connectDevice(b.mqttUrl, 'lift1')
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ fault_code: 5 }), { qos: 1 })
    const raised = await until(
      () => a.hub.alerts.openAlerts().find((x) => x.device_id === 'lift1'),
      'the alert',
    )
    const seen = (await (
      await fetch(`${b.httpUrl}/api/alerts?status=active`, { headers: bearer(token) })
    ).json()) as {
      items: Alert[]
    }
    expect(seen.items.map((x) => x.id)).toContain(raised.id)
    const ack = await fetch(`${b.httpUrl}/api/alerts/${raised.id}/ack`, {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({ note: '已联系维保' }),
    })
    expect(ack.status).toBe(200)
    expect(a.hub.alerts.openAlerts().find((x) => x.id === raised.id)?.status).toBe('acknowledged')
    // The follower's own store never wrote it: the leader did, once.
    const audit = a.hub.db
      .prepare("SELECT count(*) AS n FROM alert_audit WHERE alert_id = ? AND action = 'acknowledged'")
      .get(raised.id) as { n: number }
    expect(audit.n).toBe(1)
  })

  it('a device added through one node connects to the other within seconds; removed through the other, it is cut off on both', async () => {
    const { a, b } = await twoNodes()
    const admin = API_TOKEN
    const res = await fetch(`${b.httpUrl}/api/devices`, {
      method: 'POST',
      headers: bearer(admin),
      body: JSON.stringify({ id: 'mh_new', kind: 'manhole', estate: 'e1', location: '东门' }),
    })
    expect(res.status).toBe(201)
    const { secret } = (await res.json()) as { secret: string }
    // Asked of node B's registry, not by trying to connect: failed attempts would trip the guessing throttle.
    await until(() => b.hub.registry.get('mh_new'), 'the new device known to node B', 5000)
    expect(await canConnect(b.mqttUrl, 'mh_new', secret)).toBe(true)
    expect(await canConnect(a.mqttUrl, 'mh_new', secret)).toBe(true)

    const device = await mqtt.connectAsync(b.mqttUrl, {
      username: 'mh_new',
      password: secret,
      reconnectPeriod: 0,
    })
    const closed = new Promise<void>((r) => device.once('close', () => r()))
    const del = await fetch(`${a.httpUrl}/api/devices/mh_new`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    })
    expect(del.status).toBeLessThan(300)
    await closed
    await until(() => !b.hub.registry.get('mh_new'), 'forgotten by node B', 5000)
    expect(await canConnect(b.mqttUrl, 'mh_new', secret)).toBe(false)
  })

  it('each node reports the cluster in /healthz and /metrics', async () => {
    const { a, b } = await twoNodes()
    const health = async (h: TestHub) =>
      (await (await fetch(`${h.httpUrl}/healthz`)).json()) as { cluster: unknown }
    expect((await health(a)).cluster).toEqual({ node: 'node-a', leader: true })
    expect((await health(b)).cluster).toEqual({ node: 'node-b', leader: false })
    await until(async () => (await metric(b, 'zhian_cluster_nodes_alive')) === 2, 'two nodes alive')
    expect(await metric(a, 'zhian_cluster_leader')).toBe(1)
    expect(await metric(b, 'zhian_cluster_leader')).toBe(0)
  })

  it('a dashboard on the follower sees parking occupancy from readings taken in by either node', async () => {
    const { a, b } = await twoNodes()
    const token = await tokenOf(b.httpUrl, 'mgr_e1')
    const socket = await connected(socketOf(b.httpUrl, { token }))
    const rollups: { parking: { zone: string; occupied: number; total: number }[] }[] = []
    socket.on('live:rollup', (r) => rollups.push(r))
    const pb1 = await connectDevice(a.mqttUrl, 'pb1')
    await pb1.publishAsync('zhian/parking_bay/pb1/state', JSON.stringify({ occupied: true }), { qos: 1 })
    const pb2 = await connectDevice(b.mqttUrl, 'pb2')
    await pb2.publishAsync('zhian/parking_bay/pb2/state', JSON.stringify({ occupied: true }), { qos: 1 })
    await until(
      () =>
        rollups.some((r) => r.parking.some((z) => z.zone === 'ground' && z.occupied === 2 && z.total === 2)),
      'both bays occupied on the follower’s dashboard',
    )
  })
})
