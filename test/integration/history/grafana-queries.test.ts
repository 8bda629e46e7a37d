import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import { type KindDefinition, simulatorOf } from '../../../devices/types.ts'
import { generatedDashboards } from '../../../grafana/gen.ts'
import { syntheticSecret, withEveryKind } from '../../../simulators/estate-gen.ts'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import { type EstateFile, loadEstateFile, serializeWithSections } from '../../../src/config/estate-file.ts'
import type { Device } from '../../../src/core/bus.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import type { Overrides } from '../../../src/rules/catalog.ts'
import { RuleEngine } from '../../../src/rules/engine.ts'
import { buildHub, connectDevice, type TestHub, tempDir, until } from '../../helpers/hub.ts'
import { startInflux, type TestInflux } from '../../helpers/influx.ts'

/**
 * Every query of every provisioned Grafana dashboard (panels and template variables) runs against a
 * real InfluxDB that the hub filled from telemetry published over MQTT, and must return data. The
 * alerts are raised by the real rules from that telemetry and acknowledged / resolved over the HTTP
 * API, so the alert panels read real alert_event points. The counting panels are checked against
 * what was sent. Grafana's macros are substituted the way Grafana does for InfluxQL.
 */

const DASHBOARDS = path.resolve(import.meta.dirname, '../../../grafana/dashboards')
/** The cross-kind dashboards, written by hand; `npm run gen` writes the kinds' own. */
const HAND_WRITTEN = ['alerts.json', 'estate-overview.json']
const DB = 'grafana'
const ESTATE = path.resolve(import.meta.dirname, 'grafana-estate.yaml')

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

/** The fixture plus one synthesised device of every kind it lacks (withEveryKind), with the overrides below. */
function estateUnderTest(): EstateFile {
  const estate = withEveryKind(loadEstateFile(ESTATE))
  for (const { device, alert } of namedAlerts(estate)) {
    // Hold times of a millisecond (as rules-all-estate.yaml does), so the alert is raised while the test waits.
    const durations = Object.entries((KINDS[device.kind] as KindDefinition).alerts[alert]?.params ?? {})
      .filter(([, spec]) => (spec as { type: string }).type === 'duration')
      .map(([name]) => [name, '1ms'])
    if (durations.length === 0) continue
    const mine = estate.overrides[device.estate] ?? {}
    estate.overrides[device.estate] = mine
    mine[`${device.kind}.${alert}`] = { ...Object.fromEntries(durations), ...mine[`${device.kind}.${alert}`] }
  }
  return estate
}

/**
 * The alerts the kind dashboards count (`"type" = '<kind>.<alert>'`, or every alert of a kind for
 * `"kind" = '<kind>'`), each with the synthesised device of its kind that is to raise it: the panel has
 * data only if the alert was raised. Kinds the fixture has devices of raise theirs as incidents above.
 */
function namedAlerts(estate: EstateFile): { device: EstateFile['devices'][number]; alert: string }[] {
  const queries = dashboards.flatMap(({ json }) =>
    json.panels.flatMap((p) => (p.targets ?? []).map((t) => t.query)),
  )
  const named = new Set<string>()
  for (const q of queries.filter((x) => x.includes('"alert_event"'))) {
    for (const m of q.matchAll(/"type" = '([a-z_]+\.[a-z_]+)'/g)) named.add(m[1]!)
    for (const m of q.matchAll(/"kind" = '([a-z_]+)'/g))
      for (const alert of Object.keys((KINDS[m[1] as keyof typeof KINDS] as KindDefinition).alerts))
        named.add(`${m[1]}.${alert}`)
  }
  return [...named].flatMap((name) => {
    const [kind, alert] = name.split('.') as [string, string]
    const device = estate.devices.find((d) => d.kind === kind && d.id.startsWith('sim_'))
    return device ? [{ device, alert }] : []
  })
}

/**
 * A reading of the device's kind that raises `alert`, found from the kind's definition alone: its
 * healthy reading with one state field changed (a flag flipped, another enum value, a number at either
 * end of its range), tried on the real rule engine on a fake clock with the estate's overrides. None
 * for an alert no reading raises (an event's, such as an SOS press: the events are sent anyway).
 */
function readingThatRaises(
  entry: EstateFile['devices'][number],
  alert: string,
  overrides: Overrides,
): Record<string, unknown> | undefined {
  const def = KINDS[entry.kind] as KindDefinition
  const healthy = simulatorOf(def).healthy(0)
  const candidates: Record<string, unknown>[] = []
  for (const [name, f] of Object.entries(def.state)) {
    const values =
      f.type === 'bool'
        ? [healthy[name] !== true]
        : f.type === 'enum'
          ? f.values.filter((v) => v !== healthy[name])
          : f.type === 'int' || f.type === 'float'
            ? [f.max, f.min]
            : []
    for (const v of values) candidates.push({ ...healthy, [name]: v })
  }
  const device: Device = {
    id: entry.id,
    kind: entry.kind,
    estate: entry.estate,
    building: undefined,
    name: entry.name,
    location: undefined,
    params: entry.params ?? {},
    site: { street: undefined, community: undefined, estate: entry.estate, building: undefined },
  }
  return candidates.find((reading) => {
    const clock = new FakeClock()
    let raised = false
    const engine = new RuleEngine({
      clock,
      kinds: KINDS,
      overrides,
      sink: (s) => (raised ||= s.op === 'raise' && s.alert === `${entry.kind}.${alert}`),
    })
    engine.start([device])
    engine.reading(device, healthy)
    engine.reading(device, reading)
    clock.advance(1000)
    engine.stop()
    return raised
  })
}

async function publishHistory(h: TestHub, estate: EstateFile): Promise<void> {
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
  // Every kind the fixture has no device of: one synthesised device (withEveryKind) reporting its
  // kind's healthy readings over the same six hours, so each kind's field panels have data.
  for (const d of withEveryKind(loadEstateFile(ESTATE)).devices.filter((x) => x.id.startsWith('sim_'))) {
    const client = await connectDevice(h.mqttUrl, d.id, { password: syntheticSecret(d.id) })
    const healthy = simulatorOf(KINDS[d.kind]).healthy
    for (let step = 36; step >= 0; step--)
      await send(client, `zhian/${d.kind}/${d.id}/state`, { ts: now - step * 10 * 60_000, ...healthy(step) })
    // And each of its events once (no data: every event field is optional), for the event panels.
    for (const type of Object.keys(KINDS[d.kind].events))
      await send(client, `zhian/${d.kind}/${d.id}/event`, { ts: now - 60_000, type })
  }
  await send(pb1, 'zhian/parking_bay/pb1/availability', 'offline')
  await send(pb1, 'zhian/parking_bay/pb1/availability', 'online')

  // Fault begin/end events (GB/T 24476-2017 §11) on the lifts' own clocks, mixed with what is not a
  // fault: ends, mode codes 40–47 (43 inspection), 41 battery power, 90 alarm button.
  const at = (step: number) => now - step * 10 * 60_000
  const faultEvents: [typeof lift1, string, number, Record<string, unknown>][] = [
    [lift1, 'lift1', 30, { code: 3, active: true }],
    [lift1, 'lift1', 29, { code: 3, active: false }],
    [lift1, 'lift1', 25, { code: 43, active: true }],
    [lift1, 'lift1', 24, { code: 43, active: false }],
    [lift1, 'lift1', 20, { code: 7, active: true }],
    [lift1, 'lift1', 19, { code: 7, active: false }],
    [lift1, 'lift1', 15, { code: 41, active: true }],
    [lift1, 'lift1', 14, { code: 41, active: false }],
    [lift1, 'lift1', 10, { code: 90, active: true }],
    [lift1, 'lift1', 9, { code: 90, active: false }],
    [lift1, 'lift1', 5, { code: 2, active: true }],
    [lift1, 'lift1', 4, { code: 2, active: false }],
    [lift2, 'lift2', 24, { code: 8 }], // no `active`: a begin
    [lift2, 'lift2', 23, { code: 8, active: false }],
    [lift2, 'lift2', 6, { code: 1, active: true }],
    [lift2, 'lift2', 5, { code: 1, active: false }],
  ]
  for (const [client, id, step, data] of faultEvents)
    await send(client, `zhian/elevator/${id}/event`, { ts: at(step), type: 'fault', data })
  await send(lift2, 'zhian/elevator/lift2/event', { ts: at(3), type: 'alarm_button' })

  // Incidents for the rules, now (short rule timings: grafana-estate.yaml): passengers trapped in both
  // lifts, the fire passage blocked (it ends occupied above), the manhole's water over its limit.
  for (const [client, id] of [
    [lift1, 'lift1'],
    [lift2, 'lift2'],
  ] as const) {
    await send(client, `zhian/elevator/${id}/state`, {
      passenger: true,
      moving: false,
      speed: 0,
      door: 'closed',
      in_door_zone: true,
      fault_code: 0,
    })
  }
  await send(mh1, 'zhian/manhole/mh1/state', { water_level_cm: 95 })
  const incidents = [
    'elevator.trapped:lift1',
    'elevator.trapped:lift2',
    'fire_passage.blocked:fp1',
    'manhole.water_high:mh1',
  ]
  const raised = await until(
    async () => {
      const all = await listAlerts(h)
      const found = incidents.map((key) => all.find((a) => `${a.type}:${a.device_id}` === key))
      return found.every(Boolean) ? (found as Alert[]) : undefined
    },
    'the rules raising the four incidents',
    15_000,
  )
  for (const alert of raised) {
    const res = await h.api(`/api/alerts/${alert.id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: '已到场' }),
    })
    expect(res.status).toBe(200)
  }
  // The conditions end; what the rules do not resolve themselves (latched) is resolved by a person.
  for (const [client, id] of [
    [lift1, 'lift1'],
    [lift2, 'lift2'],
  ] as const)
    await send(client, `zhian/elevator/${id}/state`, { passenger: false, door: 'open' })
  await send(fp1, 'zhian/fire_passage/fp1/state', { occupied: false })
  await send(mh1, 'zhian/manhole/mh1/state', { water_level_cm: 20 })
  await until(
    async () => {
      const all = await listAlerts(h)
      return raised.every((r) => all.find((a) => a.id === r.id)?.condition === 'cleared')
    },
    'incidents cleared',
    15_000,
  )
  for (const alert of raised) {
    const current = (await listAlerts(h)).find((a) => a.id === alert.id)!
    if (current.status === 'resolved') continue
    const res = await h.api(`/api/alerts/${alert.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: '已处理' }),
    })
    expect(res.status).toBe(200)
  }

  // Last, every alert a kind dashboard counts by name and a reading raises (a gas alarm, a smoke
  // alarm), from the synthesised device of its kind, after the incidents above: a fire alarm changes
  // what the lifts and the fire passage mean.
  const wanted = namedAlerts(estate).flatMap(({ device, alert }) => {
    const reading = readingThatRaises(device, alert, estate.overrides)
    return reading ? [{ device, alert, reading }] : []
  })
  raisedByReading = wanted.map((w) => `${w.device.kind}.${w.alert}`)
  for (const { device, reading } of wanted) {
    const client = await connectDevice(h.mqttUrl, device.id, { password: syntheticSecret(device.id) })
    await send(client, `zhian/${device.kind}/${device.id}/state`, reading)
  }
  await until(
    async () => {
      const all = await listAlerts(h)
      return wanted.every((w) =>
        all.some((a) => a.type === `${w.device.kind}.${w.alert}` && a.device_id === w.device.id),
      )
    },
    `the rules raising ${wanted.map((w) => `${w.device.kind}.${w.alert}`).join(', ')}`,
    15_000,
  )
}

async function listAlerts(h: TestHub): Promise<Alert[]> {
  const res = await h.api('/api/alerts?limit=500')
  return ((await res.json()) as { items: Alert[] }).items
}

/** Every alert with its audit trail, as the hub's API tells it. */
async function auditTrail(h: TestHub): Promise<{ alert: Alert; entry: AuditEntry }[]> {
  const out: { alert: Alert; entry: AuditEntry }[] = []
  for (const alert of await listAlerts(h)) {
    const res = await h.api(`/api/alerts/${alert.id}`)
    const detail = (await res.json()) as Alert & { audit: AuditEntry[] }
    for (const entry of detail.audit) out.push({ alert: detail, entry })
  }
  return out
}

let trail: { alert: Alert; entry: AuditEntry }[]
/** The alerts raised by a reading found from the kind definitions. */
let raisedByReading: string[] = []

beforeAll(async () => {
  influx = await startInflux()
  const estateFile = path.join(tempDir('zhian-grafana-'), 'estate.yaml')
  const estate = estateUnderTest()
  fs.writeFileSync(estateFile, serializeWithSections(estate, ESTATE))
  hub = await buildHub({ estateFile, config: { history: influx.history(DB) } })
  await publishHistory(hub, estate)
  trail = await auditTrail(hub)
  const raisedTotal = trail.filter((t) => t.entry.action === 'raised').length
  await until(
    async () => {
      const rows = await influx
        .rows(`SELECT count("alert_id") AS n FROM alert_event WHERE "action" = 'raised'`, DB)
        .catch(() => [])
      return Number(rows[0]?.n ?? 0) >= raisedTotal && hub.hub.gate.journal!.backlogBytes() === 0
    },
    'history shipped',
    20_000,
  )
}, 120_000)

describe('Grafana dashboards: every panel query returns data from a hub-filled InfluxDB', () => {
  it('provisions the hand-written dashboards and one generated per kind, all on the fixed InfluxQL datasource', () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(
      [...HAND_WRITTEN, ...generatedDashboards().keys()].sort(),
    )
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

/** Run a panel's query (by its English title) and return its series. */
async function panelSeries(file: string, title: string) {
  const dashboard = dashboards.find((d) => d.file === file)!.json
  const panel = dashboard.panels.find((p) => p.title.endsWith(title))
  expect(panel, `${file}: panel "${title}"`).toBeDefined()
  return influx.query(substitute(panel!.targets![0]!.query), DB)
}

/** Column `column` of each series, summed over its rows, keyed by the series' tag `tag`. */
function byTag(series: Awaited<ReturnType<typeof panelSeries>>, tag: string, column: string) {
  const out: Record<string, number> = {}
  for (const s of series) {
    const i = s.columns.indexOf(column)
    const key = s.tags?.[tag] ?? ''
    out[key] = (out[key] ?? 0) + s.values.reduce((sum, row) => sum + Number(row[i] ?? 0), 0)
  }
  return out
}

function tally<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1
  return out
}

describe('Grafana dashboards: the counting panels show what happened', () => {
  it('faults per lift count fault starts of fault codes only (not ends, modes 40–47, battery 41, alarm 90)', async () => {
    expect(byTag(await panelSeries('elevators.json', 'Faults per lift'), 'device_id', 'faults')).toEqual({
      lift1: 3,
      lift2: 2,
    })
    const ranking = await panelSeries('elevators.json', 'Most faulty lifts')
    const rows = Object.fromEntries(
      ranking.map((s) => [s.tags?.device_id, s.values[0]!.slice(s.columns.indexOf('faults'))]),
    )
    // last_code: the code of the latest fault start in the range.
    expect(rows).toEqual({ lift1: [3, 2], lift2: [2, 1] })
    const overview = await panelSeries('estate-overview.json', 'Elevator faults')
    expect(overview[0]!.values[0]![1]).toBe(5)
  })

  it('the alert panels match the alerts the rules raised and people acknowledged and resolved', async () => {
    const raised = trail.filter((t) => t.entry.action === 'raised')
    expect(raised.length).toBeGreaterThanOrEqual(4)
    expect(byTag(await panelSeries('alerts.json', 'Alerts by type'), 'type', 'alerts')).toEqual(
      tally(raised, (t) => t.alert.type),
    )
    expect(byTag(await panelSeries('alerts.json', 'Alerts by severity'), 'severity', 'count')).toEqual(
      tally(raised, (t) => t.alert.severity),
    )
    const overview = await panelSeries('estate-overview.json', 'Alerts raised')
    expect(overview[0]!.values[0]![1]).toBe(raised.length)
    const trapped = byTag(
      await panelSeries('elevators.json', 'Trapped-passenger incidents'),
      'device_id',
      'count',
    )
    expect(trapped).toEqual({ lift1: 1, lift2: 1 })

    // Time to acknowledge / resolve per type, against the audit trail (seconds since the first raise).
    const mean = (action: string) => {
      const sums: Record<string, { total: number; n: number }> = {}
      for (const t of trail.filter((x) => x.entry.action === action)) {
        const s = sums[t.alert.type] ?? { total: 0, n: 0 }
        sums[t.alert.type] = s
        s.total += (t.entry.at - t.alert.first_at) / 1000
        s.n++
      }
      return Object.fromEntries(Object.entries(sums).map(([type, s]) => [type, s.total / s.n]))
    }
    for (const [title, action, column] of [
      ['Mean time to acknowledge, by type', 'acknowledged', 'mean_ack_s'],
      ['Mean time to resolve, by type', 'resolved', 'mean_resolve_s'],
    ] as const) {
      const got = byTag(await panelSeries('alerts.json', title), 'type', column)
      const want = mean(action)
      expect(Object.keys(got).sort(), title).toEqual(Object.keys(want).sort())
      for (const [type, seconds] of Object.entries(want))
        expect(got[type], `${title}: ${type}`).toBeCloseTo(seconds, 3)
    }
    // The search for a raising reading is not vacuous: the new kinds' alarms came from it.
    expect(raisedByReading).toEqual(
      expect.arrayContaining([
        'gas_detector.gas_alarm',
        'smoke_detector.fire_alarm',
        'electrical_fire.residual_current',
        'electrical_fire.overtemp',
      ]),
    )
    expect(Object.keys(mean('acknowledged')).sort()).toEqual([
      'elevator.trapped',
      'fire_passage.blocked',
      'manhole.water_high',
    ])
  })
})
