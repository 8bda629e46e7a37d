import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildHub, connectDevice, DEMO_ESTATE, type TestHub } from '../helpers/hub.ts'
import { launch, logIn, session, shot } from './browser.ts'

/**
 * The street cockpit as the street officer (jiedao) opens it on a wall screen, a laptop and a phone:
 * the demo street's four estates ranked, the estate with a lift alarm first, its site plan with every
 * device at the estate file's coordinates and the alarm drawn on the lift.
 */
const SIZES = [
  { width: 1920, height: 1080 },
  { width: 1366, height: 768 },
  { width: 390, height: 844 },
]

describe('street cockpit in a real browser', () => {
  let browser: Browser
  let t: TestHub

  beforeAll(async () => {
    browser = await launch()
    t = await buildHub({ estateFile: DEMO_ESTATE })
  })
  afterAll(async () => {
    await browser?.close()
  })

  /** Where the marker's centre is, in percent of the plan picture. */
  async function markerAt(page: Page, device: string): Promise<{ x: number; y: number }> {
    const canvas = (await page.locator('[data-test=plan-canvas]').boundingBox())!
    const marker = (await page.locator(`[data-device=${device}]`).boundingBox())!
    return {
      x: ((marker.x + marker.width / 2 - canvas.x) / canvas.width) * 100,
      y: ((marker.y + marker.height / 2 - canvas.y) / canvas.height) * 100,
    }
  }

  it('ranks 红普新村 first after its lift alarm and draws the alarm on its site plan, at every size', async () => {
    // 红普新村 comes alive: its lifts report, one passenger presses the alarm button.
    const estate = t.hub.registry.list().filter((d) => d.estate === 'hongpu_xincun')
    for (const d of estate) {
      const client = await connectDevice(t.mqttUrl, d.id)
      const state =
        d.kind === 'elevator'
          ? {
              floor: 1,
              direction: 'none',
              door: 'closed',
              moving: false,
              service_mode: 'normal',
              fault_code: 0,
            }
          : d.kind === 'fire_passage'
            ? { occupied: false }
            : d.kind === 'manhole'
              ? { cover_open: false, tilt_deg: 1, water_level_cm: 12, battery_pct: 80 }
              : { occupied: true }
      await client.publishAsync(`zhian/${d.kind}/${d.id}/state`, JSON.stringify(state), { qos: 1 })
      if (d.id === 'hpxc_el_5_2')
        await client.publishAsync(`zhian/elevator/${d.id}/event`, JSON.stringify({ type: 'alarm_button' }), {
          qos: 1,
        })
    }

    const { page, context } = await session(browser, SIZES[0]!)
    await logIn(page, t.httpUrl, 'jiedao', 'zhian-demo')
    await page.goto(`${t.httpUrl}/#/sites`)
    const first = page.locator('[data-test=rank-critical] tbody tr').first()
    await expect.poll(() => first.getAttribute('data-rank-estate')).toBe('hongpu_xincun')
    expect(await page.locator('[data-test=rank-critical] tbody tr').count()).toBe(4)
    expect(await page.textContent('[data-test=kpi-critical]')).toContain('1')

    // The top estate's plan opens by itself: the schematic with the estate file's coordinates.
    await page.locator('[data-plan=hongpu_xincun] img').waitFor()
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-test=plan-image]')
      return img?.complete && img.naturalWidth > 0
    })
    const alarm = page.locator('[data-device=hpxc_el_5_2]')
    await expect.poll(() => alarm.getAttribute('data-sev')).toBe('critical')
    expect(await alarm.getAttribute('class')).toContain('alerting')
    expect(await page.textContent('[data-alert-on=hpxc_el_5_2]')).toContain('报警按钮')
    // The other lifts are online and quiet.
    expect(await page.locator('[data-device=hpxc_el_3_1]').getAttribute('data-sev')).toBe('')

    const names = ['cockpit-wall-1920x1080', 'cockpit-laptop-1366x768', 'cockpit-phone-390x844']
    for (const [i, size] of SIZES.entries()) {
      await page.setViewportSize(size)
      await page.locator('[data-test=plan-canvas]').scrollIntoViewIfNeeded()
      // demo.yaml: hpxc_el_3_1 at (19, 21), hpxc_el_5_2 at (35, 65), hpxc_fp_2 at (62, 92).
      for (const [id, x, y] of [
        ['hpxc_el_3_1', 19, 21],
        ['hpxc_el_5_2', 35, 65],
        ['hpxc_fp_2', 62, 92],
      ] as const) {
        const at = await markerAt(page, id)
        expect(Math.abs(at.x - x), `${id} x at ${size.width}px`).toBeLessThan(0.6)
        expect(Math.abs(at.y - y), `${id} y at ${size.width}px`).toBeLessThan(0.9)
      }
      await shot(page, names[i]!)
    }

    // 天城家园's plan is the picture its estate file names; its devices sit on it too.
    await page.setViewportSize(SIZES[0]!)
    await page.click('[data-plan-tab=tiancheng_jiayuan]')
    await page.locator('[data-plan=tiancheng_jiayuan] [data-device=tcjy_el_2]').waitFor()
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-plan=tiancheng_jiayuan] img')
      return img?.complete && img.naturalWidth > 0
    })
    const tower = await markerAt(page, 'tcjy_el_2')
    expect(Math.abs(tower.x - 50)).toBeLessThan(0.6)
    expect(Math.abs(tower.y - 22)).toBeLessThan(0.9)
    await shot(page, 'cockpit-plan-image-1920x1080')
    await context.close()
  })

  it('lets an admin upload an estate’s plan picture on the cockpit, refuses an unsafe SVG in Chinese, and resets it', {
    timeout: 60_000,
  }, async () => {
    const { page, context } = await session(browser, { width: 1366, height: 768 })
    await logIn(page, t.httpUrl, 'admin', t.hub.generatedAdminPassword!)
    await page.goto(`${t.httpUrl}/#/sites?estate=xinfeng_yayuan`)
    const input = page.locator('[data-plan=xinfeng_yayuan] [data-test=plan-upload]')
    await input.waitFor({ state: 'attached' })
    await input.setInputFiles({
      name: 'evil.svg',
      mimeType: 'image/svg+xml',
      buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    })
    await expect.poll(() => page.textContent('[data-test=plan-error]')).toContain('SVG 平面图含脚本')
    expect(await page.textContent('[data-test=plan-error]')).toContain('ZHIAN_ERR_PLAN_UNSAFE')
    const drawn =
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 700"><rect width="1000" height="700" fill="#203040"/>' +
      '<text x="500" y="350" font-size="60" fill="#fff" text-anchor="middle">雅苑总平面</text></svg>'
    await input.setInputFiles({ name: 'plan.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(drawn) })
    await page.locator('[data-plan=xinfeng_yayuan] [data-test=plan-reset]').waitFor()
    const src = await page.getAttribute('[data-plan=xinfeng_yayuan] img', 'src')
    expect(src).toMatch(/\/api\/plans\/xinfeng_yayuan\/image\?v=[1-9]/)
    expect(
      (await t.api('/api/plans/xinfeng_yayuan/image').then((r) => r.text())).includes('雅苑总平面'),
    ).toBe(true)
    // The devices stay at their coordinates on the new picture.
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-plan=xinfeng_yayuan] img')
      return img?.complete && img.naturalWidth > 0
    })
    const at = await markerAt(page, 'xfya_fp_1')
    expect(Math.abs(at.x - 49)).toBeLessThan(0.6)
    expect(Math.abs(at.y - 52)).toBeLessThan(0.9)
    await shot(page, 'cockpit-plan-uploaded-1366x768')
    await page.click('[data-plan=xinfeng_yayuan] [data-test=plan-reset]')
    await page.locator('[data-plan=xinfeng_yayuan] [data-test=plan-reset]').waitFor({ state: 'detached' })
    await context.close()
  })
})
