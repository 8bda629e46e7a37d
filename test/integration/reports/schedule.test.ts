import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../src/core/clock.ts'
import { localParts, resolvePeriod } from '../../../src/reports/period.ts'
import { ReportScheduler } from '../../../src/reports/schedule.ts'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from '../dispatch/receiver.ts'
import { alertsOf, LIFT_IDLE, login, reportJson, send } from './rig.ts'

/**
 * Scheduled delivery: the estate file's `reports:` schedule (weekly, Monday 08:00 Asia/Shanghai) on a
 * fake clock, through the hub's real dispatch outbox to a loopback receiver standing in for the
 * DingTalk robot of the duty team and the street office's webhook.
 */

const TZ = 'Asia/Shanghai'

interface Hook {
  event: string
  idempotency_key: string
  title: string
  text: string
  link: string
  report: { scope: string; period: { id: string }; summary: Record<string, number> }
}

describe('scheduled reports', () => {
  it('sends last week’s report at Monday 08:00 to every recipient through the outbox, once per period', {
    timeout: 60_000,
  }, async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: estateFor(rx, 'reports-estate.yaml') })
    // The hub armed the schedule from the estate file on its real clock: the next Monday 08:00 in Shanghai.
    const due = h.hub.reports.scheduler!.nextDue().e1_weekly!
    expect(localParts(due, TZ)).toMatchObject({ weekday: 0, hour: 8, minute: 0 })
    expect(due).toBeGreaterThan(Date.now())
    expect(due - Date.now()).toBeLessThanOrEqual(7 * 86_400_000)
    // Managers see the schedules of their scope (channel types only, never URLs or secrets).
    const listed = await (await (await login(h, 'mgr_e1'))('/api/reports/schedules')).json()
    expect(listed).toEqual([
      expect.objectContaining({
        id: 'e1_weekly',
        scope: 'e1',
        every: 'week',
        weekday: 'mon',
        at: '08:00',
        timezone: TZ,
        next_at: due,
        recipients: [
          { ref: 'property_duty/duty1', channels: ['dingtalk'] },
          { ref: expect.stringMatching(/^inline-[0-9a-f]{12}$/), channels: ['webhook'] },
        ],
      }),
    ])
    expect(JSON.stringify(listed)).not.toContain('127.0.0.1')
    expect(await (await (await login(h, 'mgr_e2'))('/api/reports/schedules')).json()).toEqual([])
    // Something to report: a trapped passenger in e1.
    const lift = await connectDevice(h.mqttUrl, 'lift1')
    await send(lift, 'zhian/elevator/lift1/state', { ...LIFT_IDLE, passenger: true })
    await alertsOf(h, 'elevator.trapped', 'lift1')

    // The same schedule on a fake clock one minute before that Monday 08:00.
    h.hub.reports.stop()
    const clock = new FakeClock(due - 60_000)
    const scheduler = (start: FakeClock) =>
      new ReportScheduler({
        // The fixture turns make-up sends off for the hubs of other tests; here they are on.
        config: { ...h.hub.reportsConfig!, catch_up: '24h' },
        tz: TZ,
        clock: start,
        reports: h.hub.reports,
        outbox: h.hub.dispatch.outbox,
        teams: () => h.hub.dispatchConfig.teams,
        linkBase: () => h.httpUrl,
        log: h.hub.log,
      })
    const s1 = scheduler(clock)
    s1.start()
    clock.advance(59_000)
    await s1.idle()
    await new Promise((r) => setTimeout(r, 300))
    // (the trap's work order went to the fitter's /wang; the report recipients have heard nothing yet)
    expect([...rx.to('/street-office'), ...rx.to('/duty-ding')]).toEqual([])
    clock.advance(1_000)
    await s1.idle()
    const [hook] = await until(
      () => (rx.to('/street-office').length ? rx.to('/street-office') : undefined),
      'street office webhook',
    )
    const [ding] = await until(
      () => (rx.to('/duty-ding').length ? rx.to('/duty-ding') : undefined),
      'duty DingTalk robot',
    )

    const period = resolvePeriod('week', due, TZ)
    const body = hook!.json as Hook
    expect(body.event).toBe('report.scheduled')
    expect(body.title).toContain(`一号小区周报(${period.label})`)
    expect(body.link).toBe(`${h.httpUrl}/#/reports?scope=e1&period=${period.id}&lang=zh`)
    expect(body.idempotency_key).toMatch(new RegExp(`^report:e1_weekly:${period.id}:inline-[0-9a-f]{12}$`))
    // The figures are the report's own for that week.
    const report = await reportJson(h, `scope=e1&period=${period.id}`)
    expect(body.report.period.id).toBe(period.id)
    expect(body.report.summary).toEqual(report.summary)
    expect(body.text).toContain(`告警 ${report.summary.alerts} 起`)
    // DingTalk markdown, signed (加签), with the link.
    expect(ding!.query.get('sign')).toBeTruthy()
    const md = (ding!.json as { msgtype: string; markdown: { title: string; text: string } }).markdown
    expect(md.title).toContain('一号小区周报')
    expect(md.text).toContain(`#/reports?scope=e1&period=${period.id}`)

    // A restart right after 08:00 makes up a missed send, but this one went out: nothing is sent twice.
    s1.stop()
    const later = new FakeClock(due + 30_000)
    const s2 = scheduler(later)
    s2.start()
    await s2.idle()
    expect(s2.sent.get('e1_weekly')).toBe(period.id) // made up and queued again…
    await new Promise((r) => setTimeout(r, 500))
    expect(rx.to('/street-office')).toHaveLength(1)
    expect(rx.to('/duty-ding')).toHaveLength(1) // …but the outbox already had those keys
    // A week on, the next week's report.
    later.advance(7 * 86_400_000)
    await s2.idle()
    const next = resolvePeriod('week', due + 7 * 86_400_000, TZ)
    await until(() => rx.to('/street-office').length === 2, 'the next weekly report')
    expect((rx.to('/street-office')[1]!.json as Hook).report.period.id).toBe(next.id)
    s2.stop()
  })
})
