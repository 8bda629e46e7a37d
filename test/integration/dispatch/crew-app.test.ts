import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launch, logIn, session, shot } from '../../e2e/browser.ts'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from './receiver.ts'
import { alertOf, detail, PASSWORDS, trapPassenger, userApi } from './rig.ts'

/** The crew app on a phone-sized browser: open the link from the notification, accept, arrive, resolve. */
describe('crew app in a real browser', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launch()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('the lift fitter opens the work order from the webhook link on a phone and takes it to resolved; the alert resolves', async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: estateFor(rx) })
    const phone = await session(browser, { width: 390, height: 844 })
    await logIn(phone.page, h.httpUrl, 'crew_wang', PASSWORDS.crew_wang!)

    const lift = await connectDevice(h.mqttUrl, 'lift1')
    await trapPassenger(lift)
    const [hook] = await until(
      () => (rx.to('/wang').length ? rx.to('/wang') : undefined),
      'webhook to wang',
      8000,
    )
    const { link, work_order } = hook!.json as { link: string; work_order: { id: string } }
    await phone.page.goto(link)
    const card = `[data-work-order="${work_order.id}"]`
    await phone.page.waitForSelector(`${card}[data-status=dispatched]`)
    expect(await phone.page.textContent(card)).toContain('困人')
    await shot(phone.page, 'crew-app-dispatched')
    await phone.page.fill(`${card} input`, '马上到')
    await phone.page.click(`${card} [data-test=task-accept]`)
    await phone.page.waitForSelector(`${card}[data-status=accepted]`)
    await phone.page.click(`${card} [data-test=task-arrive]`)
    await phone.page.waitForSelector(`${card}[data-status=on_site]`)
    await phone.page.click(`${card} [data-test=task-resolve]`)
    // Resolved orders leave the open list.
    await phone.page.waitForSelector(card, { state: 'detached' })
    await shot(phone.page, 'crew-app-done')

    const wo = await detail(h, work_order.id)
    expect(wo.status).toBe('resolved')
    expect(wo.events.filter((e) => e.actor === 'crew_wang').map((e) => [e.action, e.note])).toEqual([
      ['accepted', '马上到'],
      ['on_site', null],
      ['resolved', null],
    ])
    expect((await alertOf(h, 'elevator.trapped')).status).toBe('resolved')
  })

  it('"my tasks" follows changes made elsewhere without a reload: a new order, an accept on another phone, a manager note', async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: estateFor(rx) })
    const phone = await session(browser, { width: 390, height: 844 })
    await logIn(phone.page, h.httpUrl, 'crew_wang', PASSWORDS.crew_wang!)
    await phone.page.goto(`${h.httpUrl}/#/tasks`)
    await phone.page.waitForSelector('[data-test=my-tasks]')
    // The page polls only once a minute as a fallback: within 3 s, only the socket.io push can have done it.
    const live = { timeout: 3000 }

    const lift = await connectDevice(h.mqttUrl, 'lift1')
    await trapPassenger(lift)
    const wo = await until(() => h.hub.dispatch.store.openOrders()[0], 'the work order', 8000)
    const card = `[data-work-order="${wo.id}"]`
    await phone.page.waitForSelector(`${card}[data-status=dispatched]`, live)
    await phone.page.click(`${card} header`)

    // The same fitter accepts on his other phone; then the estate manager adds a note.
    const otherPhone = await userApi(h, 'crew_wang')
    expect((await otherPhone(`/api/work-orders/${wo.id}/accept`, { note: '在路上' })).status).toBe(200)
    await phone.page.waitForSelector(`${card}[data-status=accepted]`, live)
    const manager = await userApi(h, 'mgr_e1')
    expect((await manager(`/api/work-orders/${wo.id}/comment`, { note: '住户已安抚' })).status).toBe(200)
    await phone.page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent?.includes('住户已安抚'),
      `${card} .life`,
      live,
    )
    expect(await phone.page.textContent(`${card} .life`)).toContain('在路上')
    await shot(phone.page, 'crew-app-live')
  })
})
