import { describe, expect, it } from 'vitest'
import { localParts, ymd } from '../../../src/reports/period.ts'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { startInflux } from '../../helpers/influx.ts'
import { estateFor, Receiver } from '../dispatch/receiver.ts'
import { reportJson, send } from './rig.ts'

/**
 * Parking occupancy comes from InfluxDB (a real Debian influxd): bay readings published over real
 * MQTT with device timestamps over the last three hours, shipped by the hub's history writer, then
 * aggregated by the report's InfluxQL — by local hour of day and per zone.
 */

const HOUR = 3_600_000
const TZ = 'Asia/Shanghai'

describe('report telemetry with InfluxDB', () => {
  it('states parking occupancy by hour and per zone from the readings the bays sent', {
    timeout: 90_000,
  }, async () => {
    const influx = await startInflux()
    const rx = await new Receiver().start()
    const h = await buildHub({
      estateFile: estateFor(rx, 'reports-estate.yaml'),
      config: { history: influx.history('zhian_reports', { batchIntervalMs: 50 }) },
    })
    const now = Date.now()
    const H = Math.floor(now / HOUR) * HOUR
    const pb1 = await connectDevice(h.mqttUrl, 'pb1')
    const pb2 = await connectDevice(h.mqttUrl, 'pb2')
    // Zone a (pb1): occupied, free, occupied; zone b (pb2): free, occupied, occupied — one reading per hour.
    const plan: [typeof pb1, string, boolean[], number][] = [
      [pb1, 'pb1', [true, false, true], 10],
      [pb2, 'pb2', [false, true, true], 20],
    ]
    for (const [client, id, states, minute] of plan) {
      for (const [i, occupied] of states.entries()) {
        await send(client, `zhian/parking_bay/${id}/state`, {
          occupied,
          ts: H - (3 - i) * HOUR + minute * 60_000,
        })
      }
    }
    // Yesterday and today (local): the three hours are inside whatever the time of day.
    const period = `${ymd(localParts(now - 24 * HOUR, TZ))}..${ymd(localParts(now, TZ))}`
    const hourOf = (t: number) => localParts(t, TZ).hour
    // Hour buckets H−3, H−2, H−1 and the current one (the last state carried forward).
    const expectedHours = new Map([
      [hourOf(H - 3 * HOUR), 50],
      [hourOf(H - 2 * HOUR), 50],
      [hourOf(H - HOUR), 100],
      [hourOf(H), 100],
    ])
    // Once the history writer shipped all six readings:
    await until(
      async () => {
        const [row] = await influx.rows('SELECT count("occupied") AS n FROM "parking_bay"', 'zhian_reports')
        return row?.n === 6
      },
      'six bay readings in InfluxDB',
      30_000,
    )
    const report = await reportJson(h, `scope=e1&period=${period}`)
    const t = report.parking.telemetry
    if (t.status !== 'ok') throw new Error('telemetry')
    expect(t.data.by_hour).toHaveLength(24)
    for (const x of t.data.by_hour)
      expect([x.hour, x.occupancy]).toEqual([x.hour, expectedHours.get(x.hour) ?? null])
    expect(t.data.by_zone).toEqual([
      { estate: 'e1', zone: 'a', bays: 1, mean: 75, peak: 100 },
      { estate: 'e1', zone: 'b', bays: 1, mean: 75, peak: 100 },
    ])
    // The printable page and the sheet carry the same figures, not the "not configured" note.
    const html = await (await h.api(`/api/reports?scope=e1&period=${period}&format=html`)).text()
    expect(html).not.toContain('未配置 InfluxDB')
    expect(html).toContain('车位占用率(按时段)')
    const csv = await (await h.api(`/api/reports?scope=e1&period=${period}&format=csv`)).text()
    expect(csv).toContain('一号小区,地面A区,1,75,100')
    // An estate without bays has nothing to aggregate, and says so with empty tables, not an error.
    const e2 = await reportJson(h, `scope=e2&period=${period}`)
    expect(e2.parking.telemetry).toEqual({ status: 'ok', data: { by_hour: [], by_zone: [] } })
    await Promise.all([pb1.endAsync(true), pb2.endAsync(true)])
  })
})
