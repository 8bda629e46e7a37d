import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { KIND_IDS, KINDS } from '../../devices/index.ts'
import type { AlertDefinition, Fields, KindDefinition } from '../../devices/types.ts'
import { SEVERITIES } from '../../src/alerts/types.ts'
import { buildCatalog } from '../../src/rules/catalog.ts'
import { render } from '../../src/rules/template.ts'

/** Meta-tests that keep devices/ honest: what every kind and every alert must declare. */

const DEVICES_DIR = path.resolve(import.meta.dirname, '../../devices')
/** Not kinds: the registry, the shapes, the derived schemas, and the template a new kind is copied from. */
const NOT_KINDS = new Set(['index.ts', 'types.ts', 'schema.ts', 'template.ts'])
const CREWS = new Set([
  'elevator_contractor',
  'property_duty',
  'property_engineering',
  'utility_owner',
  'fire_safety',
  'community_grid',
  'street_cockpit',
  'external_emergency',
])

const alerts = (): [string, string, AlertDefinition][] =>
  KIND_IDS.flatMap((k) =>
    Object.entries(KINDS[k].alerts).map(([t, d]) => [k, t, d] as [string, string, AlertDefinition]),
  )

describe('device kind catalogue', () => {
  it('registers every devices/<kind>.ts in index.ts under its own id', () => {
    const files = fs
      .readdirSync(DEVICES_DIR)
      .filter((f) => f.endsWith('.ts') && !NOT_KINDS.has(f))
      .map((f) => f.replace(/\.ts$/, ''))
    expect(files.sort()).toEqual([...KIND_IDS].sort())
    for (const id of KIND_IDS) expect(KINDS[id].id).toBe(id)
  })

  it('gives every numeric field a unit, except counts, codes, floors and ratios', () => {
    const unitless = new Set(['floor', 'bottom_floor', 'top_floor', 'fault_code', 'confidence', 'code'])
    const check = (fields: Fields, where: string) => {
      for (const [name, f] of Object.entries(fields)) {
        if ((f.type === 'int' || f.type === 'float') && !unitless.has(name)) {
          expect(f.unit, `${where}.${name}`).toBeTruthy()
        }
        expect(f.label.zh && f.label.en, `${where}.${name} label`).toBeTruthy()
      }
    }
    for (const id of KIND_IDS) {
      const k = KINDS[id]
      check(k.state, `${id}.state`)
      check(k.settable, `${id}.settable`)
      check(k.params, `${id}.params`)
      for (const [e, spec] of Object.entries(k.events)) check(spec.data, `${id}.events.${e}`)
    }
  })

  it('declares an offline alert for every kind', () => {
    for (const id of KIND_IDS) expect(KINDS[id].alerts.offline, id).toBeDefined()
  })
})

describe('alert catalogue', () => {
  it('gives every alert a severity, a known crew, zh/en title and message, and at least one trigger', () => {
    for (const [kind, type, def] of alerts()) {
      const id = `${kind}.${type}`
      expect(SEVERITIES, id).toContain(def.severity)
      expect(CREWS.has(def.crew), `${id} crew ${def.crew}`).toBe(true)
      expect(def.title.zh && def.title.en, `${id} title`).toBeTruthy()
      expect(def.message.zh && def.message.en, `${id} message`).toBeTruthy()
      expect(/[\u4e00-\u9fff]/.test(def.message.zh), `${id} zh text is Chinese`).toBe(true)
      expect(def.triggers.length, id).toBeGreaterThan(0)
      expect(typeof def.latched, id).toBe('boolean')
    }
  })

  it('has unique ids of the form <kind>.<type>', () => {
    const ids = [...buildCatalog(KINDS).keys()]
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) expect(id).toMatch(/^[a-z_]+\.[a-z_]+$/)
  })

  it('names every template placeholder after a field, a parameter or a documented variable', () => {
    const builtins = new Set([
      'name',
      'location',
      'held_s',
      'held_min',
      'held_h',
      'count',
      'silent_min',
      'rise',
    ])
    for (const [kind, type, def] of alerts()) {
      const known = new Set([
        ...builtins,
        ...Object.keys(KINDS[kind as keyof typeof KINDS].state),
        ...Object.keys(def.params),
        ...Object.keys(KINDS[kind as keyof typeof KINDS].params),
        // A raise by an event carries the event's data (engine `emit`).
        ...Object.values(KINDS[kind as keyof typeof KINDS].events).flatMap((e) => Object.keys(e.data)),
        'where',
        'subtype',
        'mode',
        'window_d',
        'window_min',
        'limit_cm',
        'rated_speed',
        'occupied',
        'total',
        'percent',
        'free',
        'set_ma',
        'set_c',
        'max_temp_c',
        'min_mpa',
      ])
      for (const lang of ['zh', 'en'] as const) {
        render(def.message[lang], lang, (key) => {
          expect(known.has(key), `${kind}.${type} ${lang}: {${key}}`).toBe(true)
          return 1
        })
      }
    }
  })

  it('declares parameters with valid defaults, and names `for` and `clear_for` that way', () => {
    const catalog = buildCatalog(KINDS)
    for (const entry of catalog.values()) {
      for (const [name, spec] of Object.entries(entry.def.params)) {
        if (spec.type === 'schedule') expect(entry.schedules[name], `${entry.id}.${name}`).toBeDefined()
        else expect(entry.defaults[name], `${entry.id}.${name}`).toBeTypeOf('number')
        if (name.startsWith('for') || name.startsWith('clear_for')) expect(spec.type).toBe('duration')
      }
    }
  })

  it('covers the catalogue the issue asks for, including GB/T 24476-2017 code mapping', () => {
    const ids = new Set(buildCatalog(KINDS).keys())
    const required = [
      'elevator.trapped',
      'elevator.moving_door_open',
      'elevator.overtravel_top',
      'elevator.overtravel_bottom',
      'elevator.overspeed',
      'elevator.stopped_outside_zone',
      'elevator.door_fault',
      'elevator.door_cycling',
      'elevator.power_loss',
      'elevator.alarm_button',
      'elevator.mode_change',
      'elevator.frequent_faults',
      'elevator.safety_circuit_open',
      'elevator.restart_blocked',
      'fire_passage.occupied',
      'fire_passage.blocked',
      'fire_passage.persistent_blockage',
      'fire_passage.blocked_during_fire',
      'manhole.cover_open',
      'manhole.cover_loose',
      'manhole.water_high',
      'manhole.low_battery',
      'parking_bay.overstay',
      'parking_bay.zone_full',
      'parking_bay.sensor_flapping',
      'parking_bay.low_battery',
      'smoke_detector.fire_alarm',
      'smoke_detector.removed',
      'smoke_detector.fault',
      'smoke_detector.low_battery',
      'gas_detector.gas_alarm',
      'gas_detector.fault',
      'electrical_fire.residual_current',
      'electrical_fire.overtemp',
      'fire_hydrant.pressure_low',
      'fire_hydrant.opened',
      'fire_hydrant.knocked',
      'sos_button.sos',
      ...KIND_IDS.map((k) => `${k}.offline`),
    ]
    for (const id of required) expect(ids.has(id), id).toBe(true)
  })
})

describe('estate view panels', () => {
  it('names only panels the dashboard has (src/web/app/panels/index.ts), and table columns of its own fields', () => {
    const panels = fs.readFileSync(path.resolve(DEVICES_DIR, '../src/web/app/panels/index.ts'), 'utf8')
    for (const id of KIND_IDS) {
      const view = (KINDS[id] as KindDefinition).view
      if (view?.panel)
        expect(panels, `${id} panel ${view.panel}`).toMatch(new RegExp(`^\\s+${view.panel}:`, 'm'))
      for (const c of view?.columns ?? []) expect(Object.keys(KINDS[id].state), id).toContain(c.field)
      for (const c of view?.columns ?? [])
        if (c.limitParam) expect(Object.keys(KINDS[id].params), id).toContain(c.limitParam)
    }
  })
})
