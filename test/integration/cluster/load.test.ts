import fs from 'node:fs'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { SMALL_ESTATE, secretOf, tempDir, until } from '../../helpers/hub.ts'
import { type HubProcess, startHubProcess } from '../../helpers/hub-process.ts'
import { startInflux } from '../../helpers/influx.ts'
import { freshDatabase } from '../../helpers/postgres.ts'
import { startRedis } from '../../helpers/redis.ts'

/**
 * Three hub processes on one PostgreSQL and one Redis, devices spread over all three publishing at
 * QoS 1 without pause. The leader is killed with SIGKILL and its data directory deleted; then every
 * node is restarted in turn (a rolling restart). Each device reconnects to another node whenever its
 * node goes. At the end every PUBACKed reading is in InfluxDB: none lost, whichever node took it in.
 */

const DEVICES = { lift1: 'elevator', lift2: 'elevator', mh1: 'manhole', fp1: 'fire_passage' } as const
type DeviceId = keyof typeof DEVICES

interface Slot {
  id: string
  dataDir: string
  hub: HubProcess | undefined
}

function body(id: DeviceId, seq: number): string {
  const kind = DEVICES[id]
  return JSON.stringify(
    kind === 'elevator'
      ? { floor: seq % 18, seq }
      : kind === 'manhole'
        ? { water_level_cm: seq % 100, seq }
        : { occupied: seq % 2 === 0, seq },
  )
}

describe('cluster under load', () => {
  it('loses no PUBACKed reading through a leader’s SIGKILL (data directory deleted) and a rolling restart of every node', {
    timeout: 240_000,
  }, async () => {
    const redis = await startRedis()
    const influx = await startInflux()
    const database = await freshDatabase()
    const db = 'cluster_load'
    const env = (slot: Slot) => ({
      ZHIAN_DATA_DIR: slot.dataDir,
      ZHIAN_CONFIG: SMALL_ESTATE,
      ZHIAN_DATABASE_URL: database,
      ZHIAN_REDIS_URL: redis.url,
      ZHIAN_NODE_ID: slot.id,
      ZHIAN_DEVICE_RATE: '100000',
      ZHIAN_DEVICE_BURST: '1000000',
      ZHIAN_INFLUX_URL: influx.url,
      ZHIAN_INFLUX_DB: db,
      ZHIAN_INFLUX_BATCH_INTERVAL_MS: '300',
      ZHIAN_LOG_LEVEL: process.env.ZHIAN_TEST_LOG ?? 'warn',
    })
    const slots: Slot[] = ['n1', 'n2', 'n3'].map((id) => ({
      id,
      dataDir: tempDir(`zhian-${id}-`),
      hub: undefined,
    }))
    for (const s of slots) s.hub = await startHubProcess(env(s))

    const acked = new Map<DeviceId, Set<number>>()
    let stop = false
    const publishers = (Object.keys(DEVICES) as DeviceId[]).map(async (id, i) => {
      acked.set(id, new Set())
      let seq = 0
      let turn = i
      while (!stop) {
        const slot = slots[turn++ % slots.length]!
        if (!slot.hub) continue
        let client: mqtt.MqttClient
        try {
          client = await mqtt.connectAsync(slot.hub.mqttUrl, {
            username: id,
            password: secretOf(id),
            reconnectPeriod: 0,
            connectTimeout: 2000,
          })
        } catch {
          await new Promise((r) => setTimeout(r, 100))
          continue
        }
        client.on('error', () => {})
        const pending = new Set<() => void>()
        client.on('close', () => {
          for (const release of pending) release()
        })
        const inflight = new Set<Promise<void>>()
        while (!stop && client.connected) {
          const s = seq++
          const p = new Promise<void>((resolve) => {
            pending.add(resolve)
            client.publish(`zhian/${DEVICES[id]}/${id}/state`, body(id, s), { qos: 1 }, (err) => {
              if (!err) acked.get(id)!.add(s)
              pending.delete(resolve)
              resolve()
            })
          })
          inflight.add(p)
          void p.then(() => inflight.delete(p))
          if (inflight.size >= 20) await Promise.race(inflight)
        }
        await Promise.allSettled(inflight)
        client.end(true)
      }
    })
    const total = () => [...acked.values()].reduce((n, s) => n + s.size, 0)
    const grow = async (by: number, what: string) => {
      const target = total() + by
      await until(() => total() >= target, what, 60_000)
    }
    const leader = async () =>
      until(async () => {
        for (const s of slots) {
          if (!s.hub) continue
          try {
            const h = (await (await fetch(`${s.hub.httpUrl}/healthz`)).json()) as {
              cluster?: { leader: boolean }
            }
            if (h.cluster?.leader) return s
          } catch {}
        }
        return undefined
      }, 'a leader')

    await grow(400, 'traffic on all three nodes')
    // The leader goes for good: SIGKILL, and its data directory deleted.
    const first = await leader()
    const dead = first.hub!
    first.hub = undefined
    dead.child.kill('SIGKILL')
    await new Promise((r) => (dead.child.exitCode !== null ? r(null) : dead.child.once('exit', r)))
    fs.rmSync(first.dataDir, { recursive: true, force: true })
    await grow(300, 'traffic after the leader died')
    // A new machine takes its place, then every node restarts in turn.
    first.dataDir = tempDir(`zhian-${first.id}-`)
    first.hub = await startHubProcess(env(first))
    for (const s of slots) {
      const old = s.hub!
      s.hub = undefined
      await old.stop()
      s.hub = await startHubProcess(env(s))
      await grow(150, `traffic after ${s.id} restarted`)
    }
    stop = true
    await Promise.all(publishers)
    expect(total()).toBeGreaterThan(1000)

    for (const [id, seqs] of acked) {
      const want = [...seqs]
      await until(
        async () => {
          const rows = await influx.rows(`SELECT "seq" FROM "${DEVICES[id]}" WHERE device_id = '${id}'`, db)
          const have = new Set(rows.map((r) => r.seq as number))
          return want.every((s) => have.has(s))
        },
        `every acknowledged reading of ${id} in InfluxDB`,
        60_000,
      )
    }
  })
})
