import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MODELS } from '../../devices/models/index.ts'
import { buildHub, type TestHub } from '../helpers/hub.ts'
import { connectorsEstate, TOKENS } from '../integration/connectors/rig.ts'
import { launch, logIn, session, shot } from './browser.ts'

/**
 * What an installer sees on the device page when a real device's frames are refused: the device's
 * model by its name and its platform identity, and the last error in Chinese with its code, when,
 * where from and how many, arriving live while the page is open.
 */
describe('device page: model and last refused message', () => {
  let browser: Browser
  let hub: TestHub

  beforeAll(async () => {
    browser = await launch()
    hub = await buildHub({ estateFile: connectorsEstate() })
    await hub.hub.auth.users.add({
      username: 'mgr_e1',
      password: 'mgr-e1-password',
      role: 'manager',
      scope: 'e1',
    })
  })
  afterAll(async () => {
    await browser?.close()
  })

  const pushGarbled = (id: string) =>
    fetch(`${hub.httpUrl}/ingest/http/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.push}` },
      // Milesight EM400-UDL: a distance channel header (04 82) with its two value bytes missing.
      body: JSON.stringify({
        device: 'well1',
        data: Buffer.from([0x04, 0x82]).toString('base64'),
        f_port: 85,
        id,
      }),
    })

  it('names the model, shows the DevEUI, and the last error arrives live with its count', async () => {
    const { page } = await session(browser)
    await logIn(page, hub.httpUrl, 'mgr_e1', 'mgr-e1-password')
    await page.click('[data-test=nav-devices]')
    const row = page.locator('[data-device=well1]')
    await row.waitFor()
    const em400 = MODELS['milesight/em400-udl']!
    await expect
      .poll(() => row.locator('[data-test=model]').textContent())
      .toContain(`${em400.vendor.zh} ${em400.model} ${em400.names.zh}`)
    expect(await row.locator('[data-test=model]').textContent()).toContain('DevEUI 24E124713A001234')
    expect(await row.locator('[data-test=model]').textContent()).not.toContain('milesight/em400-udl')
    // A device without a model speaks zhian's own JSON, and says so.
    expect(await page.locator('[data-device=mh9] [data-test=model]').textContent()).toContain('智安原生协议')
    expect(((await row.locator('[data-test=last-error]').textContent()) ?? '').trim()).toBe('')

    // The page is open: the refusals arrive over socket.io, no reload.
    expect((await pushGarbled('e2e-1')).status).toBe(400)
    expect((await pushGarbled('e2e-2')).status).toBe(400)
    const cell = row.locator('[data-test=last-error]')
    await expect.poll(() => cell.textContent()).toContain('共 2 次')
    const text = (await cell.textContent()) ?? ''
    expect(text).toContain('设备型号无法解析该上报')
    expect(text).toContain('ZHIAN_ERR_MODEL_DECODE')
    expect(text).toContain('经接入 push')

    await row.scrollIntoViewIfNeeded()
    await shot(page, 'device-last-error-1920x1080')
    await page.setViewportSize({ width: 1366, height: 768 })
    await row.scrollIntoViewIfNeeded()
    await shot(page, 'device-last-error-1366x768')
    await page.setViewportSize({ width: 390, height: 844 })
    await row.scrollIntoViewIfNeeded()
    await cell.scrollIntoViewIfNeeded()
    await shot(page, 'device-last-error-390x844')
    await page.setViewportSize({ width: 1920, height: 1080 })

    // English when the dashboard is switched.
    await page.click('[data-test=lang]')
    await expect.poll(() => cell.textContent()).toContain('the device model could not decode the uplink')
    expect(await cell.textContent()).toContain('2×')
    expect(await row.locator('[data-test=model]').textContent()).toContain(
      `${em400.vendor.en} ${em400.model} ${em400.names.en}`,
    )
  })
})
