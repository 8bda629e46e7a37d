import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { HistoryConfig } from '../../../src/config/env.ts'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'

/**
 * The v2 write path (@influxdata/influxdb-client → /api/v2/write). The local InfluxDB is 1.6.7,
 * which has no /api/v2/write, so this path is tested against a local HTTP endpoint that records
 * what it receives (and fails on purpose): line encoding, batching, auth, retry, refusal.
 */

interface Received {
  url: URL
  auth: string | undefined
  lines: string[]
  status: number
}

async function recordingServer(respond: (lines: string[], n: number) => number) {
  const received: Received[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body)
      const lines = body.toString('utf8').split('\n').filter(Boolean)
      const status = respond(lines, received.length)
      received.push({ url: new URL(req.url!, 'http://x'), auth: req.headers.authorization, lines, status })
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(
        status >= 300
          ? JSON.stringify({ code: status === 400 ? 'invalid' : 'unavailable', message: 'test' })
          : '',
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

function v2(url: string, overrides: Partial<HistoryConfig> = {}): HistoryConfig {
  return {
    api: 'v2',
    url,
    database: 'unused',
    username: undefined,
    password: undefined,
    retention: undefined,
    org: 'estate-org',
    bucket: 'zhian/autogen',
    token: 'secret-token',
    batchSize: 50,
    batchIntervalMs: 20,
    timeoutMs: 2000,
    backoff: { minMs: 20, maxMs: 100 },
    tsMaxFutureMs: 300_000,
    tsMaxPastMs: 7 * 86_400_000,
    ...overrides,
  }
}

describe('history v2 API: @influxdata/influxdb-client behind the journal', () => {
  it('sends typed line protocol in batches to /api/v2/write, retries 503s, and loses nothing', async () => {
    const server = await recordingServer((_lines, n) => (n < 2 ? 503 : 204))
    const { mqttUrl } = await buildHub({ config: { history: v2(server.url) } })
    const lift = await connectDevice(mqttUrl, 'lift1')
    const N = 120
    await Promise.all(
      [...Array(N).keys()].map((i) =>
        lift.publishAsync(
          'zhian/elevator/lift1/state',
          JSON.stringify({ floor: i % 10, speed: 1.5, moving: i % 2 === 0, door: 'closed', seq: i }),
          { qos: 1 },
        ),
      ),
    )
    const ok = () => server.received.filter((r) => r.status === 204)
    await until(() => new Set(ok().flatMap((r) => r.lines)).size >= N, 'all lines accepted', 15_000)

    const first = server.received[0]!
    expect(first.url.pathname).toBe('/api/v2/write')
    expect(Object.fromEntries(first.url.searchParams)).toMatchObject({
      org: 'estate-org',
      bucket: 'zhian/autogen',
      precision: 'ns',
    })
    expect(first.auth).toBe('Token secret-token')
    // The refused batches were sent again as they were: the client's own buffer was never the only copy.
    expect(server.received[1]!.lines).toEqual(first.lines)
    expect(server.received[2]!.lines).toEqual(first.lines)
    for (const r of server.received) expect(r.lines.length).toBeLessThanOrEqual(50)
    const lines = ok().flatMap((r) => r.lines)
    expect(lines).toHaveLength(N)
    const line = lines.find((l) => l.includes('seq=7i'))!
    expect(line).toMatch(
      /^elevator,building=e1_b1,community=c1,device_id=lift1,estate=e1,street=s1 door="closed",floor=7i,moving=F,seq=7i,speed=1\.5 \d{19}$/,
    )
    // Timestamps: nanoseconds, distinct per reading even within one millisecond.
    const stamps = lines.map((l) => l.split(' ').at(-1))
    expect(new Set(stamps).size).toBe(N)
  })

  it('skips only the point the server refuses as data (400), after isolating it', async () => {
    const server = await recordingServer((lines) => (lines.some((l) => l.includes('seq=13i')) ? 400 : 204))
    const { mqttUrl, hub } = await buildHub({ config: { history: v2(server.url) } })
    const mh = await connectDevice(mqttUrl, 'mh1')
    for (let i = 0; i < 30; i++) {
      await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ tilt_deg: 2, seq: i }), { qos: 1 })
    }
    const accepted = () => server.received.filter((r) => r.status === 204).flatMap((r) => r.lines)
    await until(() => accepted().length >= 29, '29 accepted points', 10_000)
    await until(() => hub.gate.journal!.backlogBytes() === 0, 'backlog empty', 5000)
    expect(accepted().some((l) => l.includes('seq=13i'))).toBe(false)
    expect(new Set(accepted().map((l) => /seq=(\d+)i/.exec(l)![1])).size).toBe(29)
    const dropped = await hub.metrics.registry.getSingleMetric('zhian_history_dropped_total')!.get()
    expect(dropped.values.find((v) => v.labels.reason === 'rejected')?.value).toBe(1)
  })
})
