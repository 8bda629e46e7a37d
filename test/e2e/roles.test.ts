import fs from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildHub, connectDevice, type TestHub, until } from '../helpers/hub.ts'
import { estateFor, Receiver } from '../integration/dispatch/receiver.ts'
import { alertOf, detail, PASSWORDS, trapPassenger } from '../integration/dispatch/rig.ts'
import { launch, logIn, session, shot } from './browser.ts'

/**
 * The people on duty, each in a real browser against a real hub (the dispatch fixture: a lift
 * contractor with two fitters, the property duty, a manager, a read-only viewer): a fitter on a phone
 * lands on his tasks and works one order one-handed; a fitter whose shift is later is told so and who is
 * on duty; a viewer sees no button it cannot use; the manager's console keeps its columns when a form
 * opens. Every view is kept as screenshots at wall-screen, laptop and phone sizes (test-artifacts/).
 */

const SIZES = [
  { width: 1920, height: 1080 },
  { width: 1366, height: 768 },
  { width: 390, height: 844 },
] as const

/** The page at the three sizes, then back to its own. */
async function shots(page: Page, name: string): Promise<void> {
  const own = page.viewportSize()
  for (const size of SIZES) {
    await page.setViewportSize(size)
    await shot(page, `roles-${name}-${size.width}x${size.height}`)
  }
  if (own) await page.setViewportSize(own)
}

/** Column widths of the console's header, in px. */
function columnWidths(page: Page): Promise<number[]> {
  return page.$$eval('table.console thead th', (ths) => ths.map((th) => th.getBoundingClientRect().width))
}

/** The lift moves with its doors open (GB/T 24476 fault 5): a critical alert, a work order for the lift contractor. */
async function liftFault(hub: TestHub): Promise<void> {
  const lift = await connectDevice(hub.mqttUrl, 'lift1')
  await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ fault_code: 5 }), { qos: 1 })
  await until(
    () => hub.hub.alerts.openAlerts().some((a) => a.type === 'elevator.moving_door_open'),
    'the fault',
  )
}

/** The hour of day in Hangzhou (the fixture's teams keep Asia/Shanghai rosters). */
function hangzhouHour(): number {
  return Number(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', hourCycle: 'h23' }).format(
      new Date(),
    ),
  )
}

describe('each role in a real browser: the crew app on a phone, the viewer, the console', () => {
  let browser: Browser
  let hub: TestHub
  /** Li's shift starts three hours from now and lasts one: off shift for the whole test. */
  const from = (hangzhouHour() + 3) % 24
  const liShift = `${String(from).padStart(2, '0')}:00-${String(from + 1).padStart(2, '0')}:00`

  beforeAll(async () => {
    browser = await launch()
    const rx = await new Receiver().start()
    const file = estateFor(rx)
    const text = fs.readFileSync(file, 'utf8')
    const roster = '  - { team: lift_a, member: li }\n'
    expect(text).toContain(roster)
    fs.writeFileSync(file, text.replace(roster, `  - { team: lift_a, member: li, hours: "${liShift}" }\n`))
    hub = await buildHub({ estateFile: file })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('a crew login on a 390×844 phone lands on its tasks and takes one order of two from accept to resolved with a note; the other card’s note stays empty', async () => {
    const phone = await session(browser, { width: 390, height: 844 })
    const { page } = phone
    await page.goto(hub.httpUrl)
    await page.waitForSelector('input[name=username]')
    await shots(page, 'login')
    await logIn(page, hub.httpUrl, 'crew_wang', PASSWORDS.crew_wang!)
    // Lands on its tasks, not the desktop console; the header is one slim row, not a fifth of the screen.
    await expect.poll(() => page.url()).toMatch(/#\/tasks$/)
    expect(await page.textContent('[data-test=tasks-title]')).toBe('我的任务')
    const header = (await page.locator('.topbar').boundingBox())!
    expect(header.height).toBeLessThanOrEqual(56)
    // On shift (round the clock): no banner. No reports: not in the menu, and the address goes home.
    expect(await page.locator('[data-test=off-shift]').count()).toBe(0)
    expect(await page.locator('[data-test=nav-reports]').count()).toBe(0)
    await page.goto(`${hub.httpUrl}/#/reports`)
    await expect.poll(() => page.url()).toMatch(/#\/tasks$/)
    // Opening the bare address again with the session (a bookmark on the home screen) lands there too.
    await page.goto(`${hub.httpUrl}/#/`)
    await page.reload()
    await expect.poll(() => page.url()).toMatch(/#\/tasks$/)

    // Two orders for the fitter on duty: a trapped passenger and a lift that moved with its doors open.
    const lift = await connectDevice(hub.mqttUrl, 'lift1')
    await trapPassenger(lift)
    await liftFault(hub)
    const [trapped, fault] = await until(
      () => {
        const open = hub.hub.dispatch.store.openOrders()
        const t = open.find((wo) => wo.alert_type === 'elevator.trapped')
        const f = open.find((wo) => wo.alert_type !== 'elevator.trapped' && wo.team === 'lift_a')
        return t && f ? [t, f] : undefined
      },
      'two work orders for the lift contractor',
      10_000,
    )
    const one = page.locator(`[data-work-order="${trapped.id}"]`)
    const other = page.locator(`[data-work-order="${fault.id}"]`)
    await one.and(page.locator('[data-status=dispatched]')).waitFor()
    await other.and(page.locator('[data-status=dispatched]')).waitFor()
    await shots(page, 'crew-tasks')

    // Typing on one card fills that card only.
    await one.locator('[data-test=task-note]').fill('马上到')
    expect(await other.locator('[data-test=task-note]').inputValue()).toBe('')
    await one.locator('[data-test=task-accept]').click()
    await one.and(page.locator('[data-status=accepted]')).waitFor()
    expect(await other.getAttribute('data-status')).toBe('dispatched')
    expect(await one.locator('[data-test=task-note]').inputValue()).toBe('')
    await one.locator('[data-test=task-arrive]').click()
    await one.and(page.locator('[data-status=on_site]')).waitFor()
    await one.locator('[data-test=task-note]').fill('乘客已救出,电梯恢复')
    expect(await other.locator('[data-test=task-note]').inputValue()).toBe('')
    await one.locator('[data-test=task-resolve]').click()
    // Resolved orders leave the open list; the other waits, untouched, its note box empty.
    await one.waitFor({ state: 'detached' })
    expect(await other.getAttribute('data-status')).toBe('dispatched')
    expect(await other.locator('[data-test=task-note]').inputValue()).toBe('')

    const done = await detail(hub, trapped.id)
    expect(done.status).toBe('resolved')
    expect(done.events.filter((e) => e.actor === 'crew_wang').map((e) => [e.action, e.note])).toEqual([
      ['accepted', '马上到'],
      ['on_site', null],
      ['resolved', '乘客已救出,电梯恢复'],
    ])
    const untouched = await detail(hub, fault.id)
    expect(untouched.events.some((e) => e.actor === 'crew_wang')).toBe(false)

    // The other order's history: plain Chinese with names — no ids, no English, no step codes.
    await until(() => hub.hub.dispatch.deliveries(fault.id).some((d) => d.status === 'delivered'), 'delivery')
    await other.locator('[data-test=task-history]').click()
    const life = other.locator('[data-test=task-life]')
    await expect.poll(() => life.textContent()).toContain('已送达')
    const history = (await life.textContent())!
    expect(history).toContain('派单系统')
    expect(history).toContain('派给 永安电梯维保 王师傅')
    expect(history).toContain('王师傅 · Webhook · 已送达')
    expect(history).toContain('派单通知已送达 王师傅(Webhook)')
    expect(history).not.toMatch(/lift_a|crew_wang|\bwang\b|dispatched to|delivered to|next_on_duty| \/ /)
    await shots(page, 'crew-history')
    // In English, the English half, still with names.
    await page.click('[data-test=menu]')
    await page.click('[data-test=lang]')
    await expect.poll(() => life.textContent()).toContain('dispatched to 永安电梯维保: 王师傅')
    expect(await life.textContent()).not.toMatch(/派给|lift_a|\bwang\b/)
    await page.click('[data-test=lang]') // the menu is still open
    await expect.poll(() => page.textContent('[data-test=tasks-title]')).toBe('我的任务')
    // Its own tasks come first in the views; the others are there to read, reports are not offered.
    const views = (await page.locator('.topbar nav a').allTextContents()).map((x) => x.trim())
    expect(views[0]).toBe('我的任务')
    expect(views).toContain('实时告警')
    expect(views).not.toContain('报表')
    await page.click('[data-test=nav-console]')
    await page.locator('[data-test=alert-console]').waitFor({ state: 'attached' })
    await shots(page, 'crew-console')
    await phone.context.close()
  }, 60_000)

  it('off shift: a fitter whose shift is later today is told so, with his hours and who is on duty now', async () => {
    const { page, context } = await session(browser, { width: 390, height: 844 })
    await logIn(page, hub.httpUrl, 'crew_li', PASSWORDS.crew_li!)
    await expect.poll(() => page.url()).toMatch(/#\/tasks$/)
    const banner = page.locator('[data-test=off-shift]')
    await banner.waitFor()
    const text = (await banner.textContent())!
    expect(text).toContain('您现在不在班')
    expect(text).toContain(liShift.replace('-', '–'))
    expect(text).toContain('永安电梯维保现在值班:王师傅')
    await shots(page, 'crew-off-shift')
    await context.close()
  })

  it('a read-only viewer sees no action: no buttons on the console, the alert or the work orders, and a page titled 工单', async () => {
    const { page, context } = await session(browser, { width: 1366, height: 768 })
    await liftFault(hub)
    await logIn(page, hub.httpUrl, 'viewer_e1', PASSWORDS.viewer_e1!)
    await expect.poll(() => page.url()).toMatch(/#\/$/)
    const alert = await alertOf(hub, 'elevator.moving_door_open')
    const row = page.locator(`tr.alert-row[data-alert="${alert.id}"]`)
    await row.waitFor()
    const ACTIONS =
      '[data-test=ack], [data-test=assign], [data-test=resolve], [data-test=comment], [data-test=silence], [data-test=open-work-order]'
    expect(await page.locator(ACTIONS).count()).toBe(0)
    expect(await page.locator('.actions-cell button').count()).toBe(0)
    // It may read reports (the street officer's work): that view is offered.
    expect(await page.locator('[data-test=nav-reports]').count()).toBe(1)
    await shots(page, 'viewer-console')
    await row.locator('a.title').click()
    await page.locator('.detail').waitFor()
    expect(await page.locator(`.detail ${ACTIONS.replaceAll(', ', ', .detail ')}`).count()).toBe(0)
    await shots(page, 'viewer-alert-detail')
    await page.click('[data-test=nav-tasks]')
    await page.locator('[data-test=my-tasks] [data-work-order]').first().waitFor()
    expect(await page.textContent('[data-test=tasks-title]')).toBe('工单')
    expect(await page.locator('[data-test=my-tasks] .act, [data-test=task-note]').count()).toBe(0)
    expect(
      await page
        .locator('[data-test^=task-accept], [data-test^=task-arrive], [data-test^=task-resolve]')
        .count(),
    ).toBe(0)
    await shots(page, 'viewer-work-orders')
    await context.close()
  })

  it('the console: most severe first, columns keep their width when a row’s form opens, 派工单 only where no order is open, closing asks for a note', async () => {
    const { page, context } = await session(browser, { width: 1920, height: 1080 })
    await liftFault(hub)
    await logIn(page, hub.httpUrl, 'mgr_e1', PASSWORDS.mgr_e1!)
    // A warning newer than the critical lift alert still sorts below it.
    const cover = await connectDevice(hub.mqttUrl, 'mh1')
    await cover.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ battery_pct: 5 }), { qos: 1 })
    const battery = page.locator('tr.alert-row', { hasText: '电池电量低' })
    await battery.waitFor()
    const fault = await alertOf(hub, 'elevator.moving_door_open')
    const severities = await page.$$eval('tr.alert-row [data-severity]', (els) =>
      els.map((e) => e.getAttribute('data-severity')),
    )
    expect(severities.indexOf('critical')).toBeLessThan(severities.indexOf('warning'))
    expect(severities.indexOf('critical')).toBe(0)

    // The lift's order is open: a link to it with its state, and no second 派工单 or team change.
    const faultRow = page.locator(`tr.alert-row[data-alert="${fault.id}"]`)
    expect(await faultRow.locator('[data-test=open-work-order]').count()).toBe(0)
    expect(await faultRow.locator('[data-test=assign]').count()).toBe(0)
    expect(await faultRow.locator('[data-test=work-order-link]').textContent()).toContain('工单 · 待接单')

    for (const size of SIZES.slice(0, 2)) {
      await page.setViewportSize(size)
      const before = await columnWidths(page)
      const faultHeight = (await faultRow.boundingBox())!.height
      await battery.locator('[data-test=assign]').click()
      await battery.locator('[data-test=assign-team]').waitFor()
      expect(await columnWidths(page)).toEqual(before)
      expect((await faultRow.boundingBox())!.height).toBe(faultHeight)
      await shot(page, `roles-console-form-${size.width}x${size.height}`)
      // The teams that serve this estate, its own first; nothing generic preselected.
      expect(await battery.locator('[data-test=assign-team] option').allTextContents()).toEqual([
        '请选择班组',
        '永安电梯维保',
        '一号小区物业值班',
        '测试社区网格',
      ])
      expect(await battery.locator('[data-test=assign-team]').inputValue()).toBe('')
      await battery.locator('[data-test=assign]').click()
      await battery.locator('[data-test=action-layer]').waitFor({ state: 'detached' })
    }
    await page.setViewportSize(SIZES[0])
    await shots(page, 'manager-console')

    // Send a work order for the battery: afterwards the row links it instead of offering another.
    await battery.locator('[data-test=open-work-order]').click()
    await battery.locator('[data-test=work_order-team]').selectOption({ label: '一号小区物业值班' })
    await battery.locator('[data-test=send]').click()
    await battery.locator('[data-test=work-order-link]').waitFor()
    expect(await battery.locator('[data-test=open-work-order]').count()).toBe(0)
    const batteryId = (await battery.getAttribute('data-alert'))!
    expect(hub.hub.dispatch.store.openFor(batteryId)).toMatchObject({ team: 'property_duty' })

    // Closing asks for how it was dealt with: an empty note does not close it.
    await battery.locator('[data-test=resolve]').click()
    await battery.locator('[data-test=send]').click()
    expect(await battery.getAttribute('data-status')).toBe('active')
    expect(hub.hub.alerts.get(batteryId)?.status).toBe('active')
    await battery.locator('[data-test=resolve-note]').fill('已更换电池')
    await shot(page, 'roles-console-close-1920x1080')
    await battery.locator('[data-test=send]').click()
    await page.locator(`tr.alert-row[data-alert="${batteryId}"]`).waitFor({ state: 'detached' })
    expect(hub.hub.alerts.audit(batteryId).at(-1)).toMatchObject({ action: 'resolved', note: '已更换电池' })

    // The alert detail and the manager's work-order page (titled 工单, not 我的任务).
    await faultRow.locator('a.title').click()
    await page.locator('.detail').waitFor()
    await shots(page, 'manager-alert-detail')
    await page.click('[data-test=nav-tasks]')
    await page.locator('[data-test=my-tasks] [data-work-order]').first().waitFor()
    expect(await page.textContent('[data-test=tasks-title]')).toBe('工单')
    // The most severe first: the lift that moved with open doors above the newer "frequent faults".
    const ranks = await page.$$eval('[data-test=my-tasks] [data-work-order] header [data-severity]', (els) =>
      els.map((e) =>
        ['critical', 'major', 'minor', 'warning', 'info'].indexOf(e.getAttribute('data-severity')!),
      ),
    )
    expect(new Set(ranks).size).toBeGreaterThan(1)
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
    await shots(page, 'manager-work-orders')
    await context.close()
  })
})
