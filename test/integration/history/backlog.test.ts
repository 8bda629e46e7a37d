import { Writable } from 'node:stream'
import { pino } from 'pino'
import { beforeAll, describe, expect, it } from 'vitest'
import { Bus } from '../../../src/core/bus.ts'
import { Metrics } from '../../../src/core/metrics.ts'
import { History } from '../../../src/history/history.ts'
import { Gate } from '../../../src/ingest/gate.ts'
import { buildHub, connectDevice, tempDir, until } from '../../helpers/hub.ts'
import { freePort, startInflux, type TestInflux } from '../../helpers/influx.ts'

/**
 * Documented behaviour: while InfluxDB is unreachable the backlog waits in the journal. At 80 % of
 * ZHIAN_JOURNAL_BACKLOG_MB it warns (log line + hub warning hook); past the limit the OLDEST
 * unshipped segments are dropped (zhian_history_dropped_total{reason="backlog_full_bytes"}), ingest
 * and PUBACKs carry on, and the newest readings reach InfluxDB when it returns.
 */

let influx: TestInflux
beforeAll(async () => {
  influx = await startInflux()
})

async function metric(
  hub: { metrics: Metrics },
  name: string,
  label?: Record<string, string>,
): Promise<number> {
  const m = hub.metrics.registry.getSingleMetric(name)
  const { values } = await m!.get()
  const v = values.find((x) => !label || Object.entries(label).every(([k, val]) => x.labels[k] === val))
  return v?.value ?? 0
}

describe('history: the on-disk backlog is bounded', () => {
  it('drops the oldest unshipped readings past the limit, keeps ingesting, and ships the newest when InfluxDB returns', async () => {
    const db = 'bounded'
    const limit = 64 * 1024
    const { mqttUrl, hub } = await buildHub({
      config: { history: influx.history(db), journal: { maxBacklogBytes: limit } },
    })
    const mh = await connectDevice(mqttUrl, 'mh1')
    await influx.stop()
    const N = 2000
    for (let i = 0; i < N; i++) {
      await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ water_level_cm: i % 500, seq: i }), {
        qos: 1,
      })
    }
    expect(await metric(hub, 'zhian_history_backlog_limit_bytes')).toBe(limit)
    expect(
      await metric(hub, 'zhian_history_dropped_total', { reason: 'backlog_full_bytes' }),
    ).toBeGreaterThan(0)
    const backlog = await metric(hub, 'zhian_history_backlog_bytes')
    expect(backlog).toBeLessThanOrEqual(limit + limit / 8)
    expect(backlog).toBeGreaterThan(limit / 2)
    // The hub's own warning alert, in the alert store like any other.
    const warning = hub.alerts.openFor('hub', 'hub.history_backlog')
    expect(warning).toMatchObject({ kind: 'hub', severity: 'warning', status: 'active', estate: null })
    expect(warning!.values).toMatchObject({ limit_bytes: limit, dropping: true })
    await influx.start()
    await until(
      async () =>
        (await influx.rows(`SELECT "seq" FROM manhole WHERE seq = ${N - 1}`, db).catch(() => [])).length ===
        1,
      'the newest reading',
      20_000,
    )
    await until(() => hub.gate.journal!.backlogBytes() === 0, 'backlog drained', 10_000)
    expect(hub.alerts.openFor('hub', 'hub.history_backlog')).toBeUndefined()
    const rows = await influx.rows('SELECT "seq" FROM manhole', db)
    const seqs = rows.map((r) => Number(r.seq))
    // The newest are all there, contiguous up to the last one; the oldest were dropped.
    expect(seqs.length).toBeLessThan(N)
    expect(seqs.length).toBeGreaterThan(100)
    const newest = seqs.slice(-100)
    expect(newest).toEqual([...Array(100).keys()].map((k) => N - 100 + k))
    // Old readings are gone (the batch the shipper was already retrying when they were dropped is still delivered).
    expect(seqs).not.toContain(1000)
  })

  it('warns once (log line and the hub warning hook) when the backlog passes 80 % of its limit, and once when it drops', async () => {
    const lines: string[] = []
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk))
          cb()
        },
      }),
    )
    const warnings: { level: string }[] = []
    const bus = new Bus()
    const deadPort = await freePort()
    const metrics = new Metrics()
    const journal = { maxBacklogBytes: 40 * 1024 }
    const gate = new Gate({ journal, dataDir: tempDir(), bus, metrics, log })
    const history = new History({
      history: { ...influx.history('never'), url: `http://127.0.0.1:${deadPort}` },
      journal: gate.journal,
      bus,
      metrics,
      log,
      onBacklogWarning: (w) => warnings.push(w),
    })
    await gate.start()
    history.start()
    const device = {
      id: 'lift1',
      kind: 'elevator' as const,
      estate: 'e1',
      building: undefined,
      name: undefined,
      location: undefined,
      params: {},
      site: { street: 's1', community: 'c1', estate: 'e1', building: undefined },
    }
    const seen: number[] = []
    bus.on('reading', (r) => seen.push(r.seq!))
    for (let i = 0; i < 400; i++) {
      const now = Date.now()
      gate.emit('reading', {
        device,
        values: { floor: i % 10 },
        ts: now,
        receivedAt: now,
        seq: i,
      })
      await gate.durable()
    }
    await history.stop()
    await gate.stop()
    // Every event reached the hub bus, in order, once durable.
    expect(seen).toEqual([...Array(400).keys()])
    expect(warnings.map((w) => w.level)).toContain('filling')
    expect(warnings.filter((w) => w.level === 'filling')).toHaveLength(1)
    expect(lines.filter((l) => l.includes('history backlog is filling'))).toHaveLength(1)
    // Dropping is logged and alerted once per episode, not at every commit.
    expect(lines.filter((l) => l.includes('history backlog full'))).toHaveLength(1)
    expect(warnings.filter((w) => w.level === 'dropping')).toHaveLength(1)
  })
})
