import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Alert, AuditAction, AuditEntry } from '../../../src/alerts/types.ts'
import { buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import { startInflux, type TestInflux } from '../../helpers/influx.ts'

/**
 * Every query of every provisioned Grafana dashboard (panels and template variables) runs against a
 * real InfluxDB that the hub filled from telemetry published over MQTT and from alert transitions,
 * and must return data. Grafana's macros are substituted the way Grafana does for InfluxQL.
 */

const DASHBOARDS = path.resolve(import.meta.dirname, '../../../grafana/dashboards')
const DB = 'grafana'
const HOUR = 3_600_000

let influx: TestInflux
let hub: TestHub

interface Panel {
  title: string
  targets?: { query: string; rawQuery: boolean }[]
}
interface Dashboard {
  uid: string
  title: string
  panels: Panel[]
  templating: { list: { name: string; query: string }[] }
}

const dashboards = fs
  .readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, json: JSON.parse(fs.readFileSync(path.join(DASHBOARDS, f), 'utf8')) as Dashboard }))

/** What Grafana sends for "last 24 hours", auto interval and the "All" estate. */
function substitute(query: string): string {
  return query
    .replaceAll('$timeFilter', 'time >= now() - 24h')
    .replaceAll('$__interval', '10m')
    .replaceAll('$estate', '.*')
}

async function publishHistory(h: TestHub): Promise<void> {
  const now = Date.now()
  const lift1 = await connectDevice(h.mqttUrl, 'lift1')
  const lift2 = await connectDevice(h.mqttUrl, 'lift2')
  const fp1 = await connectDevice(h.mqttUrl, 'fp1')
  const mh1 = await connectDevice(h.mqttUrl, 'mh1')
  const pb1 = await connectDevice(h.mqttUrl, 'pb1')
  const pb2 = await connectDevice(h.mqttUrl, 'pb2')
  const send = (c: typeof lift1, topic: string, body: unknown) =>
    c.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 })
  // Six hours of telemetry, every 10 minutes, with the devices' own timestamps.
  for (let step = 36; step >= 0; step--) {
    const ts = now - step * 10 * 60_000
    const fault = step % 9 === 0
    await send(lift1, 'zhian/elevator/lift1/state', {
      ts,
      floor: step % 18,
      speed: step % 2 ? 1.5 : 0,
      moving: step % 2 === 1,
      door: 'closed',
      fault_code: fault ? 3 : 0,
    })
    await send(lift2, 'zhian/elevator/lift2/state', { ts, floor: (step * 3) % 18, speed: 1, fault_code: 0 })
    if (fault)
      await send(lift1, 'zhian/elevator/lift1/event', { ts, type: 'fault', data: { code: 3, active: true } })
    if (step % 12 === 0)
      await send(lift2, 'zhian/elevator/lift2/event', { ts, type: 'fault', data: { code: 8 } })
    await send(fp1, 'zhian/fire_passage/fp1/state', {
      ts,
      occupied: step % 6 < 3,
      object_class: 'car',
      confidence: 0.9,
    })
    await send(mh1, 'zhian/manhole/mh1/state', {
      ts,
      tilt_deg: step % 5,
      water_level_cm: 20 + step,
      cover_open: step % 10 === 0,
      battery_pct: 90,
    })
    await send(pb1, 'zhian/parking_bay/pb1/state', { ts, occupied: step % 4 < 2 })
    await send(pb2, 'zhian/parking_bay/pb2/state', { ts, occupied: true })
  }
  await send(pb1, 'zhian/parking_bay/pb1/availability', 'offline')
  await send(pb1, 'zhian/parking_bay/pb1/availability', 'online')

  // Alert transitions, as the alert store emits them on the bus.
  const alert = (
    id: string,
    type: string,
    severity: Alert['severity'],
    deviceId: string,
    firstAt: number,
  ): Alert => ({
    id,
    type,
    subject: deviceId,
    kind: type.split('.')[0] as Alert['kind'],
    device_id: deviceId,
    street: 's1',
    community: 'c1',
    estate: 'e1',
    building: deviceId.startsWith('lift') ? 'e1_b1' : null,
    severity,
    status: 'active',
    condition: 'raised',
    suppressed: false,
    suppressed_reason: null,
    latched: false,
    crew: 'property_duty',
    assigned_team: null,
    title: { zh: type, en: type },
    message: { zh: type, en: type },
    values: {},
    occurrences: 1,
    first_at: firstAt,
    last_at: firstAt,
    cleared_at: null,
    acknowledged_at: null,
    resolved_at: null,
  })
  const transition = (a: Alert, action: AuditAction, at: number, actor = 'rule') => {
    const entry: AuditEntry = {
      alert_id: a.id,
      at,
      action,
      actor,
      channel: actor === 'rule' ? 'rule' : 'http',
      note: null,
    }
    h.hub.bus.emit('alert', { alert: a, entry })
  }
  const incidents = [
    alert('al-1', 'elevator.trapped', 'critical', 'lift1', now - 5 * HOUR),
    alert('al-2', 'elevator.trapped', 'critical', 'lift2', now - 3 * HOUR),
    alert('al-3', 'fire_passage.blocked', 'major', 'fp1', now - 2 * HOUR),
    alert('al-4', 'manhole.water_high', 'warning', 'mh1', now - HOUR),
  ]
  for (const a of incidents) {
    transition(a, 'raised', a.first_at)
    transition(a, 'acknowledged', a.first_at + 90_000, 'wang')
    transition(a, 'resolved', a.first_at + 1_200_000, 'wang')
  }
}

beforeAll(async () => {
  influx = await startInflux()
  hub = await buildHub({ config: { history: influx.history(DB) } })
  await publishHistory(hub)
  await until(
    async () => {
      const rows = await influx.rows('SELECT count("alert_id") AS n FROM alert_event', DB).catch(() => [])
      return Number(rows[0]?.n ?? 0) >= 12 && hub.hub.history.journal!.backlogBytes() === 0
    },
    'history shipped',
    20_000,
  )
}, 120_000)

describe('Grafana dashboards: every panel query returns data from a hub-filled InfluxDB', () => {
  it('provisions six dashboards, all on the fixed InfluxQL datasource', () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual([
      'alerts.json',
      'elevators.json',
      'estate-overview.json',
      'fire-passages.json',
      'manholes.json',
      'parking.json',
    ])
    const text = dashboards.map((d) => JSON.stringify(d.json)).join('\n')
    const uids = [...text.matchAll(/"datasource":\{"type":"([^"]+)","uid":"([^"]+)"\}/g)].map(
      (m) => `${m[1]}/${m[2]}`,
    )
    expect(new Set(uids)).toEqual(new Set(['influxdb/zhian-influx']))
    const datasource = fs.readFileSync(
      path.resolve(DASHBOARDS, '../provisioning/datasources/zhian-influxdb.yaml'),
      'utf8',
    )
    expect(datasource).toContain('uid: zhian-influx')
  })

  for (const { file, json } of dashboards) {
    describe(`${file} — ${json.title}`, () => {
      for (const variable of json.templating.list) {
        it(`variable $${variable.name}: ${variable.query}`, async () => {
          const series = await influx.query(substitute(variable.query), DB)
          expect(series.flatMap((s) => s.values).length).toBeGreaterThan(0)
        })
      }
      for (const panel of json.panels) {
        for (const target of panel.targets ?? []) {
          it(`panel "${panel.title}"`, async () => {
            expect(target.rawQuery).toBe(true)
            const q = substitute(target.query)
            expect(q).not.toMatch(/\$\w/)
            const series = await influx.query(q, DB)
            const values = series.flatMap((s) => s.values.map((row) => row.slice(1)))
            expect(values.length, q).toBeGreaterThan(0)
            expect(
              values.some((row) => row.some((v) => v !== null && v !== 0)),
              `only empty/zero values: ${q}`,
            ).toBe(true)
          })
        }
      }
    })
  }
})
