import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launch, logIn, session, shot } from '../../e2e/browser.ts'
import { buildHub, connectDevice, type TestHub } from '../../helpers/hub.ts'
import { estateFor, Receiver } from '../dispatch/receiver.ts'
import { alertsOf, LIFT_IDLE, PASSWORDS, send } from './rig.ts'

/**
 * "Done when": a property manager, as a new user would, produces the week's report for the estate in
 * one click, in Chinese, and it matches the alerts on screen — in the Debian chromium against a real
 * hub. The printable page prints to A4.
 */
describe('report page in the dashboard', () => {
  let browser: Browser
  let h: TestHub

  beforeAll(async () => {
    browser = await launch()
    const rx = await new Receiver().start()
    h = await buildHub({ estateFile: estateFor(rx, 'reports-estate.yaml') })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('one click on 报表 gives last week’s report in Chinese; this week’s matches the open alerts on screen; prints to A4', {
    timeout: 90_000,
  }, async () => {
    const lift = await connectDevice(h.mqttUrl, 'lift1')
    await send(lift, 'zhian/elevator/lift1/state', { ...LIFT_IDLE, passenger: true })
    const fp = await connectDevice(h.mqttUrl, 'fp1')
    await send(fp, 'zhian/fire_passage/fp1/state', { occupied: true })
    await alertsOf(h, 'elevator.trapped', 'lift1')
    await alertsOf(h, 'fire_passage.blocked', 'fp1')

    const { page } = await session(browser)
    await logIn(page, h.httpUrl, 'mgr_e1', PASSWORDS.mgr_e1!)
    // The console shows the two open alerts.
    await expect.poll(() => page.locator('[data-test=nav-console] .count').textContent()).toBe('2')
    await page.click('[data-test=nav-reports]')
    // One click: the manager's estate, last week, in Chinese.
    const frame = page.frameLocator('[data-test=report-frame]')
    await expect.poll(() => frame.locator('h1').textContent(), { timeout: 10_000 }).toContain('一号小区周报')
    await page.click('[data-test=report-period-this-week]')
    await expect
      .poll(() => page.textContent('[data-test=report-summary]'), { timeout: 10_000 })
      .toContain('一号小区周报')
    await expect.poll(() => page.textContent('[data-test=report-summary]')).toContain('告警 2 (')
    await expect.poll(() => frame.locator('#open_alerts tbody tr').count()).toBe(2)
    await expect
      .poll(async () => (await frame.locator('#open_alerts tbody').textContent()) ?? '')
      .toMatch(/困人[\s\S]*消防通道堵塞|消防通道堵塞[\s\S]*困人/)
    expect(page.url()).toContain('#/reports?scope=e1&period=')
    await shot(page, 'report-page')

    // The printable page on its own prints to A4 pages (595 × 842 pt).
    const src = await page.locator('[data-test=report-frame]').getAttribute('src')
    const printable = await page.context().newPage()
    await printable.goto(`${h.httpUrl}${src}`)
    const pdf = await printable.pdf({ preferCSSPageSize: true, printBackground: true })
    const text = pdf.toString('latin1')
    expect(text.startsWith('%PDF')).toBe(true)
    const box = /\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/.exec(text)
    expect(Math.round(Number(box?.[1]))).toBe(595)
    expect(Math.round(Number(box?.[2]))).toBe(842)
    expect((text.match(/\/Type \/Page\b/g) ?? []).length).toBeGreaterThanOrEqual(1)
    await Promise.all([lift.endAsync(true), fp.endAsync(true)])
  })
})
