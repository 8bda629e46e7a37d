import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../src/alerts/types.ts'
import { buildHub, connectDevice, type TestHub } from '../helpers/hub.ts'
import { DASHBOARD_ESTATE, USERS } from '../helpers/session.ts'
import { launch, logIn, session, shot } from './browser.ts'

/**
 * Desktop notifications of critical alerts in a real Chromium: permission asked from the header's
 * button, a notification only for a console the manager is not looking at (its window without focus:
 * CDP Emulation.setFocusEmulationEnabled off, as when another program is in front), none for one in
 * front, and a click brings the console to the alert. The page's Notification is the browser's own;
 * an init script only records what the page constructs.
 */

const RECORD_NOTIFICATIONS = () => {
  const Real = window.Notification
  const shown: { title: string; body?: string; tag?: string; n: Notification }[] = []
  ;(window as unknown as { __shown: typeof shown }).__shown = shown
  window.Notification = class extends Real {
    constructor(title: string, options?: NotificationOptions) {
      super(title, options)
      shown.push({ title, body: options?.body, tag: options?.tag, n: this })
    }
  } as typeof Notification
}

const shownIn = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { __shown: { title: string; body?: string; tag?: string }[] }).__shown.map(
      ({ title, body, tag }) => ({ title, body, tag }),
    ),
  )

describe('desktop notifications of critical alerts', () => {
  let browser: Browser
  let hub: TestHub
  beforeAll(async () => {
    browser = await launch()
    hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
  })

  it('asks permission from the header button, notifies only the console nobody looks at, a click opens the alert', async () => {
    // Manager 1 has the console in front; manager 2's window is behind another program.
    const front = await session(browser)
    const away = await session(browser)
    for (const s of [front, away]) await s.context.addInitScript(RECORD_NOTIFICATIONS)
    await logIn(front.page, hub.httpUrl, 'mgr_e1', USERS.mgr_e1)
    await logIn(away.page, hub.httpUrl, 'mgr_e1', USERS.mgr_e1)

    // Nothing granted yet: the button offers to turn them on; a click asks the browser.
    const button = away.page.locator('[data-test=notify]')
    await expect.poll(() => button.textContent()).toContain('开启桌面通知')
    expect(await button.getAttribute('data-permission')).toBe('default')
    await away.context.grantPermissions(['notifications'], { origin: hub.httpUrl })
    await button.click()
    await expect.poll(() => button.getAttribute('data-permission')).toBe('granted')
    expect(await button.textContent()).toContain('桌面通知已开启')
    await shot(away.page, 'notify-button-granted')
    await front.context.grantPermissions(['notifications'], { origin: hub.httpUrl })
    await front.page.locator('[data-test=notify]').click()
    await expect
      .poll(() => front.page.locator('[data-test=notify]').getAttribute('data-permission'))
      .toBe('granted')

    // Manager 2 opens another tab in front of the console; the console stops pretending to have focus
    // (playwright emulates focus for every page).
    const otherTab = await away.context.newPage()
    await otherTab.bringToFront()
    const cdp = await away.context.newCDPSession(away.page)
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false })
    expect(await away.page.evaluate(() => document.hasFocus())).toBe(false)
    expect(await front.page.evaluate(() => document.hasFocus())).toBe(true)

    // A manhole cover opens: a critical alert in both managers' scope.
    const manhole = await connectDevice(hub.mqttUrl, 'mh1')
    await manhole.publishAsync(
      'zhian/manhole/mh1/state',
      JSON.stringify({ cover_open: true, tilt_deg: 35, water_level_cm: 20, battery_pct: 87 }),
      { qos: 1 },
    )
    const coverOpen = async () => {
      const { items } = (await (await hub.api('/api/alerts?status=active')).json()) as { items: Alert[] }
      return items.filter((a) => a.type === 'manhole.cover_open')
    }
    await expect.poll(coverOpen).toHaveLength(1)
    const alerts = await coverOpen()
    const alert = alerts[0]!
    expect(alert.severity).toBe('critical')

    // Both consoles show it; only the one nobody looks at made a system notification, in Chinese.
    for (const s of [front, away])
      await s.page.locator('tr.alert-row', { hasText: alert.title.zh }).waitFor({ timeout: 5000 })
    await expect.poll(() => shownIn(away.page)).toHaveLength(1)
    const [n] = await shownIn(away.page)
    expect(n!.title).toBe(alert.title.zh)
    expect(n!.title).toMatch(/[\u4e00-\u9fff]/)
    expect(n!.body).toContain(alert.message.zh)
    expect(n!.body).toContain('一号小区')
    expect(n!.tag).toBe(alert.id)
    expect(await shownIn(front.page)).toEqual([])

    // A click on the notification brings the console to that alert.
    await away.page.evaluate(() =>
      (window as unknown as { __shown: { n: Notification }[] }).__shown[0]!.n.dispatchEvent(
        new Event('click'),
      ),
    )
    await expect.poll(() => away.page.url()).toContain(`#/alerts/${alert.id}`)
    await away.page.locator('[data-test=detail-status]').waitFor()
    await shot(away.page, 'notify-clicked-alert')
    await manhole.endAsync()
  })
})
