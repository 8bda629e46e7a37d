import type { HistoryConfig } from '../config/env.ts'
import type { Device } from '../core/bus.ts'
import { influxQuery, type Series } from '../history/query.ts'
import type { Site } from '../registry/registry.ts'
import type { OccupancyHour, OccupancyZone, Telemetry } from './model.ts'
import { localParts, type Period } from './period.ts'

/**
 * Telemetry aggregates for reports, read through src/history's query path against the schema it
 * writes (measurement per kind, site tags). Without InfluxDB the section says "not configured".
 */

const NOT_CONFIGURED: Telemetry<never> = {
  status: 'not_configured',
  reason: {
    zh: '未配置 InfluxDB 历史库(ZHIAN_INFLUX_URL),无法统计遥测数据',
    en: 'InfluxDB history is not configured (ZHIAN_INFLUX_URL): no telemetry figures',
  },
}

/** Quote a tag value for InfluxQL (ids are [a-z0-9_-], but never trust). */
const lit = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`

/**
 * Parking occupancy: the state of each bay at the end of every hour (last reading, carried forward
 * within the period), as a share of the bays with a known state; by local hour of day (mean over the
 * period's days) and per zone (mean and peak over the period's hours).
 */
export async function parkingOccupancy(
  history: HistoryConfig | undefined,
  site: Site,
  bays: Device[],
  period: Period,
  end: number,
): Promise<Telemetry<{ by_hour: OccupancyHour[]; by_zone: OccupancyZone[] }>> {
  if (!history) return NOT_CONFIGURED
  if (bays.length === 0 || end <= period.from) {
    return { status: 'ok', data: { by_hour: [], by_zone: [] } }
  }
  let series: Series[]
  try {
    const s = lit(site.id)
    series = await influxQuery(
      history,
      `SELECT last("occupied") AS occ FROM "parking_bay" WHERE ("street" = ${s} OR "community" = ${s} OR "estate" = ${s} OR "building" = ${s}) AND time >= ${period.from}ms AND time < ${end}ms GROUP BY time(1h), "device_id" fill(previous)`,
    )
  } catch (err) {
    const msg = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message
    return {
      status: 'error',
      reason: { zh: `InfluxDB 查询失败:${msg}`, en: `InfluxDB query failed: ${msg}` },
    }
  }
  const zoneOf = new Map(
    bays.map((b) => [
      b.id,
      { estate: b.estate, zone: typeof b.params.zone === 'string' ? b.params.zone : '-' },
    ]),
  )
  // bucket start → zone key → [occupied, known]
  const buckets = new Map<number, Map<string, [number, number]>>()
  for (const s of series) {
    const id = s.tags?.device_id
    const where = id ? zoneOf.get(id) : undefined
    if (!where) continue
    const key = `${where.estate}\u0000${where.zone}`
    for (const [t, v] of s.values) {
      if (typeof v !== 'boolean') continue
      let byZone = buckets.get(t as number)
      if (!byZone) {
        byZone = new Map()
        buckets.set(t as number, byZone)
      }
      const cell = byZone.get(key) ?? [0, 0]
      cell[0] += v ? 1 : 0
      cell[1] += 1
      byZone.set(key, cell)
    }
  }
  const hourSum = Array.from({ length: 24 }, () => ({ sum: 0, n: 0 }))
  const zones = new Map<string, { sum: number; n: number; peak: number }>()
  for (const [t, byZone] of buckets) {
    let occ = 0
    let known = 0
    for (const [key, [o, k]] of byZone) {
      occ += o
      known += k
      const z = zones.get(key) ?? { sum: 0, n: 0, peak: 0 }
      z.sum += o / k
      z.n++
      z.peak = Math.max(z.peak, o / k)
      zones.set(key, z)
    }
    // The bucket holds the state at the end of the hour that starts at t.
    const h = localParts(t, period.tz).hour
    hourSum[h]!.sum += occ / known
    hourSum[h]!.n++
  }
  const pct = (v: number) => Math.round(v * 1000) / 10
  const bayCount = new Map<string, number>()
  for (const w of zoneOf.values()) {
    const key = `${w.estate}\u0000${w.zone}`
    bayCount.set(key, (bayCount.get(key) ?? 0) + 1)
  }
  return {
    status: 'ok',
    data: {
      by_hour: hourSum.map((x, hour) => ({ hour, occupancy: x.n ? pct(x.sum / x.n) : null })),
      by_zone: [...bayCount.entries()]
        .map(([key, bays]) => {
          const [estate, zone] = key.split('\u0000') as [string, string]
          const z = zones.get(key)
          return {
            estate,
            zone,
            bays,
            mean: z ? pct(z.sum / z.n) : null,
            peak: z ? pct(z.peak) : null,
          }
        })
        .sort((a, b) => a.estate.localeCompare(b.estate) || a.zone.localeCompare(b.zone)),
    },
  }
}
