import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { Hub } from '../../../src/app.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import type { WorkOrder } from '../../../src/dispatch/types.ts'
import type { Report } from '../../../src/reports/model.ts'
import { resolvePeriod } from '../../../src/reports/period.ts'
import { launch, logIn, session, shot } from '../../e2e/browser.ts'
import { buildHub, connectDevice, type TestHub, tempDir, testConfig, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from '../dispatch/receiver.ts'
import { allAlerts, LIFT_IDLE, login, PASSWORDS, reportJson, send, type WorkOrderDetail } from './rig.ts'

/**
 * Last week is closed: whatever people do today — open a work order by hand on one of last week's
 * alerts, accept and resolve last week's unfinished order — last week's report reads the same, and a
 * hand-opened order's clock and SLA start when it is opened, not when its alert was raised.
 */

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const TZ = 'Asia/Shanghai'

let rx: Receiver
let browser: Browser
let h: TestHub
let week: ReturnType<typeof resolvePeriod>
let blocked: Alert
let trapped: Alert
let trapped2: Alert

/** Drive the hub's own ingest on its recorded clock (as the demo's recorded past does). */
async function feed(hub: Hub, clock: FakeClock, kind: string, id: string, state: Record<string, unknown>) {
  const topic = `zhian/${kind}/${id}/state`
  hub.ingest.handle(id, { topic, payload: Buffer.from(JSON.stringify(state)) }, clock.now())
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}

async function advance(clock: FakeClock, ms: number) {
  for (let t = 0; t < ms; t += MIN) {
    clock.advance(Math.min(MIN, ms - t))
    await new Promise((r) => setImmediate(r))
  }
}

beforeAll(async () => {
  rx = await new Receiver().start()
  const estateFile = estateFor(rx, 'reports-estate.yaml')
  const dataDir = tempDir('zhian-closed-week-')
  week = resolvePeriod('week', Date.now(), TZ)
  // Last Wednesday 10:00: a passenger trapped (its order is dispatched, never accepted that week) and a
  // fire passage blocked (no automatic order for fire passages in this estate).
  const clock = new FakeClock(week.from + 2 * DAY + 10 * HOUR)
  const past = new Hub({ ...testConfig(dataDir, { estateFile }), journal: { mode: 'off' } }, clock)
  await past.start()
  try {
    await feed(past, clock, 'elevator', 'lift1', LIFT_IDLE)
    await feed(past, clock, 'elevator', 'lift1', { passenger: true })
    await feed(past, clock, 'elevator', 'lift2', { ...LIFT_IDLE, passenger: true })
    await feed(past, clock, 'fire_passage', 'fp1', { occupied: true, object_class: 'car' })
    await advance(clock, 2 * HOUR)
    // lift2's passenger gets out that evening: the trap clears (latched: the alert waits for a person).
    await feed(past, clock, 'elevator', 'lift2', { passenger: false })
    await advance(clock, 10 * MIN)
    const open = past.alerts.openAlerts()
    trapped = open.find((a) => a.type === 'elevator.trapped' && a.device_id === 'lift1')!
    trapped2 = open.find((a) => a.type === 'elevator.trapped' && a.device_id === 'lift2')!
    blocked = open.find((a) => a.type === 'fire_passage.blocked' && a.device_id === 'fp1')!
    expect(trapped).toBeDefined()
    expect(trapped2).toBeDefined()
    expect(blocked).toBeDefined()
    expect(past.dispatch.hasOrderFor(trapped.id)).toBe(true)
    expect(past.dispatch.hasOrderFor(blocked.id)).toBe(false)
  } finally {
    await past.stop()
  }
  // Today, on the real clock, from the same data dir.
  h = await buildHub({ estateFile, dataDir })
  browser = await launch()
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await rx?.stop()
})

/** Last week's printable page as the manager's report view shows it (its text). */
async function shownReport(page: Page, name: string): Promise<string> {
  await page.goto(`${h.httpUrl}/#/reports?scope=e1&period=${week.id}`)
  const body = page.frameLocator('[data-test=report-frame]').locator('body')
  await body.locator('#lifts').waitFor()
  await shot(page, name)
  return ((await body.textContent()) ?? '').replace(/生成于 [0-9-]+ [0-9:]+/, '')
}

const closed = (r: Report) => ({ ...r, generated_at: 0 })

describe('a closed week', () => {
  it('reads the same after an order is opened by hand on its alert and its open orders are finished or cancelled today', async () => {
    const before = await reportJson(h, `scope=e1&period=${week.id}`)
    const { page } = await session(browser)
    await logIn(page, h.httpUrl, 'mgr_e1', PASSWORDS.mgr_e1!)
    const pageBefore = await shownReport(page, 'closed-week-before')
    expect(before.summary.work_orders_opened).toBe(2)
    expect(before.open_at_end.work_orders.map((o) => o.alert_type)).toEqual([
      'elevator.trapped',
      'elevator.trapped',
    ])
    expect(before.response.find((r) => r.team === 'lift_a')?.sla.accept).toEqual({
      due: 2,
      met: 0,
      attainment: 0,
    })

    // The manager opens a work order today on last week's blockage; the crew finishes the lift order.
    const mgr = await login(h, 'mgr_e1')
    const crew = await login(h, 'crew_wang')
    const openedFrom = Date.now()
    const res = await mgr('/api/work-orders', { alert_id: blocked.id, team: 'property_duty' })
    expect(res.status).toBe(201)
    const handOpened = (await res.json()) as WorkOrder
    const openedTo = Date.now()
    const orderOf = async (a: Alert) =>
      ((await (await h.api(`/api/work-orders?alert=${a.id}`)).json()) as { items: WorkOrder[] }).items[0]!
    const lift = await orderOf(trapped)
    for (const step of ['accept', 'arrive', 'resolve'])
      expect((await crew(`/api/work-orders/${lift.id}/${step}`, {})).status).toBe(200)
    expect((await mgr(`/api/work-orders/${(await orderOf(trapped2)).id}/cancel`, {})).status).toBe(200)
    // lift2 traps a passenger again today: the same open alert is re-triggered now.
    const lift2 = await connectDevice(h.mqttUrl, 'lift2')
    await send(lift2, 'zhian/elevator/lift2/state', { ...LIFT_IDLE, passenger: true })
    await until(
      async () =>
        (await allAlerts(h, '&type=elevator.trapped&device=lift2')).find((a) => a.occurrences === 2),
      'lift2 trapped again',
    )
    // The fire-passage sensor, silent since last week, is back today: its offline alert clears now.
    expect(before.devices.offline.find((d) => d.device_id === 'fp1')?.still_offline).toBe(true)
    const fp1 = await connectDevice(h.mqttUrl, 'fp1')
    await send(fp1, 'zhian/fire_passage/fp1/state', { occupied: true, object_class: 'car' })
    await until(
      async () => (await allAlerts(h, '&type=fire_passage.offline&device=fp1&status=resolved')).length > 0,
      'fp1 back online',
    )

    const after = await reportJson(h, `scope=e1&period=${week.id}`)
    expect(closed(after)).toEqual(closed(before))
    expect(await shownReport(page, 'closed-week-after')).toBe(pageBefore)

    // The hand-opened order starts its clock now: nothing is late at birth.
    const detail = (await (await h.api(`/api/work-orders/${handOpened.id}`)).json()) as WorkOrderDetail
    expect(detail.opened_at).toBeGreaterThanOrEqual(openedFrom)
    expect(detail.opened_at).toBeLessThanOrEqual(openedTo)
    expect(detail.breaches).toEqual([])
    expect(detail.times.to_accept_ms).toBeNull()
    // It belongs to this week's report, as opened and still open.
    const thisWeek = await reportJson(h, 'scope=e1&period=this-week')
    expect(thisWeek.open_at_end.work_orders.map((o) => o.id)).toContain(handOpened.id)
  })
})
