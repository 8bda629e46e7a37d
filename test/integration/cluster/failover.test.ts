import fs from 'node:fs'
import mqtt from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { API_TOKEN, FIXTURES, tempDir, until } from '../../helpers/hub.ts'
import { type HubProcess, startHubProcess } from '../../helpers/hub-process.ts'
import { freshDatabase } from '../../helpers/postgres.ts'
import { startRedis } from '../../helpers/redis.ts'
import { connected, socketOf } from '../../helpers/session.ts'

/**
 * Cluster failover with real processes on a real PostgreSQL and Redis: the leader is killed with
 * SIGKILL and its data directory deleted right after a follower PUBACKed a reading whose `for` timers
 * had just started on the leader. Another node takes the lead, replays the shared log from the rules'
 * persisted position, and each alert is raised exactly once, at its hold time.
 */

const ESTATE = `${FIXTURES}/replay-estate.yaml`

interface Node extends HubProcess {
  id: string
  dataDir: string
}

async function health(node: Node): Promise<{ cluster?: { node: string; leader: boolean } } | undefined> {
  try {
    const res = await fetch(`${node.httpUrl}/healthz`)
    return (await res.json()) as { cluster?: { node: string; leader: boolean } }
  } catch {
    return undefined
  }
}

async function alertsOf(node: Node, type: string): Promise<Alert[]> {
  const res = await fetch(`${node.httpUrl}/api/alerts?type=${type}&limit=500`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  })
  if (res.status !== 200) throw new Error(`GET /api/alerts via ${node.id}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { items: Alert[] }).items
}

/** fp1 reports `occupied` at QoS 1 through `node`; resolves with the time, after the PUBACK. */
async function occupied(node: Node): Promise<number> {
  const client = await mqtt.connectAsync(node.mqttUrl, {
    username: 'fp1',
    password: 'fp1-secret-00001',
    reconnectPeriod: 0,
  })
  const sentAt = Date.now()
  await client.publishAsync('zhian/fire_passage/fp1/state', JSON.stringify({ occupied: true }), { qos: 1 })
  client.end(true)
  return sentAt
}

async function cluster(n: number): Promise<Node[]> {
  const redis = await startRedis()
  const db = await freshDatabase()
  const nodes: Node[] = []
  for (let i = 1; i <= n; i++) {
    const id = `n${i}`
    const dataDir = tempDir(`zhian-${id}-`)
    const hub = await startHubProcess({
      ZHIAN_DATA_DIR: dataDir,
      ZHIAN_CONFIG: ESTATE,
      ZHIAN_DATABASE_URL: db,
      ZHIAN_REDIS_URL: redis.url,
      ZHIAN_NODE_ID: id,
      ZHIAN_LOG_LEVEL: process.env.ZHIAN_TEST_LOG ?? 'warn',
    })
    nodes.push({ ...hub, id, dataDir })
    onTestFinished(async () => {
      await hub.stop()
    })
  }
  return nodes
}

async function leaderOf(nodes: Node[]): Promise<Node> {
  return until(async () => {
    const leaders: Node[] = []
    for (const n of nodes) if ((await health(n))?.cluster?.leader) leaders.push(n)
    return leaders.length === 1 ? leaders[0] : undefined
  }, 'exactly one leader')
}

describe('cluster failover', () => {
  it('the leader dies (SIGKILL, data directory deleted) while a PUBACKed reading’s timers run: a successor raises each alert once, at its time', {
    timeout: 120_000,
  }, async () => {
    const nodes = await cluster(3)
    const leader = await leaderOf(nodes)
    const follower = nodes.find((n) => n !== leader)!
    // A dashboard on the third node: it sees each raise once, across the failover.
    const watcher = nodes.find((n) => n !== leader && n !== follower)!
    const socket = await connected(socketOf(watcher.httpUrl, { token: API_TOKEN }))
    const seen: string[] = []
    socket.on('alert', ({ alert, entry }) => {
      if (entry.action === 'raised') seen.push(alert.type)
    })
    const sentAt = await occupied(follower)
    // The reading is on its way to the leader's rules, its timers just started there: the leader goes.
    await new Promise((r) => setTimeout(r, 300))
    leader.child.kill('SIGKILL')
    await new Promise((resolve) =>
      leader.child.exitCode !== null ? resolve(null) : leader.child.once('exit', resolve),
    )
    fs.rmSync(leader.dataDir, { recursive: true, force: true })

    const survivors = nodes.filter((n) => n !== leader)
    const successor = await leaderOf(survivors)
    expect(successor).not.toBe(leader)
    for (const [type, hold] of [
      ['fire_passage.occupied', 1000],
      ['fire_passage.blocked', 2000],
    ] as const) {
      // Asked through each survivor: a follower passes the request on to the leader.
      for (const n of survivors) {
        const raised = await until(async () => {
          const a = await alertsOf(n, type)
          return a.length > 0 ? a : undefined
        }, `${type} via ${n.id}`)
        expect(raised, `${type} once`).toHaveLength(1)
        expect(raised[0]!.first_at).toBeGreaterThanOrEqual(sentAt + hold - 50)
      }
    }
    await until(() => seen.length >= 2, 'both raises on the dashboard of a surviving node')
    // Nothing doubles later either.
    await new Promise((r) => setTimeout(r, 1500))
    expect(seen.sort()).toEqual(['fire_passage.blocked', 'fire_passage.occupied'])
    expect(await alertsOf(successor, 'fire_passage.occupied')).toHaveLength(1)
    expect(await alertsOf(successor, 'fire_passage.blocked')).toHaveLength(1)
  })

  it('a leader stopped for a rolling restart (SIGTERM) while timers run hands over: each alert once, at its time', {
    timeout: 120_000,
  }, async () => {
    const nodes = await cluster(2)
    const leader = await leaderOf(nodes)
    const follower = nodes.find((n) => n !== leader)!
    const sentAt = await occupied(follower)
    // Past the occupied hold, before the blocked one: the leader's last flush holds a running timer.
    await until(async () => (await alertsOf(leader, 'fire_passage.occupied')).length === 1, 'occupied raised')
    await leader.stop()
    expect(await leaderOf([follower])).toBe(follower)
    const blocked = await until(async () => {
      const a = await alertsOf(follower, 'fire_passage.blocked')
      return a.length > 0 ? a : undefined
    }, 'blocked raised by the successor')
    expect(blocked[0]!.first_at).toBeGreaterThanOrEqual(sentAt + 2000 - 50)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await alertsOf(follower, 'fire_passage.occupied')).toHaveLength(1)
    expect(await alertsOf(follower, 'fire_passage.blocked')).toHaveLength(1)
  })
})
