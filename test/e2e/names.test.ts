import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../src/alerts/types.ts'
import { buildHub, connectDevice, type TestHub } from '../helpers/hub.ts'
import { estateFor, Receiver } from '../integration/dispatch/receiver.ts'
import { alertsOf, LIFT_IDLE, PASSWORDS, send, workOrderOf } from '../integration/reports/rig.ts'
import { launch, logIn, session, shot } from './browser.ts'

/**
 * What a property manager reads on the estate view, an alert's page and the report: names, not ids;
 * values to the sensor's resolution; a lift's direction with its legend. Screenshots of each view at
 * wall-screen, laptop and phone sizes.
 */

const SIZES = [
  { width: 1920, height: 1080 },
  { width: 1366, height: 768 },
  { width: 390, height: 844 },
]

let browser: Browser
let h: TestHub
let rx: Receiver
let trapped: Alert

beforeAll(async () => {
  rx = await new Receiver().start()
  h = await buildHub({ estateFile: estateFor(rx, 'reports-estate.yaml') })
  browser = await launch()
  const [lift1, lift2, mh1, pb1, pb2] = await Promise.all(
    ['lift1', 'lift2', 'mh1', 'pb1', 'pb2'].map((id) => connectDevice(h.mqttUrl, id)),
  )
  // A passenger trapped at level (its order goes to the lift contractor 永安电梯维保); a lift going up.
  await send(lift1!, 'zhian/elevator/lift1/state', LIFT_IDLE)
  await send(lift1!, 'zhian/elevator/lift1/state', { passenger: true })
  await send(lift2!, 'zhian/elevator/lift2/state', { ...LIFT_IDLE, moving: true, direction: 'up', floor: 3 })
  // A manhole whose sensor sends hundredths; parking bays in the named zones a and b.
  await send(mh1!, 'zhian/manhole/mh1/state', { tilt_deg: 2.73, water_level_cm: 20.09, cover_open: false })
  await send(pb1!, 'zhian/parking_bay/pb1/state', { occupied: true })
  await send(pb2!, 'zhian/parking_bay/pb2/state', { occupied: false })
  ;[trapped] = (await alertsOf(h, 'elevator.trapped', 'lift1')) as [Alert]
  await workOrderOf(h, trapped.id)
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await rx?.stop()
})

async function manager(size = SIZES[0]!): Promise<Page> {
  const { page } = await session(browser, size)
  await logIn(page, h.httpUrl, 'mgr_e1', PASSWORDS.mgr_e1!)
  return page
}

describe('names and values a manager reads', () => {
  it('the estate view names the parking zones, rounds the manhole to what it measures, and explains the lift arrows', async () => {
    const page = await manager()
    // The console's parking column names the zones too.
    await expect
      .poll(() => page.locator('.pz').allTextContents())
      .toEqual([expect.stringContaining('一号小区 · 地面A区'), expect.stringContaining('一号小区 · 地下B区')])
    await page.goto(`${h.httpUrl}/#/estates/e1`)
    await expect.poll(() => page.textContent('[data-zone=a]')).toContain('地面A区')
    expect(await page.textContent('[data-zone=b]')).toContain('地下B区')
    const manhole = page.locator('[data-device=mh1]')
    await expect.poll(() => manhole.textContent()).toContain('3°')
    expect(await manhole.textContent()).toContain('20 cm')
    expect(await manhole.textContent()).not.toMatch(/2\.73|20\.09/)
    await expect.poll(() => page.textContent('[data-device=lift2] [data-test=direction]')).toBe('↑')
    expect(await page.getAttribute('[data-device=lift2] [data-test=direction]', 'title')).toBe('上行')
    expect(await page.textContent('[data-test=direction-legend]')).toMatch(/↑\s*上行.*↓\s*下行.*■\s*停止/s)
    for (const size of SIZES) {
      await page.setViewportSize(size)
      await shot(page, `names-estate-${size.width}x${size.height}`)
    }
  })

  it('an alert’s page shows its trigger values in words, one duration, and the audit log with team names', async () => {
    const page = await manager()
    await page.goto(`${h.httpUrl}/#/alerts/${trapped.id}`)
    const audit = page.locator('[data-test=audit-log]')
    await expect.poll(() => audit.textContent()).toContain('永安电梯维保')
    const values = (await page.locator('.two table').first().textContent()) ?? ''
    expect(values).toContain('已持续')
    expect(values.match(/已持续/g)).toHaveLength(1)
    expect(values).not.toMatch(/subtype|in_zone|at floor level|where/)
    const log = (await audit.textContent()) ?? ''
    expect(log).not.toMatch(/lift_a|wo_|work order opened/)
    expect(log).toContain('已开工单')
    for (const size of SIZES) {
      await page.setViewportSize(size)
      await shot(page, `names-alert-${size.width}x${size.height}`)
    }
  })

  it('the report view and its page name the estate, the team and the fault types', async () => {
    const page = await manager()
    await page.goto(`${h.httpUrl}/#/reports?scope=e1&period=today`)
    const frame = page.frameLocator('[data-test=report-frame]')
    await expect.poll(() => frame.locator('#lifts').textContent()).toContain('困人×1')
    const lifts = (await frame.locator('#lifts').textContent()) ?? ''
    expect(lifts).toContain('一号小区')
    expect(lifts).not.toMatch(/trapped×|\be1\b/)
    const response = (await frame.locator('#response').textContent()) ?? ''
    expect(response).toContain('永安电梯维保')
    expect(response).toContain('全部工单')
    expect(response).toContain('分钟')
    expect(response).not.toMatch(/lift_a|All work orders/)
    const open = (await frame.locator('#open_work_orders').textContent()) ?? ''
    expect(open).toContain('困人')
    expect(open).not.toContain('elevator.trapped')
    for (const size of SIZES) {
      await page.setViewportSize(size)
      await shot(page, `names-report-${size.width}x${size.height}`)
    }
  })
})
