import { beforeAll, describe, expect, it } from 'vitest'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { startInflux, type TestInflux } from '../../helpers/influx.ts'

/**
 * History settings against a real influxd: the retention policy ZHIAN_INFLUX_RETENTION asks for, and
 * the device timestamp window (ZHIAN_INFLUX_TS_SKEW_S / ZHIAN_INFLUX_TS_MAX_AGE_S), which ingest applies.
 */

let influx: TestInflux
beforeAll(async () => {
  influx = await startInflux()
})

const DAY = 86_400_000

async function policies(db: string): Promise<Record<string, { duration: string; default: boolean }>> {
  const [series] = await influx.query(`SHOW RETENTION POLICIES ON "${db}"`)
  const col = (name: string) => series!.columns.indexOf(name)
  return Object.fromEntries(
    series!.values.map((row) => [
      String(row[col('name')]),
      { duration: String(row[col('duration')]), default: row[col('default')] === true },
    ]),
  )
}

async function pointsOf(db: string, measurement: string, device: string) {
  const rows = await influx
    .rows(`SELECT "seq" FROM "${measurement}" WHERE device_id = '${device}' AND time > 0`, db)
    .catch(() => [])
  return rows.map((r) => ({ seq: Number(r.seq), ms: Math.floor(Number(r.time) / 1e6) }))
}

describe('history settings', () => {
  it('creates the retention policy `zhian` as the default, and alters it when the duration changes', async () => {
    const db = 'retained'
    const first = await buildHub({ config: { history: influx.history(db, { retention: '30d' }) } })
    const lift = await connectDevice(first.mqttUrl, 'lift1')
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 3, seq: 1 }), { qos: 1 })
    await until(async () => (await pointsOf(db, 'elevator', 'lift1')).length === 1, 'first point', 15_000)
    expect((await policies(db)).zhian).toEqual({ duration: '720h0m0s', default: true })
    // The point went to the default policy, i.e. `zhian`.
    const [inRp] = await influx.query(`SELECT count("seq") FROM "zhian"."elevator"`, db)
    expect(inRp?.values[0]?.[1]).toBe(1)
    await lift.endAsync(true)
    await first.close()

    // A later start with another duration alters the policy in place; autogen stays, not default.
    const second = await buildHub({ config: { history: influx.history(db, { retention: '12w' }) } })
    const again = await connectDevice(second.mqttUrl, 'lift1')
    await again.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 4, seq: 2 }), { qos: 1 })
    await until(async () => (await pointsOf(db, 'elevator', 'lift1')).length === 2, 'second point', 15_000)
    const after = await policies(db)
    expect(after.zhian).toEqual({ duration: '2016h0m0s', default: true })
    expect(after.autogen?.default).toBe(false)
  })

  it("keeps a device's ts inside the configured window, also beyond the defaults, and replaces it outside", async () => {
    const db = 'ts_window'
    const { mqttUrl } = await buildHub({
      config: {
        history: influx.history(db),
        // ZHIAN_INFLUX_TS_SKEW_S=3600, ZHIAN_INFLUX_TS_MAX_AGE_S=2592000 (30 days)
        tsWindow: { maxFutureMs: 3_600_000, maxPastMs: 30 * DAY },
      },
    })
    const mh = await connectDevice(mqttUrl, 'mh1')
    const now = Date.now()
    const sent = {
      1: now - 10 * DAY, // older than the 7-day default: kept here
      2: now + 30 * 60_000, // further ahead than the 5-minute default: kept here
      3: now + 2 * 3_600_000, // outside: receive time
      4: now - 40 * DAY, // outside: receive time
    } as Record<number, number>
    const before = Date.now()
    for (const [seq, ts] of Object.entries(sent))
      await mh.publishAsync(
        'zhian/manhole/mh1/state',
        JSON.stringify({ water_level_cm: 10, seq: Number(seq), ts }),
        {
          qos: 1,
        },
      )
    const after = Date.now()
    const points = await until(
      async () => {
        const p = await pointsOf(db, 'manhole', 'mh1')
        return p.length === 4 ? p : undefined
      },
      'four points',
      15_000,
    )
    const at = Object.fromEntries(points.map((p) => [p.seq, p.ms]))
    expect(at[1]).toBe(sent[1])
    expect(at[2]).toBe(sent[2])
    for (const seq of [3, 4]) {
      expect(at[seq]).toBeGreaterThanOrEqual(before)
      expect(at[seq]).toBeLessThanOrEqual(after)
    }
  })

  it('applies the default window (5 min ahead, 7 days behind) when none is configured', async () => {
    const db = 'ts_default'
    const { mqttUrl } = await buildHub({ config: { history: influx.history(db) } })
    const mh = await connectDevice(mqttUrl, 'mh1')
    const now = Date.now()
    const before = Date.now()
    await mh.publishAsync(
      'zhian/manhole/mh1/state',
      JSON.stringify({ water_level_cm: 1, seq: 1, ts: now - DAY }),
      {
        qos: 1,
      },
    )
    await mh.publishAsync(
      'zhian/manhole/mh1/state',
      JSON.stringify({ water_level_cm: 1, seq: 2, ts: now - 10 * DAY }),
      {
        qos: 1,
      },
    )
    const after = Date.now()
    const points = await until(
      async () => {
        const p = await pointsOf(db, 'manhole', 'mh1')
        return p.length === 2 ? p : undefined
      },
      'two points',
      15_000,
    )
    const at = Object.fromEntries(points.map((p) => [p.seq, p.ms]))
    expect(at[1]).toBe(now - DAY)
    expect(at[2]).toBeGreaterThanOrEqual(before)
    expect(at[2]).toBeLessThanOrEqual(after)
  })
})
