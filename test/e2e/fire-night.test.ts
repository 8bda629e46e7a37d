import fs from 'node:fs'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compressRules } from '../../simulators/estate-gen.ts'
import { fireNight } from '../../simulators/scenarios/fire-night.ts'
import { loadEstateFile, serializeWithSections } from '../../src/config/estate-file.ts'
import { buildHub, connectDevice, DEMO_ESTATE, type TestHub, tempDir } from '../helpers/hub.ts'
import { waitAlert } from '../integration/rules/rig.ts'
import { launch, logIn, session, shot } from './browser.ts'

/** Rule durations ÷ 10, as the scenario runner plays the scenario at ×10 (compressRules). */
const SPEED = 10
const B1_LIFTS = ['elev_b1_1', 'elev_b1_2', 'elev_b1_3']
const B2_LIFTS = ['elev_b2_1', 'elev_b2_2', 'elev_b2_3']
const SNAP = 'https://nvr.example/snap/elev_b1_1-0203.jpg'
const SIZES = [
  { name: '1920', width: 1920, height: 1080 },
  { name: '1366', width: 1366, height: 768 },
  { name: '390', width: 390, height: 844 },
]

/**
 * The demo estate tried as its property manager (wuye, 前新福苑) would, in a real browser against a
 * real hub: the fire-night scenario's kitchen fire in building 1 (gas → smoke → a car on the fire lane →
 * the lifts' fire-return hint, then their fire-return mode) reads as one story on the console and the
 * estate view; an e-bike the car camera sees shows on that lift; a resident's SOS reaches the duty
 * guard and escalates to the manager when nobody accepts.
 */
describe('fire night on the demo estate, as its property manager sees it', () => {
  let browser: Browser
  let h: TestHub
  const clients = new Map<string, MqttClient>()
  const device = async (id: string) => {
    let c = clients.get(id)
    if (!c) {
      c = await connectDevice(h.mqttUrl, id, { password: `demo-secret-${id}` })
      clients.set(id, c)
    }
    return c
  }
  const publish = async (kind: string, id: string, what: 'state' | 'event', body: unknown) =>
    (await device(id)).publishAsync(`zhian/${kind}/${id}/${what}`, JSON.stringify(body), { qos: 1 })

  beforeAll(async () => {
    browser = await launch()
    const estate = compressRules(loadEstateFile(DEMO_ESTATE), SPEED)
    const file = path.join(tempDir('zhian-fire-night-e2e-'), 'demo.yaml')
    // The SOS chain's first step after 3 s instead of 2 min, so the escalation shows within the test
    // (the routing section is written as the demo file has it).
    const SOS_CHAIN =
      'type: sos_button.sos\n      site: qianxin_fuyuan\n    team: qxfy_duty\n    escalation:\n      after: 2m'
    const text = serializeWithSections(estate, DEMO_ESTATE)
    expect(text).toContain(SOS_CHAIN)
    fs.writeFileSync(file, text.replace(SOS_CHAIN, SOS_CHAIN.replace('after: 2m', 'after: 3s')))
    h = await buildHub({ estateFile: file })
  }, 60_000)
  afterAll(async () => {
    await Promise.all([...clients.values()].map((c) => c.endAsync(true)))
    await browser?.close()
  })

  /** The scenario's steps as its devices send them (simulators/behaviours: set, block, mode). */
  async function playFireNight(beforeMode: () => Promise<void>): Promise<void> {
    for (const lift of [...B1_LIFTS, ...B2_LIFTS])
      await publish('elevator', lift, 'state', {
        floor: 1,
        direction: 'none',
        door: 'closed',
        moving: false,
        service_mode: 'normal',
        fault_code: 0,
      })
    for (const step of fireNight.steps) {
      const targets = (Array.isArray(step.target) ? step.target : [step.target]) as string[]
      if (step.do === 'mode') {
        // The hint first: 30 s (÷ 10) in normal service during the fire, on each of the lifts.
        for (const id of targets) await waitAlert(h, 'elevator.fire_in_service', (a) => a.device_id === id)
        await beforeMode()
      }
      for (const id of targets) {
        const kind = h.hub.registry.get(id)!.kind
        const w = step.with as Record<string, unknown>
        if (step.do === 'set') await publish(kind, id, 'state', w)
        else if (step.do === 'block')
          await publish(kind, id, 'state', { occupied: true, object_class: w.object })
        else if (step.do === 'mode') await publish(kind, id, 'state', { service_mode: w.mode })
        else throw new Error(`step ${step.do} not played here`)
      }
      for (const type of step.raises ?? [])
        for (const id of targets) await waitAlert(h, type, (a) => a.device_id === id)
    }
  }

  async function manager(size = SIZES[0]!): Promise<Page> {
    const { page } = await session(browser, { width: size.width, height: size.height })
    await logIn(page, h.httpUrl, 'wuye', 'zhian-demo')
    return page
  }

  it('the kitchen fire is one story of building 1 on the console and the estate view, in Chinese, by name', {
    timeout: 120_000,
  }, async () => {
    const page = await manager()
    // Before the duty switches them: the story ends with building 1's lifts still in normal service.
    await playFireNight(async () => {
      const hints = page.locator('[data-test=fire-step][data-type="elevator.fire_in_service"]')
      await expect.poll(() => hints.count()).toBe(3)
      expect(await hints.allTextContents()).toEqual(
        B1_LIFTS.map(() => expect.stringContaining('火警时电梯仍在正常运行')),
      )
      expect((await hints.allTextContents()).join()).toContain('请切换到消防返回')
      await page.waitForFunction(() =>
        document.getAnimations().every((a) => !String((a as CSSAnimation).animationName).startsWith('flash')),
      )
      await shot(page, 'fire-night-console-hint')
    })
    // The console: one fire strip for 前新福苑 1号楼, its steps in the order they happened.
    const story = page.locator('[data-test=fire-story]')
    await expect.poll(() => story.count()).toBe(1)
    expect(await story.getAttribute('data-building')).toBe('qxfy_b1')
    expect(await story.locator('[data-test=fire-place]').textContent()).toBe('前新福苑 · 1号楼')
    const steps = story.locator('[data-test=fire-step]')
    const types = async () => await steps.evaluateAll((li) => li.map((l) => l.getAttribute('data-type')))
    await expect
      .poll(types)
      .toEqual([
        'gas_detector.gas_alarm',
        'smoke_detector.fire_alarm',
        'fire_passage.blocked_during_fire',
        'elevator.mode_change',
        'elevator.mode_change',
        'elevator.mode_change',
      ])
    const text = (await story.textContent())!
    for (const words of [
      '可燃气体报警',
      '烟感火警',
      '进入消防返回模式',
      '火警期间消防通道被占',
      '运行模式变更',
      '1号楼301厨房燃气探测器',
      '1号楼3层厨房走廊烟感',
      '消防通道2段',
      '1号楼1号电梯',
      '1号楼3号电梯',
    ])
      expect(text).toContain(words)
    // Names, never ids; Chinese, not English; building 2 is not part of it.
    expect(text).not.toMatch(/gas_b1|sd_b1|fp_2|elev_|qxfy|Fire|alarm/)
    expect(text).not.toContain('2号楼')
    // The console rows themselves: each alert by its device's name, the lifts in fire return.
    const rows = page.locator('tr.alert-row')
    for (const name of ['1号楼301厨房燃气探测器', '1号楼3层厨房走廊烟感', '消防通道2段', '1号楼2号电梯'])
      await expect.poll(() => rows.filter({ hasText: name }).count()).toBeGreaterThan(0)
    await expect.poll(() => rows.filter({ hasText: '进入消防返回模式' }).count()).toBe(3)
    expect(await page.locator('[data-test=alert-console]').textContent()).not.toMatch(
      /gas_b1|sd_b1|elev_b|fp_2/,
    )

    // The estate view: the same strip, the lifts in fire return, the detectors in alarm, the lane blocked.
    await page.goto(`${h.httpUrl}/#/estates/qianxin_fuyuan`)
    const estate = page.locator('.estate')
    await expect.poll(() => estate.locator('[data-test=fire-story]').count()).toBe(1)
    await expect.poll(() => estate.locator('[data-test=fire-step]').count()).toBe(6)
    for (const lift of B1_LIFTS)
      await expect.poll(() => page.locator(`[data-device=${lift}]`).textContent()).toContain('消防返回')
    for (const lift of B2_LIFTS)
      expect(await page.locator(`[data-device=${lift}]`).textContent()).not.toContain('消防返回')
    const smoke = page.locator('section[data-kind=smoke_detector]')
    await expect.poll(() => smoke.textContent()).toContain('1号楼3层厨房走廊烟感')
    const smokeRow = smoke.locator('tr', { hasText: '1号楼3层厨房走廊烟感' })
    await expect.poll(() => smokeRow.textContent()).toMatch(/报警|火警/)
    const gasRow = page.locator('section[data-kind=gas_detector] tr', { hasText: '1号楼301厨房燃气探测器' })
    await expect.poll(() => gasRow.textContent()).toContain('32')
    const lane = page.locator('[data-device=fp_2]')
    // A car on the fire lane during the fire blocks it at once (red 堵塞), not a mere 占用 for 10 minutes.
    await expect.poll(() => lane.locator('[data-test=passage-state]').textContent()).toContain('堵塞')

    // Screenshots of both views during the fire at a wall screen, a laptop and a phone.
    for (const size of SIZES) {
      const p = await manager(size)
      await p.locator('[data-test=fire-story]').waitFor()
      // The rows' arrival flash over: the screenshot shows the console as it stays.
      await p.waitForFunction(() =>
        document.getAnimations().every((a) => !String((a as CSSAnimation).animationName).startsWith('flash')),
      )
      await shot(p, `fire-night-console-${size.name}`)
      // Nothing runs off the side: the strip's long messages wrap (a phone included).
      const overflow = () => p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      expect(await overflow()).toBeLessThanOrEqual(0)
      await p.goto(`${h.httpUrl}/#/estates/qianxin_fuyuan`)
      await p.locator('.estate [data-test=fire-story]').waitFor()
      await p.locator('[data-device=elev_b1_1]').waitFor()
      const file = await shot(p, `fire-night-estate-${size.name}`)
      expect(await overflow()).toBeLessThanOrEqual(0)
      // Short words stay whole on every screen: 堵塞, 报警, 已切断 — never one character a line.
      const lines = (selector: string) =>
        p.locator(selector).evaluate((el) => {
          const range = document.createRange()
          range.selectNodeContents(el)
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size
        })
      expect(await lines('[data-device=fp_2] [data-test=passage-state]')).toBe(1)
      expect(await lines('section[data-kind=smoke_detector] tr[data-device=sd_b1_k03] td:nth-child(2)')).toBe(
        1,
      )
      expect(await lines('section[data-kind=gas_detector] tr[data-device=gas_b1_k03] td:nth-child(4)')).toBe(
        1,
      )
      await p.screenshot({ path: file.replace(/\.png$/, '-full.png'), fullPage: true })
      await p.context().close()
    }
  })

  it('an e-bike the car camera sees shows on that lift’s card with its snapshot; an SOS press is critical by the button’s name, reaches the duty guard and escalates to the manager', {
    timeout: 60_000,
  }, async () => {
    await publish('ai_camera', 'cam_elev_b1_1', 'event', {
      type: 'ebike_in_lift',
      data: { snapshot_url: SNAP },
    })
    await waitAlert(h, 'elevator.ebike_in_lift', (a) => a.device_id === 'elev_b1_1')
    const page = await manager()
    await page.goto(`${h.httpUrl}/#/estates/qianxin_fuyuan`)
    const card = page.locator('[data-device=elev_b1_1]')
    const ebike = card.locator('[data-test=lift-alert][data-type="elevator.ebike_in_lift"]')
    await expect.poll(() => ebike.textContent()).toContain('电动车进电梯')
    expect(await ebike.locator('[data-test=lift-snapshot]').getAttribute('href')).toBe(SNAP)
    expect(await page.locator('[data-device=elev_b1_2] [data-type="elevator.ebike_in_lift"]').count()).toBe(0)
    // A warning, not part of the fire's story above it.
    expect(await page.locator('[data-test=fire-step]').count()).toBe(6)
    await shot(page, 'fire-night-ebike-on-lift')

    // A resident living alone presses the one-key alarm by the bed.
    await publish('sos_button', 'sos_b1_301', 'event', { type: 'pressed', data: {} })
    const sos = await waitAlert(h, 'sos_button.sos')
    await page.goto(`${h.httpUrl}/#/`)
    const row = page.locator(`tr.alert-row[data-alert="${sos.id}"]`)
    await expect.poll(() => row.textContent()).toContain('一键报警求助')
    expect(await row.textContent()).toContain('1号楼301 独居老人一键报警')
    expect(await row.locator('.sev-cell').textContent()).toContain('紧急')
    // Routed to the estate's duty: the guard on duty first; unaccepted, the duty's lead (the manager).
    const wo = await (async () => {
      for (;;) {
        const found = h.hub.dispatch.store.openFor(sos.id)
        if (found) return found
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    expect(wo.team).toBe('qxfy_duty')
    expect(wo.assignee).toBe('qxfy_duty/zhou')
    await expect.poll(() => h.hub.dispatch.store.get(wo.id)!.escalation_level, { timeout: 15_000 }).toBe(1)
    await page.goto(`${h.httpUrl}/#/work-orders/${wo.id}`)
    const body = page.locator('main')
    await expect.poll(() => body.textContent()).toContain('孙经理')
    expect(await body.textContent()).toContain('值班员小周')
    expect(await body.textContent()).toContain('升级')
    await shot(page, 'fire-night-sos-escalated')

    // Today's report of 前新福苑 has the new kinds' alerts and the e-bike count on that lift, by name (its
    // tables also list each device's 编号, the asset number crews look up).
    await page.goto(`${h.httpUrl}/#/reports?scope=qianxin_fuyuan&period=today`)
    const frame = page.frameLocator('[data-test=report-frame]')
    await expect
      .poll(() => frame.locator('body').textContent(), { timeout: 15_000 })
      .toContain('可燃气体报警')
    const report = (await frame.locator('body').textContent())!
    for (const words of ['烟感火警', '一键报警求助', '电动车进电梯', '1号楼1号电梯', '火警期间消防通道被占'])
      expect(report).toContain(words)
    // The fire-passage table lists the segment that was in the way during the fire, at the top.
    const passages = frame.locator('section#fire_passages tbody tr')
    expect(await passages.first().textContent()).toContain('消防通道2段')
    const headers = await frame.locator('section#fire_passages thead th').allTextContents()
    const cells = await passages.first().locator('td').allTextContents()
    expect(cells[headers.indexOf('火警时占用')]).toBe('1')
    await shot(page, 'fire-night-report')
  })
})
