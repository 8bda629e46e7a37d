import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { localTime, onShift, Router, TYPE_SLA } from '../../../src/dispatch/routing.ts'
import { Receiver } from '../../integration/dispatch/receiver.ts'
import { fixtureConfig, MIN } from './rig.ts'

type A = Pick<Alert, 'type' | 'kind' | 'severity' | 'crew' | 'street' | 'community' | 'estate' | 'building'>
const at = (estate: string, a: Partial<A> = {}): A => ({
  type: 'elevator.trapped',
  kind: 'elevator',
  severity: 'critical',
  crew: 'elevator_contractor',
  street: 's1',
  community: 'c1',
  estate,
  building: null,
  ...a,
})
/** Local time in Asia/Shanghai (UTC+8) as epoch ms. */
const cst = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h - 8, mi)

describe('routing', () => {
  const router = new Router(fixtureConfig(new Receiver()))

  it('sends a trapped passenger to the lift contractor of its estate (catalogue crew), with the 5/30-min SLA', () => {
    expect(router.route(at('e1'))).toMatchObject({
      teamId: 'lift_a',
      autoWorkOrder: true,
      sla: { accept: 5 * MIN, arrive: 30 * MIN },
      rule: null,
    })
    expect(router.route(at('e2')).teamId).toBe('lift_b')
  })

  it('takes per-type SLAs from the alert definitions in devices/ (a trapped passenger, a fire or gas alarm, an SOS press)', () => {
    expect(TYPE_SLA).toEqual({
      'elevator.trapped': { accept: 5 * MIN, arrive: 30 * MIN },
      'gas_detector.gas_alarm': { accept: MIN, arrive: 3 * MIN },
      'smoke_detector.fire_alarm': { accept: MIN, arrive: 3 * MIN },
      'sos_button.sos': { accept: 2 * MIN, arrive: 10 * MIN },
    })
  })

  it('applies per-estate routing rules before the default: type + site, kind, work_order flag, SLA, chain', () => {
    const cover = router.route(
      at('e1', { type: 'manhole.cover_open', kind: 'manhole', crew: 'utility_owner' }),
    )
    expect(cover).toMatchObject({ teamId: 'property_duty', rule: 0, sla: { accept: 1000, arrive: MIN } })
    expect(cover.escalation.steps).toEqual([
      { to: 'next_on_duty', after: 1000 },
      { to: 'lead', after: 1000 },
      { to: 'team:community_grid', after: 1000 },
    ])
    // The same alert type in e2 has no rule and no team for its crew: routed to the crew id, nobody notified.
    const e2 = router.route(at('e2', { type: 'manhole.cover_open', kind: 'manhole', crew: 'utility_owner' }))
    expect(e2).toMatchObject({ teamId: 'utility_owner', team: undefined, rule: null })
    const fire = router.route(
      at('e1', {
        type: 'fire_passage.blocked',
        kind: 'fire_passage',
        severity: 'major',
        crew: 'property_duty',
      }),
    )
    expect(fire).toMatchObject({ teamId: 'property_duty', autoWorkOrder: false, rule: 1 })
  })

  it('opens work orders automatically for critical and major alerts only, unless a rule says otherwise', () => {
    expect(router.route(at('e1', { severity: 'major', type: 'elevator.x' })).autoWorkOrder).toBe(true)
    expect(router.route(at('e1', { severity: 'minor', type: 'elevator.x' })).autoWorkOrder).toBe(false)
    expect(router.route(at('e1', { severity: 'warning', type: 'elevator.offline' })).autoWorkOrder).toBe(
      false,
    )
  })

  it('uses the team escalation chain, each step after the team `after` (5 min)', () => {
    const r = router.route(at('e1'))
    expect(r.escalation).toEqual({
      steps: [
        { to: 'next_on_duty', after: 5 * MIN },
        { to: 'lead', after: 5 * MIN },
        { to: 'team:property_duty', after: 5 * MIN },
        { to: 'team:community_grid', after: 5 * MIN },
      ],
      remindEvery: 2 * MIN,
      remindMax: 2,
    })
  })
})

describe('duty roster', () => {
  const base = fixtureConfig(new Receiver())
  const team = { ...base.teams.find((t) => t.id === 'lift_a')! }
  const router = new Router({
    ...base,
    roster: [
      { team: 'lift_a', member: 'wang', days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '08:00-20:00' },
      { team: 'lift_a', member: 'li', days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '20:00-08:00' },
      { team: 'lift_a', member: 'boss', days: ['sat', 'sun'] },
    ],
  })
  const who = (t: number) => router.onDuty(team, at('e1'), t).map((m) => m.id)

  it('picks the member whose shift covers the local time (Asia/Shanghai)', () => {
    expect(localTime(cst(2026, 1, 5, 10), 'Asia/Shanghai')).toEqual({ day: 0, minute: 600 })
    expect(who(cst(2026, 1, 5, 10))).toEqual(['wang']) // Monday 10:00
    expect(who(cst(2026, 1, 5, 19, 59))).toEqual(['wang'])
    expect(who(cst(2026, 1, 5, 20))).toEqual(['li']) // Monday 20:00
    expect(who(cst(2026, 1, 6, 3))).toEqual(['li']) // Tuesday 03:00: Monday's night shift
    expect(who(cst(2026, 1, 10, 12))).toEqual(['boss']) // Saturday
  })

  it('a night shift belongs to the day it starts: Saturday 03:00 is still Friday night, Monday 03:00 is nobody’s', () => {
    expect(who(cst(2026, 1, 10, 3))).toEqual(['li', 'boss'])
    expect(who(cst(2026, 1, 5, 3))).toEqual([])
  })

  it('a shift from 22:00 to 06:00 in another time zone', () => {
    const entry = { team: 'x', member: 'y', hours: '22:00-06:00' }
    expect(onShift(entry, Date.UTC(2026, 0, 5, 23), 'UTC')).toBe(true)
    expect(onShift(entry, Date.UTC(2026, 0, 5, 23), 'Asia/Shanghai')).toBe(false)
  })

  it('a team without roster entries is always on duty, in member order', () => {
    const grid = base.teams.find((t) => t.id === 'community_grid')!
    expect(router.onDuty(grid, at('e1'), cst(2026, 1, 5, 3)).map((m) => m.id)).toEqual(['grid1'])
  })
})
