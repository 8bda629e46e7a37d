import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SMALL_ESTATE, secretOf, tempDir, until } from '../../helpers/hub.ts'
import { freePort, startInflux, type TestInflux } from '../../helpers/influx.ts'

/** The hub as a real process (`node --import tsx src/main.ts start`), so it can be killed with SIGKILL. */

const ROOT = path.resolve(import.meta.dirname, '../../..')
let influx: TestInflux
const children = new Set<ChildProcess>()

beforeAll(async () => {
  influx = await startInflux()
})
afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
})

async function startHubProcess(env: Record<string, string>, mqttPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  children.add(child)
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr += d
  })
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`hub exited ${child.exitCode}: ${stderr}`)
      try {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
          username: 'lift1',
          password: secretOf('lift1'),
          reconnectPeriod: 0,
          connectTimeout: 1000,
        })
        await c.endAsync(true)
        return true
      } catch {
        return false
      }
    },
    'hub process listening',
    30_000,
  )
  return child
}

describe('history: a hub killed with SIGKILL loses nothing it acknowledged', () => {
  it('after kill -9 mid-stream and a restart, every PUBACKed message is in InfluxDB exactly once', async () => {
    const db = 'killed'
    const mqttPort = await freePort()
    const env = {
      ZHIAN_DATA_DIR: tempDir(),
      ZHIAN_CONFIG: SMALL_ESTATE,
      ZHIAN_MQTT_HOST: '127.0.0.1',
      ZHIAN_MQTT_PORT: String(mqttPort),
      ZHIAN_HTTP_HOST: '127.0.0.1',
      ZHIAN_HTTP_PORT: String(await freePort()),
      ZHIAN_LOG_LEVEL: 'warn',
      ZHIAN_API_TOKEN: 'kill-test-token-0123456789',
      ZHIAN_DEVICE_RATE: '100000',
      ZHIAN_DEVICE_BURST: '1000000',
      ZHIAN_INFLUX_URL: influx.url,
      ZHIAN_INFLUX_DB: db,
      // Ship lazily so that a backlog is still in the journal when the hub dies.
      ZHIAN_INFLUX_BATCH_INTERVAL_MS: '700',
      ZHIAN_INFLUX_BATCH_SIZE: '500',
      // Records wait 25 ms in memory before each group commit: a PUBACK sent before the commit would be lost.
      ZHIAN_JOURNAL_COMMIT_DELAY_MS: '25',
    }
    let hub = await startHubProcess(env, mqttPort)

    const devices = ['lift1', 'lift2', 'mh1', 'fp1']
    const acked = new Map<string, Set<number>>(devices.map((d) => [d, new Set()]))
    // Every body as first sent: a resend is the same packet again (MQTT 3.1.1 §4.4, DUP=1).
    const sent = new Map<string, Map<number, string>>(devices.map((d) => [d, new Map()]))
    const topic = { lift1: 'elevator', lift2: 'elevator', mh1: 'manhole', fp1: 'fire_passage' } as Record<
      string,
      string
    >
    // lift2 stamps its readings with its own clock; the others leave the time to the hub.
    const body = (id: string, seq: number) =>
      topic[id] === 'elevator'
        ? { floor: seq % 18, seq, ...(id === 'lift2' ? { ts: Date.now() } : {}) }
        : topic[id] === 'manhole'
          ? { water_level_cm: seq % 100, seq }
          : { occupied: seq % 2 === 0, seq }
    let stop = false
    const publishers = devices.map(async (id) => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
        username: id,
        password: secretOf(id),
        reconnectPeriod: 0,
        protocolVersion: 4,
      })
      client.on('error', () => {})
      // When the hub dies, unacknowledged publishes never call back: release them on close.
      const pending = new Set<() => void>()
      client.on('close', () => {
        for (const release of pending) release()
      })
      let seq = 0
      const inflight = new Set<Promise<void>>()
      while (!stop && client.connected) {
        const s = seq++
        const payload = JSON.stringify(body(id, s))
        sent.get(id)!.set(s, payload)
        const p = new Promise<void>((resolve) => {
          pending.add(resolve)
          client.publish(`zhian/${topic[id]}/${id}/state`, payload, { qos: 1 }, (err) => {
            if (!err) acked.get(id)!.add(s)
            pending.delete(resolve)
            resolve()
          })
        })
        inflight.add(p)
        void p.then(() => inflight.delete(p))
        if (inflight.size >= 50) await Promise.race(inflight)
      }
      client.end(true)
    })
    await until(() => [...acked.values()].every((s) => s.size > 300), 'some acknowledged traffic', 20_000)
    hub.kill('SIGKILL')
    await new Promise((r) => hub.once('exit', r))
    stop = true
    await Promise.all(publishers)
    const total = [...acked.values()].reduce((n, s) => n + s.size, 0)
    expect(total).toBeGreaterThan(1200)

    hub = await startHubProcess(env, mqttPort)
    // Each device reconnects and resends what it holds unacknowledged. A kill rarely lands between a
    // commit and its PUBACK reaching the client, so the test widens that window: the last 20 acked
    // messages of each device count as if their PUBACKs had been lost, and are resent too — all of
    // them already in the journal (and maybe in InfluxDB) from before the crash.
    let resentJournalled = 0
    for (const id of devices) {
      const done = acked.get(id)!
      const lastAcked = [...done].sort((x, y) => x - y).slice(-20)
      const resend = [...sent.get(id)!.keys()].filter((s) => !done.has(s) || lastAcked.includes(s))
      resentJournalled += lastAcked.length
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
        username: id,
        password: secretOf(id),
        reconnectPeriod: 0,
        protocolVersion: 4,
      })
      for (const s of resend) {
        await client.publishAsync(`zhian/${topic[id]}/${id}/state`, sent.get(id)!.get(s)!, {
          qos: 1,
          dup: true,
        })
        done.add(s)
      }
      await client.endAsync()
    }
    expect(resentJournalled).toBe(80)

    const measurement = (id: string) => topic[id]!
    for (const id of devices) {
      const want = acked.get(id)!
      await until(
        async () => {
          const rows = await influx
            .rows(`SELECT count("seq") AS n FROM "${measurement(id)}" WHERE device_id = '${id}'`, db)
            .catch(() => []) // the database appears with the first write
          return Number(rows[0]?.n ?? 0) >= want.size
        },
        `acknowledged points of ${id}`,
        30_000,
      )
    }
    // Let the shipper finish the backlog, so that any duplicate would be in InfluxDB by now.
    await until(
      async () => {
        const res = await fetch(`http://127.0.0.1:${env.ZHIAN_HTTP_PORT}/metrics`)
        return /^zhian_history_backlog_bytes 0$/m.test(await res.text())
      },
      'backlog shipped',
      30_000,
    )
    for (const id of devices) {
      const want = acked.get(id)!
      const rows = await influx.rows(`SELECT "seq" FROM "${measurement(id)}" WHERE device_id = '${id}'`, db)
      const seqs = rows.map((r) => Number(r.seq))
      // No duplicates: neither the journal replay nor the devices' resends wrote a second point.
      expect(seqs.length - new Set(seqs).size, `${id}: duplicate seqs`).toBe(0)
      const stored = new Set(seqs)
      const missing = [...want].filter((s) => !stored.has(s))
      expect(missing).toEqual([])
    }
    hub.kill('SIGTERM')
    await new Promise((r) => hub.once('exit', r))
  }, 120_000)

  it("maps a resend to its first point across two crashes, even after the first run's journal was shipped and deleted", async () => {
    const db = 'twice'
    const mqttPort = await freePort()
    const dataDir = tempDir()
    const env = {
      ZHIAN_DATA_DIR: dataDir,
      ZHIAN_CONFIG: SMALL_ESTATE,
      ZHIAN_MQTT_HOST: '127.0.0.1',
      ZHIAN_MQTT_PORT: String(mqttPort),
      ZHIAN_HTTP_HOST: '127.0.0.1',
      ZHIAN_HTTP_PORT: String(await freePort()),
      ZHIAN_LOG_LEVEL: 'warn',
      ZHIAN_API_TOKEN: 'kill-test-token-0123456789',
      ZHIAN_INFLUX_URL: influx.url,
      ZHIAN_INFLUX_DB: db,
      ZHIAN_INFLUX_BATCH_INTERVAL_MS: '50',
    }
    const publish = async (id: string, topic: string, body: string) => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
        username: id,
        password: secretOf(id),
        reconnectPeriod: 0,
      })
      await client.publishAsync(topic, body, { qos: 1, dup: true })
      await client.endAsync()
    }
    const count = async (m: string, id: string) => {
      const rows = await influx
        .rows(`SELECT count("seq") AS n FROM "${m}" WHERE device_id = '${id}'`, db)
        .catch(() => [])
      return Number(rows[0]?.n ?? 0)
    }
    const kill = async (child: ChildProcess) => {
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
    }
    const segments = () => fs.readdirSync(path.join(dataDir, 'journal')).filter((f) => f.endsWith('.jnl'))
    // Run 1: lift1's reading (seq, no ts) is journalled and shipped; the hub dies.
    const reading = JSON.stringify({ floor: 3, seq: 7 })
    let hub = await startHubProcess(env, mqttPort)
    await publish('lift1', 'zhian/elevator/lift1/state', reading)
    await until(async () => (await count('elevator', 'lift1')) === 1, 'run 1 shipped')
    const firstRun = segments()[0]
    await kill(hub)
    // Run 2: another device's message is shipped, so run 1's segment is deleted; the hub dies again.
    hub = await startHubProcess(env, mqttPort)
    await publish('mh1', 'zhian/manhole/mh1/state', JSON.stringify({ water_level_cm: 10, seq: 1 }))
    await until(async () => (await count('manhole', 'mh1')) === 1, 'run 2 shipped')
    await until(() => !segments().includes(firstRun!), 'run 1 segment deleted once shipped')
    await kill(hub)
    // Run 3: lift1 resends the reading it never saw acknowledged: still one point.
    hub = await startHubProcess(env, mqttPort)
    await publish('lift1', 'zhian/elevator/lift1/state', reading)
    await publish('mh1', 'zhian/manhole/mh1/state', JSON.stringify({ water_level_cm: 11, seq: 2 }))
    await until(async () => (await count('manhole', 'mh1')) === 2, 'run 3 shipped')
    expect(await count('elevator', 'lift1')).toBe(1)
    hub.kill('SIGTERM')
    await new Promise((r) => hub.once('exit', r))
  }, 120_000)
})
