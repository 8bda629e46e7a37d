import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { beforeAll, describe, expect, it } from 'vitest'
import { InfluxV1Writer } from '../../../src/history/influx-v1.ts'
import { InfluxV2Writer } from '../../../src/history/influx-v2.ts'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { freePort, startInflux, type TestInflux } from '../../helpers/influx.ts'

/**
 * After an outage, shipping resumes when InfluxDB is back — not when the retry backoff runs out.
 * The backoff here is ten minutes (the first wait is between 5 and 10 min), so a point that arrives
 * within a minute of the restart can only have been sent because the shipper saw /ping answer.
 */

let influx: TestInflux
beforeAll(async () => {
  influx = await startInflux()
})

const TEN_MINUTES = 600_000

async function failures(hub: { metrics: { historyWriteFailures: { get: () => Promise<unknown> } } }) {
  const m = (await hub.metrics.historyWriteFailures.get()) as { values: { value: number }[] }
  return m.values[0]?.value ?? 0
}

describe('history: shipping resumes as soon as InfluxDB is back', () => {
  it('ships the backlog within seconds of InfluxDB answering again, long before the next scheduled retry', async () => {
    const db = 'resume'
    const { mqttUrl, hub } = await buildHub({
      config: { history: influx.history(db, { backoff: { minMs: TEN_MINUTES, maxMs: TEN_MINUTES } }) },
    })
    const mh = await connectDevice(mqttUrl, 'mh1')
    const seqs = async () =>
      (await influx.rows('SELECT "seq" FROM manhole', db).catch(() => [])).map((r) => Number(r.seq))
    await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ water_level_cm: 10, seq: 1 }), {
      qos: 1,
    })
    await until(async () => (await seqs()).includes(1), 'the first point', 10_000)

    await influx.stop()
    await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ water_level_cm: 11, seq: 2 }), {
      qos: 1,
    })
    // The write of seq 2 failed: the next attempt is scheduled 5 to 10 minutes from now.
    await until(async () => (await failures(hub)) > 0, 'a failed write', 10_000)
    await influx.start()
    await until(async () => (await seqs()).includes(2), 'the point written during the outage', 60_000)
    expect(await seqs()).toEqual([1, 2])
    // One failed write: the probes while waiting are not write attempts.
    expect(await failures(hub)).toBe(1)
  }, 90_000)

  it('keeps backing off from a server that answers but fails its writes (no write per probe)', async () => {
    // An InfluxDB-shaped server that is up (/ping 204, database creation accepted) and fails every write.
    const writes: number[] = []
    const server = http.createServer((req, res) => {
      req.resume()
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (path === '/ping') res.writeHead(204).end()
      else if (path === '/query')
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[{}]}')
      else if (path === '/write') {
        writes.push(Date.now())
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"engine overloaded"}')
      } else res.writeHead(404).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const { mqttUrl, hub } = await buildHub({
        config: {
          history: influx.history('never', { url, backoff: { minMs: TEN_MINUTES, maxMs: TEN_MINUTES } }),
        },
      })
      const mh = await connectDevice(mqttUrl, 'mh1')
      await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ water_level_cm: 10, seq: 1 }), {
        qos: 1,
      })
      await until(async () => (await failures(hub)) > 0, 'a failed write', 10_000)
      // Probing every second would have retried the write several times by now.
      await new Promise((r) => setTimeout(r, 4000))
      expect(writes).toHaveLength(1)
      expect(await failures(hub)).toBe(1)
    } finally {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
  }, 30_000)

  it('both write paths probe /ping of the server they write to, and a dead port does not answer', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const v1 = (url: string) =>
      new InfluxV1Writer({
        url,
        database: 'x',
        username: undefined,
        password: undefined,
        retention: undefined,
        timeoutMs: 1000,
      })
    const v2 = (url: string) =>
      new InfluxV2Writer({ url, org: 'o', bucket: 'b', token: undefined, timeoutMs: 1000 })
    expect(await v1(influx.url).ping(1000)).toBe(true)
    expect(await v2(`${influx.url}/`).ping(1000)).toBe(true)
    expect(await v1(dead).ping(1000)).toBe(false)
    expect(await v2(dead).ping(1000)).toBe(false)
  })
})
