import { describe, expect, it } from 'vitest'
import { type KindDefinition, onEvent, schedule } from '../../../devices/types.ts'
import type { Device } from '../../../src/core/bus.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import { inSchedule, minuteOfDay, parseSchedule, type Schedule } from '../../../src/rules/schedule.ts'
import { H, MIN, rig } from './harness.ts'

/** 2026-03-02 00:00 in Asia/Shanghai (UTC+8) is 2026-03-01 16:00 UTC. */
const SHANGHAI_MIDNIGHT = Date.UTC(2026, 2, 1, 16, 0)
const sched = (text: string) => parseSchedule(text) as Schedule

describe('parseSchedule / inSchedule', () => {
  it('reads windows past midnight, several windows and a time zone', () => {
    const night = sched('22:00-06:00')
    expect(inSchedule(night, SHANGHAI_MIDNIGHT + 21 * H + 59 * MIN, 'Asia/Shanghai')).toBe(false)
    expect(inSchedule(night, SHANGHAI_MIDNIGHT + 22 * H, 'Asia/Shanghai')).toBe(true)
    expect(inSchedule(night, SHANGHAI_MIDNIGHT + 5 * H + 59 * MIN, 'Asia/Shanghai')).toBe(true)
    expect(inSchedule(night, SHANGHAI_MIDNIGHT + 6 * H, 'Asia/Shanghai')).toBe(false)
    const two = sched('12:00-13:00, 22:00-24:00')
    expect(inSchedule(two, SHANGHAI_MIDNIGHT + 12 * H + 30 * MIN, 'Asia/Shanghai')).toBe(true)
    expect(inSchedule(two, SHANGHAI_MIDNIGHT + 23 * H + 59 * MIN, 'Asia/Shanghai')).toBe(true)
    expect(inSchedule(two, SHANGHAI_MIDNIGHT + 14 * H, 'Asia/Shanghai')).toBe(false)
    // Its own zone wins over the default: 22:00 in Shanghai is 14:00 in UTC.
    const utc = sched('13:00-15:00 UTC')
    expect(utc.tz).toBe('UTC')
    expect(inSchedule(utc, SHANGHAI_MIDNIGHT + 22 * H, 'Asia/Shanghai')).toBe(true)
    expect(minuteOfDay(SHANGHAI_MIDNIGHT + 22 * H, 'Asia/Shanghai')).toBe(22 * 60)
  })

  it('refuses what is no schedule, with a reason', () => {
    expect(parseSchedule('25:00-06:00')).toMatch(/not a window/)
    expect(parseSchedule('22:00')).toMatch(/not a window/)
    expect(parseSchedule('22:00-06:00 Mars/Olympus')).toMatch(/unknown time zone/)
    expect(parseSchedule(2200)).toMatch(/not a text/)
  })
})

/** A kind whose one alert raises on a `ping` only inside its `active` schedule. */
const pinger: KindDefinition = {
  id: 'pinger',
  names: { zh: '测试', en: 'Pinger' },
  interval_s: 86_400,
  state: {},
  events: { ping: { label: { zh: '触发', en: 'Ping' }, data: {} } },
  settable: {},
  params: {},
  alerts: {
    night_ping: {
      severity: 'major',
      crew: 'property_duty',
      latched: false,
      title: { zh: '夜间触发', en: 'Ping at night' },
      message: { zh: '{name} 夜间触发', en: '{name} pinged at night' },
      params: { active: schedule('22:00-06:00') },
      triggers: [onEvent((c) => c.event?.type === 'ping' && c.within('active'))],
    },
  },
}
const dev = (params: Record<string, unknown> = {}, estate = 'e1'): Device => ({
  id: 'p1',
  kind: 'pinger' as Device['kind'],
  estate,
  building: undefined,
  name: 'p1',
  location: undefined,
  params,
  site: { street: undefined, community: undefined, estate, building: undefined },
})

describe('the schedule gate of the rule engine', () => {
  it('decides at the message time on the engine clock (Asia/Shanghai by default), not at the wall clock', () => {
    const clock = new FakeClock(SHANGHAI_MIDNIGHT + 21 * H + 59 * MIN)
    const p = dev()
    const r = rig({ kinds: { pinger }, devices: [p], clock })
    r.event(p, 'ping')
    expect(r.raises('pinger.night_ping')).toHaveLength(0)
    r.engine.event(p, 'ping', {}, SHANGHAI_MIDNIGHT + 22 * H)
    expect(r.raises('pinger.night_ping')).toHaveLength(1)
    // A replayed message of 05:59 still counts, whatever the clock reads when it is applied.
    const late = rig({ kinds: { pinger }, devices: [p], clock: new FakeClock(SHANGHAI_MIDNIGHT + 12 * H) })
    late.engine.event(p, 'ping', {}, SHANGHAI_MIDNIGHT + 5 * H + 59 * MIN)
    expect(late.raises('pinger.night_ping')).toHaveLength(1)
  })

  it('takes the estate override, then the device param of the same name', () => {
    const noon = SHANGHAI_MIDNIGHT + 12 * H
    const p = dev()
    const byEstate = rig({
      kinds: { pinger },
      devices: [p],
      clock: new FakeClock(noon),
      overrides: { e1: { 'pinger.night_ping': { active: '11:00-13:00' } } },
    })
    byEstate.event(p, 'ping')
    expect(byEstate.raises('pinger.night_ping')).toHaveLength(1)

    const own = dev({ active: '00:00-01:00' })
    const byDevice = rig({
      kinds: { pinger },
      devices: [own],
      clock: new FakeClock(noon),
      overrides: { e1: { 'pinger.night_ping': { active: '11:00-13:00' } } },
    })
    byDevice.event(own, 'ping')
    expect(byDevice.raises('pinger.night_ping')).toHaveLength(0)
  })

  it('refuses a bad schedule in the estate overrides with a config error naming it', () => {
    expect(() =>
      rig({ kinds: { pinger }, overrides: { e1: { 'pinger.night_ping': { active: '22-6' } } } }),
    ).toThrow(/overrides\.e1\.pinger\.night_ping\.active: "22-6" is not a window/)
  })
})
