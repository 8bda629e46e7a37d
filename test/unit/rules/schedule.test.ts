import { describe, expect, it } from 'vitest'
import { held, type KindDefinition, onEvent, schedule } from '../../../devices/types.ts'
import type { Device } from '../../../src/core/bus.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import {
  inSchedule,
  minuteOfDay,
  nextEdge,
  parseSchedule,
  type Schedule,
} from '../../../src/rules/schedule.ts'
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

  it('finds the next window edge, past midnight and in the zone of the schedule', () => {
    const night = sched('22:00-06:00')
    expect(nextEdge(night, SHANGHAI_MIDNIGHT + 21 * H + 30 * MIN, 'Asia/Shanghai')).toBe(
      SHANGHAI_MIDNIGHT + 22 * H,
    )
    expect(nextEdge(night, SHANGHAI_MIDNIGHT + 22 * H, 'Asia/Shanghai')).toBe(SHANGHAI_MIDNIGHT + 30 * H)
    expect(nextEdge(night, SHANGHAI_MIDNIGHT + 23 * H + 30_000, 'Asia/Shanghai')).toBe(
      SHANGHAI_MIDNIGHT + 30 * H,
    )
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

/** A kind whose alert is a condition held only inside its `lit` schedule (a light left on at night). */
const lamp: KindDefinition = {
  id: 'lamp',
  names: { zh: '灯', en: 'Lamp' },
  interval_s: 86_400,
  state: { on: { type: 'bool', label: { zh: '亮', en: 'On' } } },
  events: {},
  settable: {},
  params: {},
  alerts: {
    on_at_night: {
      severity: 'minor',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '夜间亮灯', en: 'On at night' },
      message: { zh: '{name} 夜间亮灯', en: '{name} is on at night' },
      params: { lit: schedule('22:00-06:00') },
      triggers: [held((c) => c.s.on === true && c.within('lit'))],
    },
  },
}
const lampDevice = (): Device => ({ ...dev(), id: 'l1', kind: 'lamp' as Device['kind'] })

describe('a held condition on a schedule changes at the window edge by itself', () => {
  it('raises at 22:00 and clears at 06:00 with no message in between, on the engine clock', () => {
    const l = lampDevice()
    const r = rig({ kinds: { lamp }, devices: [l], clock: new FakeClock(SHANGHAI_MIDNIGHT + 20 * H) })
    r.send(l, { on: true })
    r.advance(2 * H - MIN)
    expect(r.raises('lamp.on_at_night')).toHaveLength(0)
    r.advance(MIN)
    expect(r.raises('lamp.on_at_night')[0]!.at).toBe(SHANGHAI_MIDNIGHT + 22 * H)
    r.advance(8 * H - MIN)
    expect(r.clears('lamp.on_at_night')).toHaveLength(0)
    r.advance(MIN)
    expect(r.clears('lamp.on_at_night')[0]!.at).toBe(SHANGHAI_MIDNIGHT + 30 * H)
    // And again the next night.
    r.advance(16 * H)
    expect(r.raises('lamp.on_at_night')).toHaveLength(2)
  })

  it('after a restart from a snapshot, meets the same edge at the same instant', () => {
    const l = lampDevice()
    const clock = new FakeClock(SHANGHAI_MIDNIGHT + 20 * H)
    const before = rig({ kinds: { lamp }, devices: [l], clock })
    before.send(l, { on: true })
    const snapshot = before.engine.takeSnapshot({ all: true })
    before.engine.stop()
    const after = rig({ kinds: { lamp }, devices: [l], clock, snapshot })
    after.advance(2 * H)
    expect(after.raises('lamp.on_at_night').map((s) => s.at)).toEqual([SHANGHAI_MIDNIGHT + 22 * H])
  })
})
