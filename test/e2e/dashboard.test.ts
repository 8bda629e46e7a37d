import fs from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KINDS } from '../../devices/index.ts'
import type { KindDefinition } from '../../devices/types.ts'
import { buildHub, connectDevice, DEMO_ESTATE, type TestHub } from '../helpers/hub.ts'
import { DASHBOARD_ESTATE, USERS } from '../helpers/session.ts'
import { launch, logIn, session, shot } from './browser.ts'

/**
 * The dashboard as a property manager uses it, in a real browser against a real hub: log in, watch an
 * alert raised over MQTT arrive, acknowledge it, see a second session follow, switch language, export.
 */
describe('dashboard in a real browser', () => {
  let browser: Browser
  let hub: TestHub

  beforeAll(async () => {
    browser = await launch()
    hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('shows an MQTT-raised alert within 2 s, acks it, a second session follows, English, CSV export', async () => {
    const manager = await session(browser)
    await manager.page.goto(hub.httpUrl)
    await manager.page.waitForSelector('input[name=username]')
    await shot(manager.page, '0-login')
    // A wrong password is refused on the form, in Chinese.
    await manager.page.fill('input[name=username]', 'mgr_e1')
    await manager.page.fill('input[name=password]', 'not-the-password')
    await manager.page.click('[data-test=login]')
    await expect.poll(() => manager.page.textContent('[data-test=login-error]')).toBe('用户名或密码错误')
    await logIn(manager.page, hub.httpUrl, 'mgr_e1', USERS.mgr_e1)
    await expect.poll(() => manager.page.textContent('[data-test=who]')).toContain('物业经理')
    // A laptop on the community officer's desk: read-only, whole community.
    const officer = await session(browser, { width: 1366, height: 768 })
    await logIn(officer.page, hub.httpUrl, 'officer_c1', USERS.officer_c1)

    // The estate comes alive: lifts move, bays fill, a passage is occupied.
    const lift = await connectDevice(hub.mqttUrl, 'lift1')
    await lift.publishAsync(
      'zhian/elevator/lift1/state',
      JSON.stringify({
        floor: 7,
        direction: 'up',
        door: 'closed',
        moving: true,
        service_mode: 'normal',
        fault_code: 0,
      }),
      { qos: 1 },
    )
    const lift2 = await connectDevice(hub.mqttUrl, 'lift2')
    await lift2.publishAsync(
      'zhian/elevator/lift2/state',
      JSON.stringify({
        floor: 1,
        direction: 'none',
        door: 'open',
        moving: false,
        service_mode: 'normal',
        fault_code: 0,
      }),
      { qos: 1 },
    )
    const bay = await connectDevice(hub.mqttUrl, 'pb1')
    await bay.publishAsync('zhian/parking_bay/pb1/state', JSON.stringify({ occupied: true }), { qos: 1 })
    const bay2 = await connectDevice(hub.mqttUrl, 'pb2')
    await bay2.publishAsync('zhian/parking_bay/pb2/state', JSON.stringify({ occupied: false }), { qos: 1 })
    const passage = await connectDevice(hub.mqttUrl, 'fp1')
    await passage.publishAsync(
      'zhian/fire_passage/fp1/state',
      JSON.stringify({ occupied: true, object_class: 'car' }),
      { qos: 1 },
    )

    // A manhole cover opens: critical, raised by the rule engine without delay.
    const manhole = await connectDevice(hub.mqttUrl, 'mh1')
    const sent = Date.now()
    await manhole.publishAsync(
      'zhian/manhole/mh1/state',
      JSON.stringify({ cover_open: true, tilt_deg: 35, water_level_cm: 20, battery_pct: 87 }),
      { qos: 1 },
    )
    const row = manager.page.locator('tr.alert-row', { hasText: '井盖开启' })
    await row.waitFor({ timeout: 2000 })
    const seenAfter = Date.now() - sent
    expect(seenAfter).toBeLessThan(2000)
    await expect.poll(() => manager.page.title()).toMatch(/^\(1\) /)
    const officerRow = officer.page.locator('tr.alert-row', { hasText: '井盖开启' })
    await officerRow.waitFor({ timeout: 2000 })
    expect(await officerRow.getAttribute('data-status')).toBe('active')
    // The officer is a viewer: no buttons to act with.
    expect(await officerRow.locator('[data-test=ack]').count()).toBe(0)
    await shot(manager.page, '1-console-zh')

    // Acknowledge in the manager's session; the officer's screen follows within 2 s.
    await row.locator('[data-test=ack]').click()
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 2000 }).toBe('acknowledged')
    await expect.poll(() => officerRow.getAttribute('data-status'), { timeout: 2000 }).toBe('acknowledged')
    await shot(officer.page, '2-console-laptop-officer')

    // The rules sent the critical cover a work order: the row links it instead of offering another (or
    // a change of team). Silence repeats for 2 h, inline.
    await expect
      .poll(() => row.locator('[data-test=work-order-link]').textContent())
      .toContain('工单 · 待接单')
    expect(await row.locator('[data-test=open-work-order], [data-test=assign]').count()).toBe(0)
    await row.locator('[data-test=silence]').click()
    await expect
      .poll(async () => {
        const list = (await (await hub.api('/api/silences')).json()) as {
          device?: string
          device_id?: string
        }[]
        return list.some((x) => (x.device ?? x.device_id) === 'mh1')
      })
      .toBe(true)

    // Comment inline, then read the audit log in the detail view.
    await row.locator('[data-test=comment]').click()
    await row.locator('[data-test=comment-input]').fill('已设置围挡,等待维修')
    await row.locator('[data-test=send]').click()
    await row.locator('a.title').click()
    const audit = manager.page.locator('[data-test=audit-log]')
    await expect.poll(() => audit.textContent()).toContain('已设置围挡,等待维修')
    expect(await audit.textContent()).toContain('mgr_e1')
    // Where each step came from, in Chinese: the rule engine raised it, the manager acted on the web.
    expect(await audit.locator('tr[data-action=raised]').textContent()).toContain('规则引擎')
    expect(await audit.locator('tr[data-action=acknowledged]').textContent()).toContain('网页/接口')

    // A critical alert got its work order from the rules: the detail links to it, with its state
    // and team in Chinese, and offers no second one.
    const works = manager.page.locator('[data-test=detail-work-orders]')
    const alertId = (await manager.page.locator('.detail').getAttribute('data-alert'))!
    const wo = hub.hub.dispatch.store.openFor(alertId)!
    expect(wo).toMatchObject({ alert_id: alertId, status: 'dispatched' })
    await expect.poll(() => works.locator(`a[data-work-order="${wo.id}"]`).count()).toBe(1)
    expect(await works.textContent()).toContain('待接单')
    expect(await works.textContent()).not.toContain(wo.team)
    const detail = manager.page.locator('.detail')
    expect(await detail.locator('[data-test=open-work-order]').count()).toBe(0)
    expect(await detail.locator('[data-test=work-order-link]').textContent()).toContain('待接单')
    expect(hub.hub.dispatch.store.query({ alert: alertId })).toHaveLength(1)
    await shot(manager.page, '3-alert-detail')
    await works.locator(`a[data-work-order="${wo.id}"]`).click()
    await expect.poll(() => manager.page.url()).toContain(`#/work-orders/${wo.id}`)

    // Cockpit, estate view and device list.
    await manager.page.click('[data-test=nav-sites]')
    await manager.page.waitForSelector('[data-site-card=e1]')
    await expect.poll(() => manager.page.textContent('[data-site-card=e1] [data-test=open-count]')).toBe('1')
    await shot(manager.page, '4-site-cockpit')
    await manager.page.click('[data-site-card=e1] a.name')
    await manager.page.waitForSelector('[data-device=lift1]')
    await expect.poll(() => manager.page.textContent('[data-device=lift1] [data-test=floor]')).toBe('7')
    await expect.poll(() => manager.page.textContent('[data-zone=ground] [data-test=parking-free]')).toBe('1')
    const estate = manager.page
    const fp1 = estate.locator('[data-device=fp1]')
    expect(await fp1.locator('[data-test=passage-state]').textContent()).toContain('占用')
    // The manhole's values as it reported them, with units.
    const mh1 = estate.locator('[data-device=mh1]')
    // The degree sign sits on the number (devices/manhole.ts: tilt to the degree).
    expect(await mh1.textContent()).toContain('35°')
    expect(await mh1.textContent()).toContain('20 cm')
    expect(await mh1.textContent()).toContain('87%')
    // Live: the lift moves on and the screen follows within a second.
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 9 }), { qos: 1 })
    await expect
      .poll(() => manager.page.textContent('[data-device=lift1] [data-test=floor]'), { timeout: 1000 })
      .toBe('9')
    // Live: the passage clears, then is occupied again: state and time follow within a second.
    await passage.publishAsync('zhian/fire_passage/fp1/state', JSON.stringify({ occupied: false }), {
      qos: 1,
    })
    await expect
      .poll(() => fp1.locator('[data-test=passage-state]').textContent(), { timeout: 1000 })
      .toContain('畅通')
    expect(await fp1.locator('[data-test=passage-since]').textContent()).toBe('')
    await passage.publishAsync('zhian/fire_passage/fp1/state', JSON.stringify({ occupied: true }), { qos: 1 })
    await expect
      .poll(() => fp1.locator('[data-test=passage-state]').textContent(), { timeout: 1000 })
      .toContain('占用')
    await expect.poll(() => fp1.locator('[data-test=passage-since]').textContent()).toMatch(/^持续 \d+ 秒$/)
    // Live: the last free bay of the zone fills; the free count and the bar follow within a second.
    await bay2.publishAsync('zhian/parking_bay/pb2/state', JSON.stringify({ occupied: true }), { qos: 1 })
    await expect
      .poll(() => estate.textContent('[data-zone=ground] [data-test=parking-free]'), { timeout: 1000 })
      .toBe('0')
    expect(await estate.getAttribute('[data-zone=ground] .occ', 'style')).toContain('width: 100%')
    // Live: water rises in the manhole.
    await manhole.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ water_level_cm: 42 }), { qos: 1 })
    await expect.poll(() => mh1.textContent(), { timeout: 1000 }).toContain('42 cm')
    await shot(manager.page, '5-estate-view')
    // The estate view in English.
    await manager.page.click('[data-test=lang]')
    await expect.poll(() => estate.textContent('.estate')).toContain('Fire passages')
    expect(await fp1.locator('[data-test=passage-state]').textContent()).toContain('occupied')
    expect(await fp1.locator('[data-test=passage-since]').textContent()).toMatch(/^for \d+ s$/)
    expect(await estate.textContent('[data-zone=ground]')).toContain('free')
    expect(await estate.textContent('.estate')).toContain('Elevators')
    for (const label of [
      'Parking',
      'Door',
      'Mode',
      'Fault',
      'Manholes',
      'Tilt',
      'Water',
      'Battery',
      'Online',
    ])
      expect(await estate.textContent('.estate')).toContain(label)
    await shot(manager.page, '5-estate-view-en')
    await manager.page.click('[data-test=lang]')
    await expect.poll(() => estate.textContent('.estate')).toContain('消防通道')
    await manager.page.click('[data-test=nav-devices]')
    await manager.page.waitForSelector('[data-device=mh1]')
    await manager.page.fill('[data-test=device-search]', '井盖')
    await expect.poll(() => manager.page.locator('[data-test=device-table] tbody tr').count()).toBe(1)
    await manager.page.fill('[data-test=device-search]', '')
    await shot(manager.page, '6-devices')

    // English.
    await manager.page.click('[data-test=lang]')
    await expect.poll(() => manager.page.textContent('[data-test=nav-console]')).toContain('Live alerts')
    expect(await manager.page.getAttribute('html', 'lang')).toBe('en')
    await manager.page.click('[data-test=nav-console]')
    await manager.page.locator('tr.alert-row', { hasText: 'Manhole cover open' }).waitFor()
    await shot(manager.page, '7-console-en')

    // History and CSV export.
    await manager.page.click('[data-test=nav-history]')
    await manager.page.waitForSelector('[data-test=history-table] tbody tr')
    await shot(manager.page, '8-history')
    const [download] = await Promise.all([
      manager.page.waitForEvent('download'),
      manager.page.click('[data-test=export-csv]'),
    ])
    const bytes = fs.readFileSync((await download.path())!)
    // A UTF-8 BOM first, so Excel opens the Chinese titles right.
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const lines = bytes.subarray(3).toString('utf8').trim().split('\r\n')
    expect(lines[0]).toMatch(/^id,type,severity,status/)
    // One row per alert of e1: the cover, and the zone filling up on the estate view.
    expect(lines).toHaveLength(1 + hub.hub.alerts.openAlerts().filter((a) => a.estate === 'e1').length)
    const cover = lines.filter((l) => l.includes('manhole.cover_open'))
    expect(cover).toHaveLength(1)
    expect(cover[0]).toContain('井盖开启')
    expect(cover[0]).toContain('acknowledged')

    // Resolve it from the console: that alert leaves both screens within 2 s. (The cover is still
    // open, so the rule engine raises a fresh one straight away: a resolve does not hide a hazard.)
    await manager.page.click('[data-test=nav-console]')
    const enRow = manager.page.locator('tr.alert-row', { hasText: 'Manhole cover open' })
    const id = await enRow.getAttribute('data-alert')
    await enRow.locator('[data-test=resolve]').click()
    await enRow.locator('[data-test=resolve-note]').fill('cover replaced')
    await enRow.locator('[data-test=send]').click()
    await manager.page.locator(`tr[data-alert="${id}"]`).waitFor({ state: 'detached', timeout: 2000 })
    await officer.page.locator(`tr[data-alert="${id}"]`).waitFor({ state: 'detached', timeout: 2000 })
    const resolved = (await (await hub.api(`/api/alerts/${id}`)).json()) as { status: string }
    expect(resolved.status).toBe('resolved')

    await manager.context.close()
    await officer.context.close()
  })

  it('opens a work order by hand for an alert no rule dispatched, and links the detail to it', async () => {
    const { page, context } = await session(browser)
    await logIn(page, hub.httpUrl, 'mgr_e1', USERS.mgr_e1)
    // A bay's battery runs low: a warning, which no rule dispatches by itself.
    const bay = await connectDevice(hub.mqttUrl, 'pb1')
    await bay.publishAsync('zhian/parking_bay/pb1/state', JSON.stringify({ battery_pct: 5 }), { qos: 1 })
    const row = page.locator('tr.alert-row', { hasText: '电池电量低' })
    await row.waitFor({ timeout: 2000 })
    const alertId = (await row.getAttribute('data-alert'))!
    expect(hub.hub.dispatch.store.openFor(alertId)).toBeUndefined()
    await row.locator('a.title').click()
    const detail = page.locator('.detail')
    const works = detail.locator('[data-test=detail-work-orders]')
    await expect.poll(() => works.textContent()).toContain('无工单')
    // Set the responsible team (no work order, no one notified) from the list of teams, no free text to
    // mistype: the catalogue's crews here (the fixture names no teams), by name, the alert's own preselected.
    await detail.locator('[data-test=assign]').click()
    const crews = detail.locator('[data-test=assign-team] option')
    expect(await crews.allTextContents()).toEqual(expect.arrayContaining(['物业工程部', '管线权属单位']))
    expect(await detail.locator('[data-test=assign-team]').inputValue()).toBe(
      hub.hub.alerts.get(alertId)!.crew,
    )
    await detail.locator('[data-test=assign-team]').selectOption('utility_owner')
    await detail.locator('[data-test=send]').click()
    await expect.poll(() => detail.locator('[data-test=detail-team]').textContent()).toContain('管线权属单位')
    expect(hub.hub.alerts.get(alertId)?.assigned_team).toBe('utility_owner')
    // The team list for a work order: routing's choice, then the estate file's teams the manager can see.
    const configured = (await page.evaluate(() => fetch('/api/teams').then((r) => r.json()))) as {
      id: string
      name: string
    }[]
    await detail.locator('[data-test=open-work-order]').click()
    expect(await detail.locator('[data-test=work_order-team] option').allTextContents()).toEqual([
      '班组: 按路由规则',
      ...configured.map((x) => x.name),
    ])
    await detail.locator('[data-test=send]').click()
    const link = detail.locator('[data-test=work-order-link]')
    await link.waitFor({ timeout: 2000 })
    const wo = hub.hub.dispatch.store.openFor(alertId)!
    const routed = hub.hub.dispatch.router.route(hub.hub.alerts.get(alertId)!).teamId
    expect(wo).toMatchObject({ team: routed, status: 'dispatched', created_by: 'mgr_e1' })
    expect(await link.getAttribute('data-work-order')).toBe(wo.id)
    expect(await link.textContent()).toContain('工单 · 待接单')
    await expect.poll(() => works.locator(`a[data-work-order="${wo.id}"]`).count()).toBe(1)
    // The team by name: the estate file's, or the catalogue crew's (a low battery goes to engineering).
    expect(await works.textContent()).toContain(configured.find((x) => x.id === routed)?.name ?? '物业工程部')
    // The crew accepts it elsewhere: the detail follows live.
    expect((await hub.api(`/api/work-orders/${wo.id}/accept`, { method: 'POST' })).status).toBe(200)
    await expect.poll(() => works.textContent(), { timeout: 2000 }).toContain('已接单')
    // While it is open, no second one is offered; the link follows its state.
    expect(await detail.locator('[data-test=open-work-order]').count()).toBe(0)
    await expect.poll(() => link.textContent()).toContain('工单 · 已接单')
    await shot(page, '9-work-order-by-hand')
    await context.close()
  })

  it('goes back to the login form with the hub’s reason when a reconnect is refused', async () => {
    const { page, context } = await session(browser, { width: 1366, height: 768 })
    await logIn(page, hub.httpUrl, 'officer_c1', USERS.officer_c1)
    const io = hub.hub.realtime.io!
    const officers = () =>
      [...io.of('/').sockets.values()].filter((s) => s.data.principal.username === 'officer_c1')
    // The first test's officer session is closed; its socket may take a moment to go.
    await expect.poll(() => officers().length).toBe(1)
    const mine = officers()
    // The session ends without a logout telling the socket (it expired, say), then the network blips:
    // socket.io reconnects, the hub's middleware refuses, and socket.io-client would not try again.
    hub.hub.auth.sessions.revoke(mine[0]!.data.token)
    mine[0]!.conn.close()
    await page.waitForSelector('[data-test=signed-out]', { timeout: 5000 })
    expect(await page.textContent('[data-test=signed-out]')).toContain('登录已失效')
    expect(await page.textContent('[data-test=signed-out]')).toContain('未登录或令牌无效')
    expect(await page.locator('[data-test=connection]').count()).toBe(0)
    await shot(page, '10-signed-out')
    // Logging in again clears the reason and goes live.
    await page.fill('input[name=username]', 'officer_c1')
    await page.fill('input[name=password]', USERS.officer_c1)
    await page.click('[data-test=login]')
    await page.waitForSelector('[data-test=connection].up')
    await context.close()
  })

  it('a wall screen over the whole demo estate: every device live, three alerts, parking per zone', async () => {
    // The README's screenshot (docs/dashboard.png is copied from test-artifacts/wall-screen-demo.png).
    const demo = await buildHub({ estateFile: DEMO_ESTATE })
    const { page, context } = await session(browser)
    await logIn(page, demo.httpUrl, 'admin', demo.hub.generatedAdminPassword!)
    // 前新福苑's devices (the demo street's other estates stay dark here; the cockpit test lights them).
    const devices = demo.hub.registry.list().filter((d) => d.estate === 'qianxin_fuyuan')
    expect(devices).toHaveLength(117)
    const free = new Map<string, number>()
    await Promise.all(
      devices.map(async (d, i) => {
        const client = await connectDevice(demo.mqttUrl, d.id)
        const state: Record<string, unknown> =
          d.kind === 'elevator'
            ? {
                floor: 1 + i,
                direction: 'none',
                door: 'closed',
                moving: false,
                service_mode: 'normal',
                fault_code: 0,
              }
            : d.kind === 'fire_passage'
              ? d.id === 'fp_2'
                ? { occupied: true, object_class: 'car' }
                : { occupied: false }
              : d.kind === 'manhole'
                ? { cover_open: false, tilt_deg: 1, water_level_cm: 10 + i, battery_pct: 80 }
                : d.kind === 'parking_bay'
                  ? { occupied: i % 3 !== 0 }
                  : // The fire-safety and help devices: their kind's healthy reading.
                    (KINDS as Record<string, KindDefinition>)[d.kind]!.simulator!.healthy(i)
        // The incidents: a lift moving with its doors open (GB/T 24476 fault 5), a cover lifted, a flat battery.
        if (d.id === 'elev_b2_1') state.fault_code = 5
        if (d.id === 'mh_07') Object.assign(state, { cover_open: true, tilt_deg: 95 })
        if (d.id === 'mh_03') state.battery_pct = 7
        if (d.kind === 'parking_bay' && state.occupied === false) {
          const zone = String(d.params.zone)
          free.set(zone, (free.get(zone) ?? 0) + 1)
        }
        await client.publishAsync(`zhian/${d.kind}/${d.id}/state`, JSON.stringify(state), { qos: 1 })
      }),
    )
    const rows = page.locator('tr.alert-row')
    for (const title of ['井盖开启', '电池电量低'])
      await rows.filter({ hasText: title }).waitFor({ timeout: 2000 })
    await rows.filter({ hasText: '2号楼1号电梯' }).waitFor({ timeout: 2000 })
    const card = page.locator('[data-site-card=qianxin_fuyuan]')
    await expect.poll(() => card.locator('[data-test=offline-count]').textContent()).toBe('0')
    const totalFree = [...free.values()].reduce((a, b) => a + b, 0)
    await expect.poll(() => card.textContent()).toContain(`${totalFree}/60`)
    expect(await card.textContent()).toContain('设备 117')
    expect(await page.title()).toMatch(/^\(2\) /) // two unacknowledged critical alerts
    await shot(page, 'wall-screen-demo')
    await context.close()
  })

  it('re-syncs open alerts over HTTP after a reconnect socket.io could not recover', async () => {
    const { page, context } = await session(browser, { width: 1366, height: 768 })
    await logIn(page, hub.httpUrl, 'street_admin', USERS.street_admin)
    const conn = page.locator('[data-test=connection]')
    await expect.poll(() => conn.getAttribute('data-resyncs')).toBe('1')
    const io = hub.hub.realtime.io!
    // The network goes away for longer than the recovery window: refuse new transports, drop the
    // connection and forget its session, as 2 minutes of outage would.
    const allow = io.engine.opts.allowRequest
    io.engine.opts.allowRequest = (_req, callback) => callback('outage', false)
    for (const s of io.of('/').sockets.values()) s.conn.close()
    await page.waitForSelector('[data-test=connection].down')
    ;(io.of('/').adapter as unknown as { sessions: Map<string, unknown> }).sessions.clear()

    // Meanwhile a lift in e2 moves unintendedly: an alert no socket session is left to replay.
    const lift = await connectDevice(hub.mqttUrl, 'e2_lift1')
    await lift.publishAsync('zhian/elevator/e2_lift1/state', JSON.stringify({ fault_code: 5 }), { qos: 1 })
    await expect.poll(() => hub.hub.alerts.openAlerts().some((a) => a.device_id === 'e2_lift1')).toBe(true)
    expect(await page.locator('tr.alert-row[data-alert]').count()).toBe(
      hub.hub.alerts.openAlerts().filter((a) => a.device_id !== 'e2_lift1').length,
    )

    io.engine.opts.allowRequest = allow
    await page.waitForSelector('[data-test=connection].up', { timeout: 15_000 })
    await expect.poll(() => conn.getAttribute('data-resyncs')).toBe('2')
    const id = hub.hub.alerts.openAlerts().find((a) => a.device_id === 'e2_lift1')!.id
    await page.locator(`tr.alert-row[data-alert="${id}"]`).waitFor({ timeout: 2000 })
    await context.close()
  })
})
