import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { recordPast } from '../../../src/cli/demo-history.ts'
import type { Cockpit } from '../../../src/cockpit/cockpit.ts'
import { configFromEnv } from '../../../src/config/env.ts'
import type { Report } from '../../../src/reports/model.ts'
import { launch, logIn, session, shot } from '../../e2e/browser.ts'
import { buildHub, DEMO_ESTATE, type TestHub, tempDir } from '../../helpers/hub.ts'

/**
 * Issue 9's "Done when" on the demo itself: `npm run demo` starts from a recorded past (last week and
 * this week so far, made by the hub's own rules and dispatcher from simulated devices), so the property
 * manager `wuye` gets last week's report for 前新福苑 in one click, in Chinese, and its figures are
 * the alerts the dashboard lists for that week.
 */
describe('the demo estate’s last week', () => {
  let browser: Browser
  let h: TestHub
  let token: string

  beforeAll(async () => {
    const dataDir = tempDir('zhian-demo-past-')
    const config = configFromEnv({
      ZHIAN_DATA_DIR: dataDir,
      ZHIAN_CONFIG: DEMO_ESTATE,
      ZHIAN_LOG_LEVEL: 'silent',
    })
    await recordPast(config, { to: Date.now(), tz: 'Asia/Shanghai', adminPassword: 'zhian-demo' })
    h = await buildHub({ estateFile: DEMO_ESTATE, dataDir })
    browser = await launch()
    const res = await fetch(`${h.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'wuye', password: 'zhian-demo' }),
    })
    token = ((await res.json()) as { token: string }).token
  }, 300_000)
  afterAll(async () => {
    await browser?.close()
  })

  const get = async <T>(pathname: string): Promise<T> => {
    const res = await fetch(`${h.httpUrl}${pathname}`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    return (await res.json()) as T
  }

  it('has a report whose counts per alert type, lift ranking and passages equal the alerts of that week', async () => {
    const report = await get<Report>('/api/reports?scope=qianxin_fuyuan&period=week&format=json')
    const { items } = await get<{ items: Alert[] }>(
      `/api/alerts?from=${report.period.from}&to=${report.period.to}&limit=500`,
    )
    const inWeek = items.filter(
      (a) => a.first_at >= report.period.from && a.first_at < report.period.to && !a.suppressed,
    )
    const byType = new Map<string, number>()
    for (const a of inWeek) byType.set(a.type, (byType.get(a.type) ?? 0) + 1)
    expect(report.summary.alerts).toBe(inWeek.length)
    expect(
      Object.fromEntries(report.alerts.filter((r) => r.count > 0).map((r) => [r.type, r.count])),
    ).toEqual(Object.fromEntries(byType))
    // The script's week: 2号楼2号电梯 faults four times (black list), segment 3 blocked three times.
    const lift = report.lifts.rows.find((r) => r.device_id === 'elev_b2_2')
    const liftFaults = inWeek.filter(
      (a) =>
        a.device_id === 'elev_b2_2' &&
        a.type !== 'elevator.frequent_faults' &&
        a.type !== 'elevator.mode_change',
    )
    expect(lift?.faults).toBe(liftFaults.length)
    expect(lift?.faults).toBeGreaterThanOrEqual(3)
    expect(lift?.blacklisted).toBe(true)
    const fp3 = report.fire_passages.rows.find((r) => r.device_id === 'fp_3')
    expect(fp3?.blocked).toBe(
      inWeek.filter((a) => a.device_id === 'fp_3' && a.type === 'fire_passage.blocked').length,
    )
    expect(fp3?.repeat_offender).toBe(true)
    // Crews worked the orders: response times exist for the lift contractor.
    expect(report.summary.work_orders_opened).toBeGreaterThan(0)
    expect(report.response.some((r) => r.team === 'lift_yongan')).toBe(true)
  })

  it('compares this week with last week: each type’s previous count is last week’s, with the change', async () => {
    const last = await get<Report>('/api/reports?scope=qianxin_fuyuan&period=week&format=json')
    const now = await get<Report>('/api/reports?scope=qianxin_fuyuan&period=this-week&format=json')
    expect(now.period.prevFrom).toBe(last.period.from)
    expect(now.summary.alerts_prev).toBe(last.summary.alerts)
    const lastCount = new Map(last.alerts.map((r) => [r.type, r.count]))
    expect(now.alerts.some((r) => r.prev > 0)).toBe(true)
    for (const row of now.alerts) {
      expect(row.prev, row.type).toBe(lastCount.get(row.type) ?? 0)
      expect(row.change, row.type).toBe(row.count - row.prev)
      if (row.prev > 0)
        expect(row.change_pct, row.type).toBe(Math.round(((row.count - row.prev) / row.prev) * 1000) / 10)
      else expect(row.change_pct, row.type).toBeNull()
    }
  })

  it('one click on 报表 gives wuye last week’s report of 前新福苑 in Chinese, with the alert count of that week', {
    timeout: 60_000,
  }, async () => {
    const report = await get<Report>('/api/reports?scope=qianxin_fuyuan&period=week&format=json')
    const { page } = await session(browser)
    await logIn(page, h.httpUrl, 'wuye', 'zhian-demo')
    await page.click('[data-test=nav-reports]')
    const frame = page.frameLocator('[data-test=report-frame]')
    await expect.poll(() => frame.locator('h1').textContent(), { timeout: 15_000 }).toContain('前新福苑周报')
    await expect
      .poll(() => page.textContent('[data-test=report-summary]'))
      .toContain(`告警 ${report.summary.alerts} (`)
    await expect.poll(async () => (await frame.locator('body').textContent()) ?? '').toContain('2号楼2号电梯')
    await shot(page, 'report-demo-last-week')
  })

  it('gives the street officer a cockpit with a story: 红普新村’s lift on the black list, 天城家园’s garage exit a repeat offender, time limits per contractor', {
    timeout: 60_000,
  }, async () => {
    const login = await fetch(`${h.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'jiedao', password: 'zhian-demo' }),
    })
    const officer = ((await login.json()) as { token: string }).token
    const res = await fetch(`${h.httpUrl}/api/cockpit`, { headers: { authorization: `Bearer ${officer}` } })
    const cockpit = (await res.json()) as Cockpit
    expect(cockpit.lifts.map((l) => l.device_id)).toContain('hpxc_el_5_2')
    expect(cockpit.passages.map((p) => p.device_id)).toContain('tcjy_fp_2')
    expect(cockpit.contractors.map((c) => c.team)).toEqual(expect.arrayContaining(['lift_xizi']))
    // The old estate's office acknowledges slowest; every estate's week has alerts.
    expect(cockpit.by_response[0]).toBe('hongpu_xincun')
    for (const e of cockpit.estates) expect(e.alerts_week, e.name).toBeGreaterThan(0)
    const { page } = await session(browser)
    await logIn(page, h.httpUrl, 'jiedao', 'zhian-demo')
    await page.goto(`${h.httpUrl}/#/sites`)
    await page.locator('[data-lift=hpxc_el_5_2]').waitFor()
    await shot(page, 'cockpit-demo-week-1920x1080')
  })
})
