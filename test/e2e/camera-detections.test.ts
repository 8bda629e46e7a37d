import path from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildHub, connectDevice, FIXTURES, type TestHub } from '../helpers/hub.ts'
import { waitAlert } from '../integration/rules/rig.ts'
import { launch, logIn, session, shot } from './browser.ts'

const ESTATE = path.join(FIXTURES, 'cross-device-estate.yaml')
const SNAP_LIFT = 'https://nvr.example/snap/lift-0042.jpg'
const SNAP_THROW = 'https://nvr.example/snap/facade-0007.jpg'

/**
 * The estate view's camera panel as a property manager sees it in a real browser: the e-bike a car
 * camera saw (an alert on the lift) and a high-altitude throw, each with its snapshot link, by name.
 */
describe('camera detections on the estate view', () => {
  let browser: Browser
  let h: TestHub

  beforeAll(async () => {
    browser = await launch()
    h = await buildHub({ estateFile: ESTATE })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('lists each open detection with its device name and a working snapshot link; a non-http snapshot is not a link', async () => {
    const [liftCam, facade, yard] = await Promise.all(
      ['cam_lift', 'cam_b1', 'cam_yard'].map((id) => connectDevice(h.mqttUrl, id)),
    )
    const send = (c: typeof liftCam, id: string, body: unknown) =>
      c!.publishAsync(`zhian/ai_camera/${id}/event`, JSON.stringify(body), { qos: 1 })
    await send(liftCam, 'cam_lift', { type: 'ebike_in_lift', data: { snapshot_url: SNAP_LIFT } })
    await send(facade, 'cam_b1', {
      type: 'high_altitude_throw',
      data: { floor: 12, snapshot_url: SNAP_THROW },
    })
    // A device's text is not trusted to be a link.
    await send(yard, 'cam_yard', {
      type: 'high_altitude_throw',
      data: { snapshot_url: 'javascript:alert(1)' },
    })
    await waitAlert(h, 'elevator.ebike_in_lift')
    await waitAlert(h, 'ai_camera.high_altitude_throw', (a) => a.device_id === 'cam_yard')

    const { page } = await session(browser)
    await logIn(page, h.httpUrl, 'mgr_e1', 'mgr-e1-password')
    await page.goto(`${h.httpUrl}/#/estates/e1`)
    const panel = page.locator('section[data-kind=ai_camera]')
    await expect.poll(() => panel.locator('[data-test=detection]').count()).toBe(2)
    await expect.poll(() => panel.locator('h2').textContent()).toBe('摄像机识别')
    const rows = panel.locator('[data-test=detection]')
    const devices = await rows.locator('[data-test=detection-device]').allTextContents()
    expect(devices.sort()).toEqual(['1号楼1号电梯', '1号楼外立面摄像机'])
    const links = await panel
      .locator('[data-test=snapshot-link]')
      .evaluateAll((as) =>
        as.map((a) => [
          (a as HTMLAnchorElement).href,
          (a as HTMLAnchorElement).target,
          (a as HTMLAnchorElement).rel,
        ]),
      )
    expect(links.map((l) => l[0]).sort()).toEqual([SNAP_THROW, SNAP_LIFT].sort())
    expect(links.every((l) => l[1] === '_blank' && l[2] === 'noopener noreferrer')).toBe(true)
    expect(await panel.textContent()).not.toContain('javascript:')
    await expect.poll(() => panel.locator('[data-test=camera-count]').textContent()).toContain('摄像机 3')
    await shot(page, 'camera-detections')
  })
})
