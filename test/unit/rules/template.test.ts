import { describe, expect, it } from 'vitest'
import { KIND_IDS, KINDS } from '../../../devices/index.ts'
import type { AlertDefinition, KindDefinition } from '../../../devices/types.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import { RuleEngine, type RuleSignal } from '../../../src/rules/engine.ts'
import { render } from '../../../src/rules/template.ts'
import { device, MIN, rig } from './harness.ts'

/** Alert texts read naturally when a value the device may not report is missing. */

const values =
  (v: Record<string, unknown>) =>
  (key: string): unknown =>
    v[key]

describe('alert templates', () => {
  it('keep an optional segment with its value and leave it out without one', () => {
    const tpl = '{name} 被[{object_class}]占用 已持续 {held_s} 秒'
    const fields = KINDS.fire_passage.state
    expect(render(tpl, 'zh', values({ name: '消防通道3段', object_class: 'car', held_s: 60 }), fields)).toBe(
      '消防通道3段 被汽车占用 已持续 60 秒',
    )
    expect(render(tpl, 'zh', values({ name: '消防通道3段', held_s: 60 }), fields)).toBe(
      '消防通道3段 被占用 已持续 60 秒',
    )
    expect(
      render(
        '{name} occupied[ by {object_class}] for {held_s} s',
        'en',
        values({ name: 'FP 3', held_s: 60 }),
      ),
    ).toBe('FP 3 occupied for 60 s')
    // A segment needs every value in it; an empty string is no value.
    expect(render('a[ {x}/{y}]b', 'en', values({ x: 1 }))).toBe('ab')
    expect(render('a[ {x}/{y}]b', 'en', values({ x: 1, y: '' }))).toBe('ab')
    expect(render('a[ {x}/{y}]b', 'en', values({ x: 1, y: 2 }))).toBe('a 1/2b')
  })

  it('show brackets without a placeholder as text, and a missing value outside a segment as ?', () => {
    expect(render('[注意] {name}', 'zh', values({ name: 'x' }))).toBe('[注意] x')
    expect(render('{name} {nope}', 'zh', values({ name: 'x' }))).toBe('x ?')
  })

  /**
   * Values without which the alert cannot be raised at all (its trigger reads them), or that the rule
   * itself supplies (a zone's counts): they may stand outside an optional segment. Every other value a
   * device reports may be missing from its state.
   */
  const NEEDED_BY_TRIGGER: Record<string, string[]> = {
    '*.low_battery': ['battery_pct'],
    'elevator.overspeed': ['speed'],
    'elevator.restart_blocked': ['fault_code'],
    'manhole.water_high': ['water_level_cm'],
    'manhole.water_rising': ['water_level_cm'],
    'manhole.cover_loose': ['tilt_deg'],
    'parking_bay.zone_full': ['occupied'],
    'electrical_fire.residual_current': ['residual_ma'],
    'fire_hydrant.pressure_low': ['pressure_mpa'],
  }

  it('in every kind, render no ? when the device left out a value the alert does not need', () => {
    const checked: string[] = []
    const unnatural: string[] = []
    for (const kind of KIND_IDS) {
      const def = KINDS[kind] as KindDefinition
      const reported = new Set([
        ...Object.keys(def.state),
        ...Object.values(def.events ?? {}).flatMap((e) => Object.keys(e.data ?? {})),
      ])
      for (const [type, alert] of Object.entries(def.alerts) as [string, AlertDefinition][]) {
        const id = `${kind}.${type}`
        const needed = new Set([...(NEEDED_BY_TRIGGER[id] ?? []), ...(NEEDED_BY_TRIGGER[`*.${type}`] ?? [])])
        // Names, rule values (held_s, count…) and the alert's parameters are always there.
        const lookup = (key: string) =>
          reported.has(key) && !(key in alert.params) && !needed.has(key) ? undefined : 1
        for (const lang of ['zh', 'en'] as const) {
          const text = render(alert.message[lang], lang, lookup, def.state)
          // A question mark the template itself asks ("obstruction?") is not a missing value.
          const asked = alert.message[lang].split('?').length
          if (text.split('?').length !== asked || /\s{2}|\(\s*\)|\uFF08\uFF09/.test(text))
            unnatural.push(`${id} ${lang}: ${text}`)
        }
        checked.push(id)
      }
    }
    expect(unnatural).toEqual([])
    expect(checked).toContain('fire_passage.blocked')
    expect(checked).toContain('elevator.trapped')
  })

  it('a blocked fire passage from a geomagnetic sensor (no object class) reads 被占用 / 堵塞, not 被?占用', () => {
    const fp = device('fp3', 'fire_passage', { entrance: true }, 'e1', '消防通道3段')
    const r = rig({ devices: [fp] })
    r.send(fp, { occupied: true })
    r.advance(10 * MIN)
    expect(r.raises('fire_passage.occupied')[0]!.message).toEqual({
      zh: '消防通道3段 被占用 已持续 60 秒',
      en: '消防通道3段 occupied for 60 s',
    })
    expect(r.raises('fire_passage.blocked')[0]!.message.zh).toBe(
      '消防通道3段 被堵塞 已持续 10 分钟,请立即清理',
    )
  })

  it('a full parking zone is named as the estate file names it, not by its id', () => {
    const signals: RuleSignal[] = []
    const clock = new FakeClock()
    const engine = new RuleEngine({
      clock,
      kinds: KINDS,
      sink: (s) => signals.push(s),
      zoneName: (estate, zone) => (estate === 'e1' && zone === 'ground' ? '地面停车场' : undefined),
    })
    const bays = Array.from({ length: 2 }, (_, i) => device(`b${i}`, 'parking_bay', { zone: 'ground' }))
    engine.start(bays)
    for (const b of bays) engine.reading(b, { occupied: true })
    clock.advance(10 * MIN)
    const full = signals.find((s) => s.op === 'raise' && s.alert === 'parking_bay.zone_full')
    expect(full?.message).toEqual({
      zh: '地面停车场 车位已满:2/2(100%)',
      en: 'Parking 地面停车场 full: 2/2 (100%)',
    })
  })
})
