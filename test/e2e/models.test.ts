import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KINDS } from '../../devices/index.ts'
import { MODEL_IDS, MODELS, TRANSPORT_NAMES } from '../../devices/models/index.ts'
import { buildHub, type TestHub } from '../helpers/hub.ts'
import { as, DASHBOARD_ESTATE, tokenOf, USERS } from '../helpers/session.ts'
import { launch, logIn, session, shot } from './browser.ts'

/** The device model catalogue as people see it: GET /api/models and the dashboard's models page. */
describe('device models page', () => {
  let browser: Browser
  let hub: TestHub

  beforeAll(async () => {
    browser = await launch()
    hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('GET /api/models lists every model with its kind and transports, for any signed-in user, nobody else', async () => {
    expect((await fetch(`${hub.httpUrl}/api/models`)).status).toBe(401)
    const viewer = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'viewer_e1'))
    const res = await viewer('/api/models')
    expect(res.status).toBe(200)
    const models = (await res.json()) as {
      id: string
      kind: string
      kind_names: unknown
      transports: { id: string }[]
    }[]
    expect(models.map((m) => m.id)).toEqual(MODEL_IDS)
    const pls = models.find((m) => m.id === 'bosch/pls')!
    expect(pls).toMatchObject({ kind: 'parking_bay', kind_names: KINDS.parking_bay.names })
    expect(pls.transports.map((t) => t.id)).toEqual(['chirpstack', 'tts'])
  })

  it('shows each model in Chinese first: name, vendor, the kind it reports as, how it arrives, its params', async () => {
    const { page } = await session(browser)
    await logIn(page, hub.httpUrl, 'mgr_e1', USERS.mgr_e1)
    await page.click('[data-test=nav-models]')
    await page.waitForSelector('[data-model="milesight/em400-udl"]')
    expect(await page.locator('[data-test=model-table] tbody tr').count()).toBe(MODEL_IDS.length)
    for (const id of MODEL_IDS) {
      const m = MODELS[id]!
      const row = page.locator(`[data-model="${id}"]`)
      const text = (await row.textContent()) ?? ''
      expect(text, id).toContain(m.names.zh)
      expect(text, id).toContain(m.vendor.zh)
      expect(await row.locator('[data-test=model-kind]').textContent(), id).toBe(
        (KINDS as Record<string, { names: { zh: string } }>)[m.kind]?.names.zh,
      )
      for (const t of m.transports) expect(text, id).toContain(TRANSPORT_NAMES[t].zh)
    }
    expect(await page.locator('[data-model="milesight/em400-udl"]').textContent()).toContain('安装深度')
    await shot(page, 'models-zh')
    await page.click('[data-test=lang]')
    await expect
      .poll(() => page.locator('[data-model="bosch/pls"] [data-test=model-kind]').textContent())
      .toBe('Parking bay')
    expect(await page.locator('[data-model="bosch/pls"]').textContent()).toContain(
      'ChirpStack network server (LoRaWAN)',
    )
  })
})
