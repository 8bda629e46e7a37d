import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { startInflux, type TestInflux } from '../../helpers/influx.ts'

let influx: TestInflux
beforeAll(async () => {
  influx = await startInflux()
})

async function count(db: string, measurement: string, field: string): Promise<number> {
  // Before the shipper's first write the database does not exist yet: that is "0 points so far".
  const rows = await influx
    .rows(`SELECT count("${field}") AS n FROM "${measurement}"`, db)
    .catch((err: Error) => (/database not found/.test(err.message) ? [] : Promise.reject(err)))
  return Number(rows[0]?.n ?? 0)
}

describe('history: every acknowledged QoS 1 reading reaches InfluxDB exactly once', () => {
  it('writes exactly N points for N QoS 1 messages published back to back, with the PUBACKs in order', async () => {
    const db = 'exact_n'
    const { mqttUrl, hub } = await buildHub({ config: { history: influx.history(db) } })
    const lift = await connectDevice(mqttUrl, 'lift1')
    const N = 2000
    const acked: number[] = []
    const sent: Promise<void>[] = []
    // Same millisecond on purpose for many of them: readings of one device must never collapse.
    const ts = Date.now()
    for (let i = 0; i < N; i++) {
      sent.push(
        new Promise((resolve, reject) =>
          lift.publish(
            'zhian/elevator/lift1/state',
            JSON.stringify({ floor: i % 19, seq: i, ts: ts + Math.floor(i / 100) }),
            { qos: 1 },
            (err) => {
              if (err) reject(err)
              acked.push(i)
              resolve()
            },
          ),
        ),
      )
    }
    await Promise.all(sent)
    expect(acked).toEqual([...Array(N).keys()])
    await until(async () => (await count(db, 'elevator', 'seq')) >= N, 'all points in InfluxDB', 15_000)
    await new Promise((r) => setTimeout(r, 300))
    expect(await count(db, 'elevator', 'seq')).toBe(N)
    const seqs = await influx.rows(`SELECT "seq", "floor" FROM "elevator" WHERE device_id = 'lift1'`, db)
    expect(new Set(seqs.map((r) => r.seq)).size).toBe(N)
    expect(seqs.find((r) => r.seq === 25)).toMatchObject({ floor: 6 })
    // The device's own clock is kept (to the millisecond) for plausible timestamps.
    const first = await influx.rows(`SELECT "seq" FROM "elevator" WHERE seq = 0`, db)
    // seq 0's point is at ts ms + 0 ns; the JSON number of nanoseconds is only exact to 256 ns.
    expect(Math.round(Number(first[0]!.time) / 1e6)).toBe(ts)
    expect(hub.metrics.registry.getSingleMetric('zhian_history_points_written_total')).toBeDefined()
  })

  it('keeps PUBACKs in arrival order when refused messages (no journal wait) are pipelined between valid ones', async () => {
    const db = 'ack_order'
    const { mqttUrl } = await buildHub({
      config: { history: influx.history(db), journal: { commitDelayMs: 5 } },
    })
    const lift = await connectDevice(mqttUrl, 'lift2')
    const acked: number[] = []
    const sent: Promise<void>[] = []
    for (let i = 0; i < 300; i++) {
      // Every third one is refused by ingest (out of range) and would be acknowledged at once.
      const body = i % 3 === 2 ? JSON.stringify({ floor: 9999 }) : JSON.stringify({ floor: i % 18, seq: i })
      sent.push(
        new Promise((resolve, reject) =>
          lift.publish('zhian/elevator/lift2/state', body, { qos: 1 }, (err) => {
            if (err) reject(err)
            acked.push(i)
            resolve()
          }),
        ),
      )
    }
    await Promise.all(sent)
    expect(acked).toEqual([...Array(300).keys()])
    await until(async () => (await count(db, 'elevator', 'seq')) >= 200, 'valid points', 10_000)
    expect(await count(db, 'elevator', 'seq')).toBe(200)
  })

  it('runs without InfluxDB configured: the journal still makes the PUBACK durable for the rules, and nothing waits to be shipped', async () => {
    const { mqttUrl, hub, dataDir } = await buildHub()
    const journal = hub.gate.journal!
    expect(journal).toBeDefined()
    const seen: number[] = []
    hub.bus.on('reading', (r) => seen.push(r.seq!))
    const lift = await connectDevice(mqttUrl, 'lift1')
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 2, seq: 7 }), { qos: 1 })
    expect(seen).toEqual([7])
    expect(fs.readdirSync(path.join(dataDir, 'journal')).some((f) => f.endsWith('.jnl'))).toBe(true)
    await until(() => journal.backlogBytes() === 0, 'nothing left to ship', 5000)
  })

  it('runs with ZHIAN_JOURNAL=off: no journal, PUBACKs and bus events as before', async () => {
    const { mqttUrl, hub, dataDir } = await buildHub({ config: { journal: { mode: 'off' } } })
    expect(hub.gate.journal).toBeUndefined()
    const seen: number[] = []
    hub.bus.on('reading', (r) => seen.push(r.seq!))
    const lift = await connectDevice(mqttUrl, 'lift1')
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 2, seq: 7 }), { qos: 1 })
    expect(seen).toEqual([7])
    expect(fs.existsSync(path.join(dataDir, 'journal'))).toBe(false)
  })

  it('stores tags from the site tree and typed fields derived from the device kinds', async () => {
    const db = 'schema'
    const { mqttUrl } = await buildHub({ config: { history: influx.history(db) } })
    const lift = await connectDevice(mqttUrl, 'lift1')
    const pb = await connectDevice(mqttUrl, 'pb1')
    await lift.publishAsync(
      'zhian/elevator/lift1/state',
      JSON.stringify({ floor: 3, speed: 1, moving: true, door: 'closed', fault_code: 0 }),
      { qos: 1 },
    )
    await lift.publishAsync(
      'zhian/elevator/lift1/event',
      JSON.stringify({ type: 'fault', data: { code: 3, active: true } }),
      {
        qos: 1,
      },
    )
    await pb.publishAsync('zhian/parking_bay/pb1/state', JSON.stringify({ occupied: true }), { qos: 1 })
    await pb.publishAsync('zhian/parking_bay/pb1/availability', 'online', { qos: 1 })
    await until(async () => (await count(db, 'availability', 'online')) >= 1, 'availability point', 10_000)
    await until(async () => (await count(db, 'elevator_event', 'count')) >= 1, 'event point', 10_000)

    const keys = await influx.query('SHOW FIELD KEYS FROM "elevator"', db)
    const types = Object.fromEntries(keys[0]!.values.map(([k, t]) => [k, t]))
    expect(types).toMatchObject({
      floor: 'integer',
      speed: 'float',
      moving: 'boolean',
      door: 'string',
      fault_code: 'integer',
    })
    const [lift1] = await influx.rows(`SELECT * FROM "elevator"`, db)
    expect(lift1).toMatchObject({
      street: 's1',
      community: 'c1',
      estate: 'e1',
      building: 'e1_b1',
      device_id: 'lift1',
      speed: 1,
    })
    const [bay] = await influx.rows(`SELECT * FROM "parking_bay"`, db)
    expect(bay).toMatchObject({ estate: 'e1', device_id: 'pb1', zone: 'ground', occupied: true })
    const [event] = await influx.rows(`SELECT * FROM "elevator_event"`, db)
    expect(event).toMatchObject({ type: 'fault', code: 3, active: true, count: 1, device_id: 'lift1' })
    const [avail] = await influx.rows(`SELECT * FROM "availability"`, db)
    expect(avail).toMatchObject({ kind: 'parking_bay', online: true, device_id: 'pb1' })
  })

  it('keeps every acknowledged message when InfluxDB is down for a while mid-stream, then drains', async () => {
    const db = 'outage'
    const { mqttUrl, hub } = await buildHub({ config: { history: influx.history(db) } })
    const mh = await connectDevice(mqttUrl, 'mh1')
    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ tilt_deg: i % 90, seq: i }), {
          qos: 1,
        })
      }
    }
    await publish(0, 200)
    await until(async () => (await count(db, 'manhole', 'seq')) >= 200, 'first 200 points', 10_000)
    await influx.stop()
    // Ingest carries on: the PUBACKs keep coming while InfluxDB is down.
    await publish(200, 700)
    await until(
      async () => ((await hub.metrics.historyWriteFailures.get()).values[0]?.value ?? 0) > 0,
      'a failed write attempt',
      10_000,
    )
    expect(hub.gate.journal!.backlogBytes()).toBeGreaterThan(0)
    await influx.start()
    await publish(700, 800)
    await until(async () => (await count(db, 'manhole', 'seq')) >= 800, 'backlog drained', 20_000)
    expect(await count(db, 'manhole', 'seq')).toBe(800)
    await until(() => hub.gate.journal!.backlogBytes() === 0, 'empty backlog', 5000)
  })
})
