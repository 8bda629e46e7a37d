import type { AlertDefinition, KindDefinition, ParamValues } from '../../devices/types.ts'
import { ZhianError } from '../errors.ts'
import { parseDuration } from './duration.ts'
import { parseSchedule, type Schedule } from './schedule.ts'

/** One alert of the catalogue, with its id and default parameters resolved. */
export interface CatalogAlert {
  /** `<kind>.<type>` */
  id: string
  kind: string
  type: string
  def: AlertDefinition
  defaults: ParamValues
  /** Its `schedule` params, parsed (not numbers: not in `defaults`). */
  schedules: Record<string, Schedule>
  /** The alert raises on a zone aggregate, not on one device. */
  zone: boolean
  offline: boolean
  /** Counts as a fire alarm for cross-device conditions: the alert's own `fire: true`. */
  fire: boolean
}

export type Catalog = Map<string, CatalogAlert>
/** `overrides.<estate>.<kind>.<type>.<param>` as the estate file gives them (loosely typed). */
export type Overrides = Record<string, Record<string, Record<string, string | number | boolean>>>

export function buildCatalog(kinds: Record<string, KindDefinition>): Catalog {
  const out: Catalog = new Map()
  for (const [kind, k] of Object.entries(kinds)) {
    for (const [type, def] of Object.entries(k.alerts)) {
      const id = `${kind}.${type}`
      const defaults: ParamValues = {}
      const schedules: Record<string, Schedule> = {}
      for (const [name, spec] of Object.entries(def.params)) {
        if (spec.type === 'schedule') {
          const sched = parseSchedule(spec.default)
          if (typeof sched === 'string') throw new Error(`${id}.${name}: ${sched}`)
          schedules[name] = sched
          continue
        }
        const value = spec.type === 'duration' ? parseDuration(spec.default) : spec.default
        if (value === undefined) throw new Error(`${id}.${name}: bad default duration "${spec.default}"`)
        defaults[name] = value
      }
      out.set(id, {
        id,
        kind,
        type,
        def,
        defaults,
        schedules,
        zone: def.triggers.some((t) => t.primitive === 'zone'),
        offline: def.triggers.some((t) => t.primitive === 'offline'),
        fire: def.fire === true,
      })
    }
  }
  return out
}

/**
 * Validate the estate file's overrides against the catalogue and resolve them: estate → alert id →
 * full parameter set. An unknown alert, unknown parameter or bad value is a config error naming
 * `overrides.<estate>.<alert>.<param>`.
 */
export function resolveOverrides(
  catalog: Catalog,
  overrides: Overrides,
): Map<string, Map<string, ParamValues>> {
  const out = new Map<string, Map<string, ParamValues>>()
  for (const [estate, byAlert] of Object.entries(overrides)) {
    const resolved = new Map<string, ParamValues>()
    for (const [alertId, params] of Object.entries(byAlert)) {
      const where = `overrides.${estate}.${alertId}`
      const entry = catalog.get(alertId)
      if (!entry) {
        throw new ZhianError(
          'ZHIAN_ERR_CONFIG_INVALID',
          `${where}: unknown alert type "${alertId}" (use <kind>.<type>, e.g. fire_passage.blocked)`,
        )
      }
      const values: ParamValues = { ...entry.defaults }
      for (const [name, raw] of Object.entries(params)) {
        const spec = entry.def.params[name]
        if (!spec) {
          const known = Object.keys(entry.def.params).join(', ') || 'none'
          throw new ZhianError(
            'ZHIAN_ERR_CONFIG_INVALID',
            `${where}.${name}: unknown parameter "${name}" (known: ${known})`,
          )
        }
        if (spec.type === 'schedule') {
          const sched = parseSchedule(raw)
          if (typeof sched === 'string')
            throw new ZhianError('ZHIAN_ERR_CONFIG_INVALID', `${where}.${name}: ${sched}`)
        } else if (spec.type === 'duration') {
          const ms = parseDuration(raw)
          if (ms === undefined) {
            throw new ZhianError(
              'ZHIAN_ERR_CONFIG_INVALID',
              `${where}.${name}: ${JSON.stringify(raw)} is not a duration (e.g. "90s", "5m", "2h")`,
            )
          }
          values[name] = ms
        } else {
          if (typeof raw !== 'number' || raw < spec.min || raw > spec.max) {
            throw new ZhianError(
              'ZHIAN_ERR_CONFIG_INVALID',
              `${where}.${name}: ${JSON.stringify(raw)} must be a number from ${spec.min} to ${spec.max}`,
            )
          }
          values[name] = raw
        }
      }
      resolved.set(alertId, values)
    }
    out.set(estate, resolved)
  }
  return out
}

/** The schedule params in force per estate and alert (defaults plus the estate's overrides), validated by resolveOverrides. */
export function resolveSchedules(
  catalog: Catalog,
  overrides: Overrides,
): Map<string, Map<string, Record<string, Schedule>>> {
  const out = new Map<string, Map<string, Record<string, Schedule>>>()
  for (const [estate, byAlert] of Object.entries(overrides)) {
    const resolved = new Map<string, Record<string, Schedule>>()
    for (const [alertId, params] of Object.entries(byAlert)) {
      const entry = catalog.get(alertId)
      if (!entry) continue
      const schedules = { ...entry.schedules }
      for (const [name, raw] of Object.entries(params)) {
        if (entry.def.params[name]?.type !== 'schedule') continue
        const sched = parseSchedule(raw)
        if (typeof sched !== 'string') schedules[name] = sched
      }
      resolved.set(alertId, schedules)
    }
    out.set(estate, resolved)
  }
  return out
}
