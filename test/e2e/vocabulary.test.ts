import mqtt from 'mqtt'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../src/alerts/types.ts'
import { buildHub, connectDevice, type TestHub, until } from '../helpers/hub.ts'
import { estateFor, Receiver } from '../integration/dispatch/receiver.ts'
import { alertsOf, LIFT_IDLE, login, PASSWORDS, send } from '../integration/reports/rig.ts'
import { launch, logIn, session, shot } from './browser.ts'

/**
 * One vocabulary: the same alert carries the same severity word on the console (in a real browser),
 * in the report's printable page and its CSV, in the work-order notification and in the MQTT alert
 * text — a warning (low battery) and an info (a lift's mode change).
 */

let browser: Browser
let h: TestHub
let rx: Receiver

beforeAll(async () => {
  rx = await new Receiver().start()
  h = await buildHub({ estateFile: estateFor(rx, 'reports-estate.yaml') })
  browser = await launch()
})
afterAll(async () => {
  await browser?.close()
  await rx?.stop()
})

/** The cell under `header` of the row naming `title`, in the printable page's section `id`. */
function htmlCell(html: string, id: string, title: string, header: string): string {
  const section = html.match(new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`))?.[1] ?? ''
  const text = (s: string) => s.replace(/<[^>]+>/g, '').trim()
  const headers = [...section.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => text(m[1]!))
  const row = [...section.matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
    .map((m) => [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => text(c[1]!)))
    .find((cells) => cells.includes(title))
  return row?.[headers.indexOf(header)] ?? `(no row ${title} in ${id})`
}

/** The same from the CSV: the block after `# <block title>`. */
function csvCell(csv: string, block: string, title: string, header: string): string {
  const lines = csv.replace(/^\uFEFF/, '').split('\r\n')
  const start = lines.findIndex((l) => l === `# ${block}` || l === `"# ${block}"`)
  const cells = (l: string) => l.split(',').map((c) => c.replace(/^"|"$/g, ''))
  const headers = cells(lines[start + 1] ?? '')
  const rows = []
  for (let i = start + 2; i < lines.length && lines[i] !== ''; i++) rows.push(cells(lines[i]!))
  return rows.find((r) => r.includes(title))?.[headers.indexOf(header)] ?? `(no row ${title} in ${block})`
}

describe('severity words', () => {
  it('are the same on the console, in the report page and CSV, in the notification and in the MQTT alert', async () => {
    const sub = await mqtt.connectAsync(h.mqttUrl, {
      username: 'user:mgr_e1',
      password: PASSWORDS.mgr_e1,
      protocolVersion: 4,
      reconnectPeriod: 0,
    })
    const published: Record<string, unknown>[] = []
    sub.on('message', (_t, payload) =>
      published.push(JSON.parse(payload.toString()) as Record<string, unknown>),
    )
    await sub.subscribeAsync('zhian/hub/alert', { qos: 1 })

    const fp2 = await connectDevice(h.mqttUrl, 'fp2')
    await send(fp2, 'zhian/fire_passage/fp2/state', { occupied: false, battery_pct: 12 })
    const lift2 = await connectDevice(h.mqttUrl, 'lift2')
    await send(lift2, 'zhian/elevator/lift2/state', { ...LIFT_IDLE, service_mode: 'inspection' })
    const [battery] = await alertsOf(h, 'fire_passage.low_battery', 'fp2')
    const [mode] = await alertsOf(h, 'elevator.mode_change', 'lift2')
    expect(battery!.severity).toBe('warning')
    expect(mode!.severity).toBe('info')

    // The manager opens a work order on the battery alert: the duty member is notified (DingTalk).
    const mgr = await login(h, 'mgr_e1')
    expect((await mgr('/api/work-orders', { alert_id: battery!.id, team: 'property_duty' })).status).toBe(201)
    const notice = await until(
      () => rx.requests.find((r) => r.path === '/duty-ding' && r.body.includes(battery!.title.zh))?.body,
      'the dispatch notification',
    )

    const { page } = await session(browser)
    await logIn(page, h.httpUrl, 'mgr_e1', PASSWORDS.mgr_e1!)
    const badge = (a: Alert) => page.locator(`[data-alert="${a.id}"] [data-severity]`)
    await badge(battery!).waitFor()
    await badge(mode!).waitFor()
    for (const size of [
      { width: 1920, height: 1080 },
      { width: 1366, height: 768 },
      { width: 390, height: 844 },
    ]) {
      await page.setViewportSize(size)
      await shot(page, `vocabulary-console-${size.width}x${size.height}`)
    }

    const exported = (await (await mgr('/api/alerts/export.csv')).text()).replace(/^\uFEFF/, '').split('\r\n')
    const exportHeader = exported[0]!.split(',')
    const exportedWord = (a: Alert) =>
      exported.find((l) => l.startsWith(`${a.id},`))?.split(',')[exportHeader.indexOf('severity_zh')]
    const html = await (await mgr('/api/reports?scope=e1&period=today&format=html&lang=zh')).text()
    const csv = await (await mgr('/api/reports?scope=e1&period=today&format=csv&lang=zh')).text()

    for (const [alert, word] of [
      [battery!, '警告'],
      [mode!, '提示'],
    ] as const) {
      const title = alert.title.zh
      const mqttWord = await until(
        () => (published.find((p) => p.id === alert.id)?.severity_name as { zh: string } | undefined)?.zh,
        `the MQTT alert ${alert.type}`,
      )
      expect({
        console: (await badge(alert).textContent())?.trim(),
        report_html: htmlCell(html, 'open_alerts', title, '级别'),
        report_csv: csvCell(csv, '期末未处理告警', title, '级别'),
        alerts_csv: exportedWord(alert),
        mqtt: mqttWord,
      }).toEqual({ console: word, report_html: word, report_csv: word, alerts_csv: word, mqtt: word })
    }
    expect(notice).toContain('级别:警告')
    // …and says where by name: the estate and the device, not their ids.
    expect(notice).toContain('位置:一号小区 / 消防通道2段')
    expect(notice).not.toMatch(/\be1\b|fp2/)
    await sub.endAsync()
  })
})
