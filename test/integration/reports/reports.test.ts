import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import ExcelJS from 'exceljs'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { localParts, ymd } from '../../../src/reports/period.ts'
import { buildHub, connectDevice, type TestHub, tempDir, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from '../dispatch/receiver.ts'
import {
  alertsOf,
  allAlerts,
  expectedStat,
  LIFT_IDLE,
  login,
  reportJson,
  send,
  type WorkOrderDetail,
  workOrderOf,
} from './rig.ts'

/**
 * One-click reports against a real hub: the fixture estate (reports-estate.yaml) is driven through
 * real MQTT (trapped passengers, blocked fire passages, an open manhole, an overstaying car, a low
 * battery, a device gone silent) and real work-order steps over HTTP; the report must state exactly
 * what was driven — counts, durations, rankings — in every format, and only to those in scope.
 */

const REPO = path.resolve(import.meta.dirname, '../../..')
let h: TestHub
let rx: Receiver
const clients: MqttClient[] = []
let today: string
let orders: WorkOrderDetail[]
let fpBlocked: Alert[]

async function device(id: string): Promise<MqttClient> {
  const c = await connectDevice(h.mqttUrl, id)
  clients.push(c)
  return c
}

beforeAll(async () => {
  rx = await new Receiver().start()
  h = await buildHub({ estateFile: estateFor(rx, 'reports-estate.yaml') })
  today = ymd(localParts(Date.now(), 'Asia/Shanghai'))
  const crew = await login(h, 'crew_wang')
  const mgr = await login(h, 'mgr_e1')

  const [lift1, lift2, e2lift, fp1, fp2, mh1, pb1, pb2] = await Promise.all(
    ['lift1', 'lift2', 'e2_lift1', 'fp1', 'fp2', 'mh1', 'pb1', 'pb2'].map(device),
  )
  // lift1: trapped; the crew accepts, arrives and resolves (which resolves the alert).
  await send(lift1!, 'zhian/elevator/lift1/state', LIFT_IDLE)
  await send(lift1!, 'zhian/elevator/lift1/state', { passenger: true })
  const [t1] = await alertsOf(h, 'elevator.trapped', 'lift1')
  const wo1 = await workOrderOf(h, t1!.id)
  await new Promise((r) => setTimeout(r, 150))
  expect((await crew(`/api/work-orders/${wo1.id}/accept`, {})).status).toBe(200)
  await new Promise((r) => setTimeout(r, 100))
  expect((await crew(`/api/work-orders/${wo1.id}/arrive`, {})).status).toBe(200)
  await send(lift1!, 'zhian/elevator/lift1/state', { door: 'open', passenger: false })
  expect((await crew(`/api/work-orders/${wo1.id}/resolve`, {})).status).toBe(200)
  await until(
    async () => (await allAlerts(h, `&type=elevator.trapped&device=lift1&status=resolved`)).length === 1,
    'first trap resolved',
  )
  // lift1 again: a second trap (two faults ≥ e1's frequent_faults count 2: the black list); accepted only.
  await send(lift1!, 'zhian/elevator/lift1/state', { door: 'closed', passenger: true })
  const [, t2] = await alertsOf(h, 'elevator.trapped', 'lift1', 2)
  await alertsOf(h, 'elevator.frequent_faults', 'lift1')
  const wo2 = await workOrderOf(h, t2!.id)
  await new Promise((r) => setTimeout(r, 250))
  expect((await crew(`/api/work-orders/${wo2.id}/accept`, {})).status).toBe(200)
  // lift2: trapped once, acknowledged by the manager, nobody accepts the order.
  await send(lift2!, 'zhian/elevator/lift2/state', { ...LIFT_IDLE, passenger: true })
  const [t3] = await alertsOf(h, 'elevator.trapped', 'lift2')
  const wo3 = await workOrderOf(h, t3!.id)
  expect((await mgr(`/api/alerts/${t3!.id}/ack`, {})).status).toBe(200)
  // Estate e2: a trap that estate e1's report must not show.
  await send(e2lift!, 'zhian/elevator/e2_lift1/state', { ...LIFT_IDLE, passenger: true })
  await alertsOf(h, 'elevator.trapped', 'e2_lift1')

  // fp1 blocked twice (each blockage clears, and the auto-clear alert resolves itself).
  for (let i = 1; i <= 2; i++) {
    await send(fp1!, 'zhian/fire_passage/fp1/state', { occupied: true })
    await alertsOf(h, 'fire_passage.blocked', 'fp1', i)
    await new Promise((r) => setTimeout(r, 400))
    await send(fp1!, 'zhian/fire_passage/fp1/state', { occupied: false })
    await until(
      async () => (await allAlerts(h, `&type=fire_passage.blocked&device=fp1&status=resolved`)).length === i,
      `blockage ${i} cleared`,
    )
  }
  fpBlocked = await allAlerts(h, `&type=fire_passage.blocked&device=fp1`)
  // fp2: battery low, then silent after announcing a 1-s interval (offline).
  await send(fp2!, 'zhian/fire_passage/fp2/state', { occupied: false, battery_pct: 12 })
  await alertsOf(h, 'fire_passage.low_battery', 'fp2')
  await fp2!.publishAsync('zhian/fire_passage/fp2/info', JSON.stringify({ interval_s: 1 }), {
    qos: 1,
    retain: true,
  })
  await alertsOf(h, 'fire_passage.offline', 'fp2', 1, 10_000)
  // mh1: cover lifted, water over its 80 cm limit.
  await send(mh1!, 'zhian/manhole/mh1/state', { tilt_deg: 30, water_level_cm: 90 })
  await alertsOf(h, 'manhole.cover_open', 'mh1')
  await alertsOf(h, 'manhole.water_high', 'mh1')
  // pb1 stays occupied past its (300 ms) overstay limit; pb2 is free.
  await send(pb2!, 'zhian/parking_bay/pb2/state', { occupied: false })
  await send(pb1!, 'zhian/parking_bay/pb1/state', { occupied: true })
  await alertsOf(h, 'parking_bay.overstay', 'pb1')

  orders = await Promise.all(
    [wo1, wo2, wo3].map(
      async (w) => (await (await h.api(`/api/work-orders/${w.id}`)).json()) as WorkOrderDetail,
    ),
  )
}, 90_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)))
})

describe('report content', () => {
  it('counts every alert type raised in estate e1 today exactly as the alert list shows them, none from e2', async () => {
    const r = await reportJson(await login(h, 'mgr_e1'), `scope=e1&period=${today}`)
    const shown = (await allAlerts(h, '&site=e1')).filter(
      (a) => !a.suppressed && a.first_at >= r.period.from && a.first_at < r.period.to,
    )
    const expected: Record<string, number> = {}
    for (const a of shown) expected[a.type] = (expected[a.type] ?? 0) + 1
    expect(Object.fromEntries(r.alerts.map((a) => [a.type, a.count]))).toEqual(expected)
    // What the scenario drove, by hand:
    expect(expected).toMatchObject({
      'elevator.trapped': 3,
      'elevator.frequent_faults': 1,
      'fire_passage.blocked': 2,
      'fire_passage.low_battery': 1,
      'fire_passage.offline': 1,
      'manhole.cover_open': 1,
      'manhole.water_high': 1,
      'parking_bay.overstay': 1,
    })
    expect(r.summary.alerts).toBe(shown.length)
    expect(r.alerts.every((a) => a.prev === 0 && a.change === a.count)).toBe(true)
    expect(r.alerts_by_severity.find((s) => s.key === 'critical')?.count).toBe(
      shown.filter((a) => a.severity === 'critical').length,
    )
    expect(r.title.zh).toBe(`一号小区日报(${today})`)
  })

  it('ranks lifts by faults and black-lists the one at its estate’s frequent_faults count', async () => {
    const r = await reportJson(h, `scope=e1&period=${today}`)
    expect(r.lifts.lifts_total).toBe(2)
    expect(
      r.lifts.rows.map((l) => [l.rank, l.device_id, l.faults, l.trapped, l.threshold, l.blacklisted]),
    ).toEqual([
      [1, 'lift1', 2, 2, 2, true],
      [2, 'lift2', 1, 1, 2, false],
    ])
    expect(r.lifts.rows[0]!.frequent_faults_alert).toBe(true)
    expect(r.lifts.rows[0]!.by_type).toEqual({ trapped: 2 })
    expect(r.summary.lifts_blacklisted).toBe(1)
  })

  it('states response times (median, p90) and SLA attainment per team from the work orders', async () => {
    const r = await reportJson(h, `scope=e1&period=${today}`)
    const team = r.response.find((x) => x.team === 'lift_a')!
    expect(team.orders).toBe(3)
    expect(team.name).toBe('永安电梯维保')
    const times = (k: keyof WorkOrderDetail['times']) =>
      orders.map((o) => o.times[k]).filter((v): v is number => v !== null)
    expect(team.accept).toEqual(expectedStat(times('to_accept_ms')))
    expect(team.arrive).toEqual(expectedStat(times('to_arrive_ms')))
    expect(team.resolve).toEqual(expectedStat(times('to_resolve_ms')))
    expect(team.acknowledge).toEqual(expectedStat(times('to_acknowledge_ms')))
    expect(team.accept.n).toBe(2)
    expect(team.acknowledge.n).toBe(3)
    // accept within 1 min: both accepted orders; arrive within 1 ms: none of three; resolve within 1 h: the one resolved.
    expect(team.sla.accept).toEqual({ due: 2, met: 2, attainment: 100 })
    expect(team.sla.arrive).toEqual({ due: 3, met: 0, attainment: 0 })
    expect(team.sla.resolve).toEqual({ due: 1, met: 1, attainment: 100 })
    // Every order of e1 (the frequent-faults alert opens one of its own), as the work-order list shows them.
    const all = ((await (await h.api('/api/work-orders?site=e1')).json()) as { items: WorkOrderDetail[] })
      .items
    expect(all.length).toBeGreaterThan(3)
    expect(r.summary.work_orders_opened).toBe(all.length)
    expect(r.summary.work_orders_resolved).toBe(all.filter((o) => o.status === 'resolved').length)
  })

  it('sums blocked minutes per fire-passage segment, flags repeat offenders, counts manholes and overstays', async () => {
    const r = await reportJson(h, `scope=e1&period=${today}`)
    const minutes = fpBlocked.reduce((s, a) => s + (a.cleared_at! - a.first_at) / 60_000, 0)
    expect(r.fire_passages.rows).toEqual([
      expect.objectContaining({
        device_id: 'fp1',
        blocked: 2,
        blocked_minutes: Math.round(minutes * 10) / 10,
        repeat_offender: true,
      }),
    ])
    expect(r.fire_passages.segments_total).toBe(2)
    expect(r.manholes.rows).toEqual([
      expect.objectContaining({ device_id: 'mh1', cover_open: 1, water_high: 1 }),
    ])
    expect(r.parking.overstays).toEqual([
      expect.objectContaining({ device_id: 'pb1', zone: 'a', overstays: 1 }),
    ])
    expect(r.parking.bays_total).toBe(2)
  })

  it('lists the device offline and the battery to replace, and what is still open at the period end', async () => {
    const r = await reportJson(h, `scope=e1&period=${today}`)
    expect(r.devices.offline).toEqual([
      expect.objectContaining({ device_id: 'fp2', episodes: 1, still_offline: true }),
    ])
    expect(r.devices.batteries).toEqual([expect.objectContaining({ device_id: 'fp2', battery_pct: 12 })])
    const open = (await allAlerts(h, '&site=e1&status=active,acknowledged')).filter((a) => !a.suppressed)
    expect(r.open_at_end.alerts.map((a) => a.id).sort()).toEqual(open.map((a) => a.id).sort())
    expect(r.open_at_end.alerts.find((a) => a.device_id === 'lift2')?.status).toBe('acknowledged')
    const all = ((await (await h.api('/api/work-orders?site=e1')).json()) as { items: WorkOrderDetail[] })
      .items
    const openOrders = all.filter((o) => !['resolved', 'cancelled'].includes(o.status))
    expect(r.open_at_end.work_orders.map((o) => [o.id, o.status]).sort()).toEqual(
      openOrders.map((o) => [o.id, o.status]).sort(),
    )
    expect(r.open_at_end.work_orders.find((o) => o.id === orders[1]!.id)?.status).toBe('accepted')
    expect(r.open_at_end.work_orders.find((o) => o.id === orders[2]!.id)?.status).toBe('dispatched')
    expect(r.open_at_end.work_orders.some((o) => o.id === orders[0]!.id)).toBe(false)
  })

  it('says the parking telemetry is not configured when the hub has no InfluxDB, rather than showing zeros', async () => {
    const r = await reportJson(h, `scope=e1&period=${today}`)
    expect(r.parking.telemetry.status).toBe('not_configured')
    const html = await (await h.api(`/api/reports?scope=e1&period=${today}&format=html`)).text()
    expect(html).toContain('未配置 InfluxDB')
  })
})

describe('report scope', () => {
  it('refuses estate B’s report to estate A’s manager (403, coded), whatever the site, and gives A’s own', async () => {
    const mgr = await login(h, 'mgr_e1')
    for (const scope of ['e2', 's1', 'c1', 'no_such_site']) {
      const res = await mgr(`/api/reports?scope=${scope}&period=${today}`)
      expect(res.status).toBe(403)
      expect(((await res.json()) as { code: string }).code).toBe('ZHIAN_ERR_REPORT_SCOPE')
    }
    for (const format of ['csv', 'xlsx', 'html']) {
      expect((await mgr(`/api/reports?scope=e2&period=${today}&format=${format}`)).status).toBe(403)
    }
    // Without a scope: the manager's own estate.
    const own = await reportJson(mgr, `period=${today}`)
    expect(own.scope.id).toBe('e1')
    const e2 = await reportJson(await login(h, 'mgr_e2'), `period=${today}`)
    expect(e2.alerts.map((a) => [a.type, a.count])).toEqual([['elevator.trapped', 1]])
    expect(e2.lifts.rows.map((l) => l.device_id)).toEqual(['e2_lift1'])
  })

  it('gives a street officer the street, its community and each estate; refuses crews', async () => {
    const officer = await login(h, 'officer_s1')
    const street = await reportJson(officer, `scope=s1&period=${today}`)
    const e1 = await reportJson(officer, `scope=e1&period=${today}`)
    expect(street.scope.estates.map((e) => e.id).sort()).toEqual(['e1', 'e2'])
    expect(street.alerts.find((a) => a.type === 'elevator.trapped')?.count).toBe(4)
    expect(street.summary.alerts).toBe(e1.summary.alerts + 1)
    expect(street.lifts.rows.map((l) => l.device_id)).toEqual(['lift1', 'e2_lift1', 'lift2'])
    expect((await reportJson(officer, `scope=c1&period=${today}`)).summary.alerts).toBe(street.summary.alerts)
    const res = await (await login(h, 'crew_wang'))(`/api/reports?scope=e1&period=${today}`)
    expect(res.status).toBe(403)
  })

  it('answers a bad period or format with a coded 400', async () => {
    const a = await h.api('/api/reports?scope=e1&period=2026-13')
    expect(a.status).toBe(400)
    expect(((await a.json()) as { code: string }).code).toBe('ZHIAN_ERR_REPORT_PERIOD')
    const b = await h.api('/api/reports?scope=e1&period=week&format=pdf')
    expect(b.status).toBe(400)
    expect(((await b.json()) as { code: string }).code).toBe('ZHIAN_ERR_REPORT_FORMAT')
  })
})

describe('report formats', () => {
  it('XLSX opens with one sheet per section and the same figures (read back with exceljs)', async () => {
    const res = await (await login(h, 'mgr_e1'))(`/api/reports?scope=e1&period=${today}&format=xlsx`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('spreadsheetml')
    expect(res.headers.get('content-disposition')).toContain(`zhian-report-e1-${today}.xlsx`)
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.load(Buffer.from(await res.arrayBuffer()) as unknown as ArrayBuffer)
    // Every kind that declares a section adds a sheet (after the named ones): these come in this order.
    const named = [
      '概览',
      '告警',
      '按类别',
      '按级别',
      '响应时效',
      '电梯故障排行',
      '消防通道',
      '井盖',
      '超时停车',
      '车位占用-按小时',
      '车位占用-按分区',
      '离线设备',
      '待换电池',
      '期末未处理告警',
      '期末未完成工单',
    ]
    expect(wb.worksheets.map((w) => w.name).filter((n) => named.includes(n))).toEqual(named)
    const lifts = wb.getWorksheet('电梯故障排行')!
    expect(lifts.getRow(2).values).toEqual([
      undefined,
      '名次',
      '电梯',
      '编号',
      '小区',
      '故障数',
      '困人',
      '故障类型',
      '阈值',
      '黑名单',
    ])
    expect(lifts.getRow(3).values).toEqual([
      undefined,
      1,
      '1号楼1号电梯',
      'lift1',
      '一号小区',
      2,
      2,
      '困人×2',
      2,
      '是',
    ])
    const alerts = wb.getWorksheet('告警')!
    const trapped = alerts.getRows(3, alerts.rowCount - 2)!.find((r) => r.getCell(1).value === '困人')!
    expect(trapped.getCell(4).value).toBe(3)
    const summary = wb.getWorksheet('概览')!
    expect(summary.getRow(7).values).toEqual([
      undefined,
      '告警数',
      (await reportJson(h, `scope=e1&period=${today}`)).summary.alerts,
    ])
    expect(wb.getWorksheet('车位占用-按分区')!.getRow(3).getCell(1).value).toContain('未配置 InfluxDB')
  })

  it('CSV carries every section with a BOM; English on request', async () => {
    const bytes = Buffer.from(
      await (await h.api(`/api/reports?scope=e1&period=${today}&format=csv`)).arrayBuffer(),
    )
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const zh = bytes.toString('utf8')
    expect(zh).toContain('# 电梯故障排行')
    // Names, not ids: the estate, the fault type, the parking zone (the estate file's `zones`), the team.
    expect(zh).toContain('1,1号楼1号电梯,lift1,一号小区,2,2,困人×2,2,是')
    expect(zh).toMatch(/\r\nA区1号车位,pb1,一号小区,地面A区,1,/)
    expect(zh).toMatch(/\r\n永安电梯维保,3,/)
    expect(zh).toMatch(/\r\n全部工单,/)
    expect(zh).not.toMatch(/All work orders|elevator\.trapped|lift_a|,e1,/)
    const en = await (await h.api(`/api/reports?scope=e1&period=${today}&format=csv&lang=en`)).text()
    expect(en).toContain('1,1号楼1号电梯,lift1,一号小区,2,2,Passenger trapped×2,2,yes')
    expect(en).toMatch(/\r\nAll work orders,/)
    expect(en).toContain('# Fire-passage blockage (2 segments)')
  })

  it('HTML is one printable A4 page with charts, in Chinese by default and English on request', async () => {
    const res = await h.api(`/api/reports?scope=e1&period=${today}&format=html`)
    expect(res.headers.get('content-type')).toContain('text/html')
    const html = await res.text()
    expect(html).toContain('@page { size: A4')
    expect(html).toContain('<h1>一号小区日报')
    expect(html).toContain('<svg')
    expect(html).toContain('1号楼1号电梯')
    const en = await (await h.api(`/api/reports?scope=e1&period=${today}&format=html&lang=en`)).text()
    expect(en).toContain('<h1>Daily report: 一号小区')
    expect(en).toContain('Lift fault ranking')
  })

  it('zhian report writes the same XLSX from the store while the hub runs', { timeout: 60_000 }, async () => {
    const out = path.join(tempDir('zhian-report-cli-'), 'e1.xlsx')
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'report', '--scope', 'e1', '--period', today, '--out', out],
      {
        cwd: REPO,
        env: {
          ...process.env,
          ZHIAN_DATA_DIR: h.dataDir,
          ZHIAN_CONFIG: h.hub.config.estateFile,
          ZHIAN_LOG_LEVEL: 'silent',
        },
      },
    )
    expect(stdout).toContain('一号小区日报')
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.load(fs.readFileSync(out) as unknown as ArrayBuffer)
    expect(wb.getWorksheet('电梯故障排行')!.getRow(3).getCell(3).value).toBe('lift1')
    expect(wb.getWorksheet('电梯故障排行')!.getRow(3).getCell(5).value).toBe(2)
  })
})
