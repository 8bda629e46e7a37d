import { describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import { count, held, type KindDefinition, onEvent, rate } from '../../../devices/types.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import { buildCatalog, resolveOverrides } from '../../../src/rules/catalog.ts'
import { parseDuration } from '../../../src/rules/duration.ts'
import { device, H, IDLE_LIFT, lift, MIN, rig, S } from './harness.ts'

/** The primitives on a kind made for the test, so each one is seen alone. */
const probe: KindDefinition = {
  id: 'probe',
  names: { zh: '探针', en: 'Probe' },
  interval_s: 60,
  state: {
    on: { type: 'bool', label: { zh: '开', en: 'On' } },
    level: { type: 'float', label: { zh: '值', en: 'Level' }, min: 0, max: 1000, unit: 'cm' },
  },
  events: { ping: { label: { zh: '事件', en: 'Ping' }, data: {} } },
  settable: {},
  params: {},
  alerts: {
    held: {
      severity: 'major',
      crew: 'property_duty',
      latched: false,
      title: { zh: '保持', en: 'Held' },
      message: { zh: '{name} 持续 {held_s} 秒', en: '{name} held {held_s} s' },
      params: { for: { type: 'duration', default: '10s' }, clear_for: { type: 'duration', default: '5s' } },
      triggers: [held((c) => c.s.on === true)],
    },
    hysteresis: {
      severity: 'minor',
      crew: 'property_duty',
      latched: false,
      title: { zh: '滞回', en: 'Hysteresis' },
      message: { zh: '{level}', en: '{level}' },
      params: {
        high: { type: 'number', default: 80, min: 0, max: 1000 },
        low: { type: 'number', default: 60, min: 0, max: 1000 },
      },
      triggers: [
        held((c) => (c.s.level as number) >= c.p.high!, {
          clearWhen: (c) => (c.s.level as number) <= c.p.low!,
        }),
      ],
    },
    counted: {
      severity: 'warning',
      crew: 'property_duty',
      latched: false,
      title: { zh: '计数', en: 'Count' },
      message: { zh: '{count}', en: '{count}' },
      params: {
        count: { type: 'number', default: 3, min: 1, max: 10 },
        window: { type: 'duration', default: '1m' },
      },
      triggers: [count({ hit: (c) => c.event?.type === 'ping' })],
    },
    rising: {
      severity: 'warning',
      crew: 'property_duty',
      latched: false,
      title: { zh: '上涨', en: 'Rising' },
      message: { zh: '{rise}', en: '{rise}' },
      params: {
        rise: { type: 'number', default: 10, min: 1, max: 100 },
        window: { type: 'duration', default: '1m' },
        clear_for: { type: 'duration', default: '1m' },
      },
      triggers: [rate({ field: 'level', rise: 'rise', window: 'window' })],
    },
    pressed: {
      severity: 'critical',
      crew: 'property_duty',
      latched: true,
      title: { zh: '按下', en: 'Pressed' },
      message: { zh: '按下', en: 'pressed' },
      params: {},
      triggers: [onEvent((c) => c.event?.type === 'ping' && c.s.on === true)],
    },
  },
}
const kinds = { ...KINDS, probe }
const p1 = () => ({ ...device('p1', 'elevator'), kind: 'probe' as never })

describe('held for a duration', () => {
  it('fires from its timer, with no further message, exactly at `for`', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.send(d, { on: true })
    r.advance(10 * S - 1)
    expect(r.raises('probe.held')).toHaveLength(0)
    r.advance(1)
    expect(r.raises('probe.held')[0]!.message.en).toBe('p1-name held 10 s')
  })

  it('restarts the hold when the condition drops out in between', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.send(d, { on: true })
    r.advance(9 * S)
    r.send(d, { on: false })
    r.send(d, { on: true })
    r.advance(9 * S)
    expect(r.raises('probe.held')).toHaveLength(0)
    r.advance(S)
    expect(r.raises('probe.held')).toHaveLength(1)
  })

  it('clears only after `clear_for` quiet; a relapse inside it keeps the alert raised', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.send(d, { on: true })
    r.advance(10 * S)
    r.send(d, { on: false })
    r.advance(4 * S)
    r.send(d, { on: true })
    r.advance(MIN)
    expect(r.clears('probe.held')).toHaveLength(0)
    r.send(d, { on: false })
    r.advance(5 * S)
    expect(r.clears('probe.held')).toHaveLength(1)
    expect(r.raises('probe.held')).toHaveLength(1)
  })
})

describe('hysteresis with separate raise and clear thresholds', () => {
  it('raises at 80, stays raised at 70, clears at 60', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.send(d, { level: 79 })
    expect(r.isRaised('probe.hysteresis')).toBe(false)
    r.send(d, { level: 80 })
    expect(r.isRaised('probe.hysteresis')).toBe(true)
    r.send(d, { level: 70 })
    expect(r.isRaised('probe.hysteresis')).toBe(true)
    r.send(d, { level: 60 })
    expect(r.isRaised('probe.hysteresis')).toBe(false)
  })
})

describe('count within a window', () => {
  it('raises on the third hit inside the window and not when the hits are spread wider', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.event(d, 'ping')
    r.advance(40 * S)
    r.event(d, 'ping')
    r.advance(40 * S)
    r.event(d, 'ping')
    expect(r.raises('probe.counted')).toHaveLength(0)
    r.advance(10 * S)
    r.event(d, 'ping')
    expect(r.raises('probe.counted')).toHaveLength(1)
  })
})

describe('rate of change', () => {
  it('raises when a value rises by `rise` within the window, not when it takes longer', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.send(d, { level: 0 })
    r.advance(61 * S)
    r.send(d, { level: 9 })
    r.advance(30 * S)
    r.send(d, { level: 18 })
    expect(r.raises('probe.rising')).toHaveLength(0)
    r.advance(10 * S)
    r.send(d, { level: 19.5 })
    expect(r.raises('probe.rising')[0]!.values.rise).toBe(10.5)
  })
})

describe('event alerts', () => {
  it('raises on the event when its condition holds; a repeat is a re-trigger', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.event(d, 'ping')
    expect(r.raises('probe.pressed')).toHaveLength(0)
    r.send(d, { on: true })
    r.event(d, 'ping')
    r.event(d, 'ping')
    expect(r.raises('probe.pressed').map((s) => s.retrigger)).toEqual([false, true])
  })

  it('raises anew after a person resolved it', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.send(d, { on: true })
    r.event(d, 'ping')
    r.engine.resolved('p1', 'probe.pressed')
    r.event(d, 'ping')
    expect(r.raises('probe.pressed').map((s) => s.retrigger)).toEqual([false, false])
  })
})

describe('a person resolving an alert whose condition still holds', () => {
  it('re-arms the hold from the moment of resolution', () => {
    const d = p1()
    const r = rig({ kinds, devices: [d] })
    r.send(d, { on: true })
    r.advance(10 * S)
    r.engine.resolved('p1', 'probe.held')
    r.advance(9 * S)
    expect(r.raises('probe.held')).toHaveLength(1)
    r.advance(S)
    expect(r.raises('probe.held')).toHaveLength(2)
  })
})

describe('gating', () => {
  it('asks the gates at raise time and records the reason', () => {
    const d = p1()
    const r = rig({
      kinds,
      devices: [d],
      gates: {
        suppression: (dev, estate, alert) =>
          dev?.id === 'p1' && estate === 'e1' && alert === 'probe.held' ? 'silence:x' : undefined,
      },
    })
    r.send(d, { on: true, level: 90 })
    r.advance(10 * S)
    expect(r.raises('probe.held')[0]!.suppressed).toBe('silence:x')
    expect(r.raises('probe.hysteresis')[0]!.suppressed).toBeNull()
  })
})

describe('offline', () => {
  it('uses the interval the device announces in its info', () => {
    const l = lift()
    const r = rig({ devices: [l] })
    r.engine.info(l, { interval_s: 10 })
    r.advance(30 * S + 30 * S - 1)
    expect(r.raises('elevator.offline')).toHaveLength(0)
    r.advance(1)
    expect(r.raises('elevator.offline')).toHaveLength(1)
  })

  it('is kept away by any message: state, event, info or availability online', () => {
    const l = lift()
    const r = rig({ devices: [l] })
    for (let i = 0; i < 10; i++) {
      r.advance(3 * MIN)
      if (i % 4 === 0) r.send(l, { floor: i })
      if (i % 4 === 1) r.event(l, 'alarm_button')
      if (i % 4 === 2) r.engine.info(l, {})
      if (i % 4 === 3) r.engine.availability(l, true)
    }
    expect(r.raises('elevator.offline')).toHaveLength(0)
  })

  it('takes its missed/grace parameters from the estate override', () => {
    const l = lift()
    const r = rig({ devices: [l], overrides: { e1: { 'elevator.offline': { missed: 1, grace: '0s' } } } })
    r.advance(MIN)
    expect(r.raises('elevator.offline')).toHaveLength(1)
  })
})

describe('rule state survives a restart', () => {
  it('re-arms a `for` timer relative to its stored start: blocked 4 min before a restart still alerts at minute 10', () => {
    const fp = device('fp1', 'fire_passage')
    const clock = new FakeClock()
    const before = rig({ devices: [fp], clock })
    before.send(fp, { occupied: true })
    clock.advance(4 * MIN)
    const snapshot = before.engine.takeSnapshot({ seen: true })
    before.engine.stop()
    clock.advance(MIN) // the hub is down for a minute
    const after = rig({ devices: [fp], clock, snapshot })
    clock.advance(5 * MIN - S)
    expect(after.raises('fire_passage.blocked')).toHaveLength(0)
    clock.advance(S)
    expect(after.raises('fire_passage.blocked')[0]!.message.en).toContain('for 10 min')
  })

  it('keeps counters, the last known state and last-seen times', () => {
    const l = lift()
    const clock = new FakeClock()
    const before = rig({ devices: [l], clock })
    before.send(l, IDLE_LIFT)
    for (let i = 0; i < 4; i++) {
      before.send(l, { door: 'open' })
      before.send(l, { door: 'closed' })
    }
    const snapshot = before.engine.takeSnapshot({ seen: true })
    before.engine.stop()
    const after = rig({ devices: [l], clock, snapshot })
    expect(after.engine.stateOf('lift1')).toMatchObject({ floor: 7, door: 'closed' })
    after.send(l, { door: 'open' })
    expect(after.raises('elevator.door_cycling')).toHaveLength(1)
    clock.advance(3 * MIN + 30 * S)
    expect(after.raises('elevator.offline')).toHaveLength(1)
  })

  it('gives every device a full offline window from hub start after a long downtime: no offline storm', () => {
    const l = lift()
    const fp = device('fp1', 'fire_passage')
    const clock = new FakeClock()
    const before = rig({ devices: [l, fp], clock })
    before.send(l, IDLE_LIFT)
    before.send(fp, { occupied: false })
    const snapshot = before.engine.takeSnapshot({ seen: true })
    before.engine.stop()
    clock.advance(2 * H) // down far longer than either kind's offline window
    const after = rig({ devices: [l, fp], clock, snapshot })
    clock.advance(S)
    expect(after.signals).toHaveLength(0)
    // The lift never comes back: offline one window (3 × 60 s + 30 s) after start, not before.
    after.send(fp, { occupied: false })
    clock.advance(3 * MIN + 29 * S - S)
    expect(after.raises('elevator.offline')).toHaveLength(0)
    clock.advance(S)
    expect(after.raises('elevator.offline')).toHaveLength(1)
    // Its silence counts from its last message, not from the restart.
    expect(after.raises('elevator.offline')[0]!.message.en).toContain('no report for over 124 min')
    expect(after.raises('fire_passage.offline')).toHaveLength(0)
  })

  it('knows a raised alert is raised after the restart, so it clears it rather than raising it again', () => {
    const fp = device('fp1', 'fire_passage')
    const clock = new FakeClock()
    const before = rig({ devices: [fp], clock })
    before.send(fp, { occupied: true })
    clock.advance(10 * MIN)
    const snapshot = before.engine.takeSnapshot({ seen: true })
    before.engine.stop()
    const after = rig({ devices: [fp], clock, snapshot })
    after.send(fp, { occupied: true })
    expect(after.raises('fire_passage.blocked')).toHaveLength(0)
    after.send(fp, { occupied: false })
    clock.advance(MIN)
    expect(after.clears('fire_passage.blocked')).toHaveLength(1)
  })

  it('adopts an alert the store holds open but the rule state missed (crash before a flush), and clears it', () => {
    const fp = device('fp1', 'fire_passage')
    const r = rig({ devices: [fp] })
    r.send(fp, { occupied: false })
    r.engine.adopt('fp1', 'fire_passage.blocked')
    r.engine.adopt('fp1', 'fire_passage.occupied')
    expect(r.raises('fire_passage.blocked')).toHaveLength(0)
    r.advance(MIN)
    expect(r.clears('fire_passage.blocked')).toHaveLength(1)
    expect(r.clears('fire_passage.occupied')).toHaveLength(1)
  })

  it('keeps an adopted alert raised while its condition still holds', () => {
    const fp = device('fp1', 'fire_passage')
    const r = rig({ devices: [fp] })
    r.send(fp, { occupied: true })
    r.engine.adopt('fp1', 'fire_passage.blocked')
    r.advance(H)
    expect(r.raises('fire_passage.blocked')).toHaveLength(0)
    expect(r.clears('fire_passage.blocked')).toHaveLength(0)
    r.send(fp, { occupied: false })
    r.advance(MIN)
    expect(r.clears('fire_passage.blocked')).toHaveLength(1)
  })

  it('only reports what changed since the last snapshot, and nothing for idle devices', () => {
    const fp = device('fp1', 'fire_passage')
    const r = rig({ devices: [fp] })
    r.engine.takeSnapshot({ seen: true })
    expect(r.engine.dirty(true)).toBe(false)
    r.send(fp, { occupied: true })
    const snap = r.engine.takeSnapshot()
    expect([...snap.devices.keys()]).toEqual(['fp1'])
    expect(snap.triggers.size).toBeGreaterThan(0)
    expect(r.engine.takeSnapshot().triggers.size).toBe(0)
    // The same value again only moves the last-seen time: written with the next `seen` flush, not now.
    r.send(fp, { occupied: true })
    expect(r.engine.dirty()).toBe(false)
    expect(r.engine.dirty(true)).toBe(true)
    expect([...r.engine.takeSnapshot({ seen: true }).devices.keys()]).toEqual(['fp1'])
  })
})

describe('devices changed in the registry', () => {
  it('keeps the state of a device the registry reloaded, and moves a parking bay to its new zone', () => {
    const b = device('pb1', 'parking_bay', { zone: 'north' })
    const r = rig({ devices: [b] })
    r.send(b, { occupied: true })
    r.send({ ...b }, { battery_pct: 90 })
    expect(r.engine.stateOf('pb1')).toMatchObject({ occupied: true, battery_pct: 90 })
    const moved = { ...b, params: { zone: 'south' } }
    r.send(moved, { battery_pct: 89 })
    expect(r.engine.zoneAggregates().map((z) => [z.zone, z.total, z.occupied])).toEqual([
      ['north', 0, 0],
      ['south', 1, 1],
    ])
  })
})

describe('catalogue and overrides', () => {
  it('parses durations in ms, s, m, h and d and refuses anything else', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('5m')).toBe(300_000)
    expect(parseDuration('1.5h')).toBe(5_400_000)
    expect(parseDuration('30d')).toBe(2_592_000_000)
    for (const bad of ['5', '5 minutes', '-1s', '', 5]) expect(parseDuration(bad)).toBeUndefined()
  })

  it('resolves an estate override over the defaults and leaves other estates on the defaults', () => {
    const catalog = buildCatalog(KINDS)
    const resolved = resolveOverrides(catalog, { e1: { 'fire_passage.blocked': { for: '2s' } } })
    expect(resolved.get('e1')!.get('fire_passage.blocked')).toEqual({ for: 2000, clear_for: 60_000 })
    const fpE1 = device('fp1', 'fire_passage')
    const fpE2 = device('fp2', 'fire_passage', {}, 'e2')
    const r = rig({ devices: [fpE1, fpE2], overrides: { e1: { 'fire_passage.blocked': { for: '2s' } } } })
    r.send(fpE1, { occupied: true })
    r.send(fpE2, { occupied: true })
    r.advance(2 * S)
    expect(r.raises('fire_passage.blocked').map((s) => s.subject)).toEqual(['fp1'])
  })

  it('refuses out-of-range numbers with the path of the parameter', () => {
    const catalog = buildCatalog(KINDS)
    expect(() => resolveOverrides(catalog, { e1: { 'parking_bay.zone_full': { full_pct: 150 } } })).toThrow(
      /overrides\.e1\.parking_bay\.zone_full\.full_pct: 150 must be a number from 1 to 100/,
    )
  })

  it('evaluates a reading of an unknown kind without error and registers devices lazily', () => {
    const r = rig({ devices: [] })
    const l = lift()
    r.send(l, { ...IDLE_LIFT, passenger: true })
    r.advance(H)
    expect(r.raises('elevator.trapped')).toHaveLength(1)
  })
})
