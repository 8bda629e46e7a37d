import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ALERT_MIGRATIONS } from '../../../src/alerts/store.ts'
import { ApiToken } from '../../../src/auth/api-token.ts'
import { Auth } from '../../../src/auth/auth.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
import { Bus } from '../../../src/core/bus.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import { Outbox } from '../../../src/dispatch/outbox.ts'
import { Registry } from '../../../src/registry/registry.ts'
import type { ReportsConfig } from '../../../src/reports/config.ts'
import { ReportService } from '../../../src/reports/service.ts'
import { type Db, migrate, openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { FIXTURES, tempDir } from '../../helpers/hub.ts'

/**
 * The report schedule on a fake clock, over a real store (registry, alert tables, the dispatch
 * outbox) without a hub: which report is queued when, for whom, and never twice.
 */

const ESTATE = loadEstateFile(path.join(FIXTURES, 'reports-estate.yaml'))
const SH = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min) - 8 * 3_600_000
const open: Db[] = []
afterEach(() => {
  for (const db of open.splice(0)) db.close()
})

async function rig(start: number, dataDir = tempDir()) {
  const db = openDb(dataDir)
  open.push(db)
  const registry = new Registry(db, new Bus())
  registry.open()
  new Auth(db, new ApiToken(db)).open() // applyEstate writes the estate's users
  await registry.applyEstate(ESTATE)
  migrate(db, 'alerts', ALERT_MIGRATIONS)
  const clock = new FakeClock(start)
  const log = createLogger('silent')
  // Not started: the rows stay queued where the test can read them.
  const outbox = new Outbox({ db, clock, log })
  outbox.open()
  const reports = new ReportService({
    db,
    registry,
    overrides: () => ESTATE.overrides,
    history: undefined,
    log,
    outbox,
    teams: () => ESTATE.teams,
    linkBase: () => 'http://hub.example:8080',
    clock,
  })
  const queued = () =>
    (
      db.prepare('SELECT key, member, message FROM outbox ORDER BY key').all() as {
        key: string
        member: string
        message: string
      }[]
    ).map((r) => ({
      key: r.key,
      member: r.member,
      title: (JSON.parse(r.message) as { title: string }).title,
    }))
  return { reports, clock, queued, dataDir }
}

const schedule = (over: Partial<ReportsConfig['schedules'][number]>): ReportsConfig => ({
  catch_up: '24h',
  schedules: [
    {
      id: 'sched',
      scope: 'e1',
      every: 'week',
      at: '08:00',
      weekday: 'mon',
      day: 1,
      lang: 'zh',
      recipients: [{ team: 'property_duty' }, { team: 'lift_a', member: 'wang' }],
      ...over,
    },
  ],
})

describe('report schedule', () => {
  it('monthly on the 1st at 08:00 Shanghai: last month’s report, one message per recipient', async () => {
    const { reports, clock, queued } = await rig(SH(2026, 11, 30, 12))
    reports.start(schedule({ every: 'month', day: 1 }))
    expect(reports.scheduler!.nextDue()).toEqual({ sched: SH(2026, 12, 1, 8) })
    clock.advance(SH(2026, 12, 1, 8) - clock.now() - 1)
    await reports.scheduler!.idle()
    expect(queued()).toEqual([])
    clock.advance(1)
    await reports.scheduler!.idle()
    expect(queued()).toEqual([
      {
        key: 'report:sched:2026-11:lift_a/wang',
        member: 'lift_a/wang',
        title: '一号小区月报(2026-11) / Monthly report: 一号小区 (2026-11)',
      },
      {
        key: 'report:sched:2026-11:property_duty/duty1',
        member: 'property_duty/duty1',
        title: expect.stringContaining('2026-11'),
      },
    ])
    expect(reports.scheduler!.nextDue()).toEqual({ sched: SH(2027, 1, 1, 8) })
    reports.stop()
  })

  it('daily at 07:30 sends yesterday; weekly on Friday sends the last complete Monday–Sunday week', async () => {
    const daily = await rig(SH(2026, 11, 22, 7, 0))
    daily.reports.start(schedule({ every: 'day', at: '07:30' }))
    daily.clock.advance(30 * 60_000)
    await daily.reports.scheduler!.idle()
    expect(daily.queued().map((q) => q.key)).toContain('report:sched:2026-11-21:lift_a/wang')
    daily.reports.stop()
    const weekly = await rig(SH(2026, 11, 19, 9))
    weekly.reports.start(schedule({ weekday: 'fri' }))
    expect(weekly.reports.scheduler!.nextDue().sched).toBe(SH(2026, 11, 20, 8))
    weekly.clock.advance(86_400_000)
    await weekly.reports.scheduler!.idle()
    expect(weekly.queued().map((q) => q.key)).toContain('report:sched:2026-W46:lift_a/wang')
    weekly.reports.stop()
  })

  it('makes up a send time missed within catch_up at start, once; an older one is left alone', async () => {
    const config = schedule({})
    // The hub was down over Monday 08:00 and comes back at 10:00.
    const first = await rig(SH(2026, 11, 23, 10))
    first.reports.start(config)
    await first.reports.scheduler!.idle()
    expect(first.queued().map((q) => q.key)).toEqual([
      'report:sched:2026-W47:lift_a/wang',
      'report:sched:2026-W47:property_duty/duty1',
    ])
    first.reports.stop()
    // Restarted at 11:00 on the same store: nothing new.
    const again = await rig(SH(2026, 11, 23, 11), first.dataDir)
    again.reports.start(config)
    await again.reports.scheduler!.idle()
    expect(again.queued()).toHaveLength(2)
    again.reports.stop()
    // Back only on Wednesday: Monday's report is two days late, past catch_up; the next is next Monday.
    const late = await rig(SH(2026, 11, 25, 10))
    late.reports.start(config)
    await late.reports.scheduler!.idle()
    expect(late.queued()).toEqual([])
    expect(late.reports.scheduler!.nextDue().sched).toBe(SH(2026, 11, 30, 8))
    late.reports.stop()
  })

  it('refuses a schedule for an unknown site or team with ZHIAN_ERR_CONFIG_INVALID', async () => {
    const { reports } = await rig(SH(2026, 11, 22))
    expect(() => reports.start(schedule({ scope: 'nowhere' }))).toThrow(
      expect.objectContaining({ code: 'ZHIAN_ERR_CONFIG_INVALID' }),
    )
    expect(() => reports.start(schedule({ recipients: [{ team: 'ghosts' }] }))).toThrow(
      expect.objectContaining({
        code: 'ZHIAN_ERR_CONFIG_INVALID',
        message: expect.stringContaining('ghosts'),
      }),
    )
    reports.stop()
  })
})
