import path from 'node:path'
import { loadEstateFile } from '../src/config/estate-file.ts'
import type { Timer } from './clock.ts'
import { Fleet, type FleetOptions } from './fleet.ts'
import type { RecordedMessage } from './links.ts'
import { SCENARIOS } from './scenarios/index.ts'
import type { Scenario, ScenarioStep } from './scenarios/types.ts'
import { atTimeOfDay, parseDuration, parseTimeOfDay } from './time.ts'

/** Turning a scenario into timers on a fleet's clock, and running one without a broker. */

export const REPO_ROOT = path.resolve(import.meta.dirname, '..')
const FLEET_ACTIONS = new Set(['silence', 'drop'])

export function findScenario(name: string): Scenario {
  const s = SCENARIOS[name]
  if (!s) throw new Error(`unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})`)
  return s
}

/** Simulated epoch ms at which the scenario begins, on the local day of `day`. */
export function scenarioStart(scenario: Scenario, day = Date.now()): number {
  return atTimeOfDay(day, parseTimeOfDay(scenario.start))
}

/** Offset of a step from the scenario start, in simulated ms. */
export function stepOffset(scenario: Scenario, step: ScenarioStep): number {
  if (step.at.startsWith('+')) return parseDuration(step.at.slice(1))
  const offset = parseTimeOfDay(step.at) - parseTimeOfDay(scenario.start)
  if (offset < 0)
    throw new Error(`${scenario.name}: step at ${step.at} is before the start ${scenario.start}`)
  return offset
}

/** Fleet options a scenario implies (estate, size, seed, start, fault rate); callers add url, speed… */
export function scenarioFleetOptions(scenario: Scenario, day = Date.now()): FleetOptions {
  const estate = loadEstateFile(path.resolve(REPO_ROOT, scenario.estate))
  const kinds = scenario.kinds
  if (kinds) estate.devices = estate.devices.filter((d) => kinds.includes(d.kind))
  const estates = scenario.estates
  if (estates) {
    const unknown = estates.filter((e) => !estate.devices.some((d) => d.estate === e))
    if (unknown.length > 0) throw new Error(`${scenario.name}: no devices in estate ${unknown.join(', ')}`)
    estate.devices = estate.devices.filter((d) => estates.includes(d.estate))
  }
  return {
    estate,
    devices: scenario.devices,
    seed: scenario.seed,
    start: scenarioStart(scenario, day),
    faultRate: scenario.faultRate,
  }
}

/**
 * Check every step against the fleet (targets exist, their kind knows the action) and schedule it on
 * the fleet's clock, relative to the clock's current time. Returns the timers.
 */
export function scheduleScenario(fleet: Fleet, scenario: Scenario, log?: (line: string) => void): Timer[] {
  const origin = fleet.clock.now()
  const planned = scenario.steps.map((step) => {
    const ids = fleet.resolve(step.target)
    if (!FLEET_ACTIONS.has(step.do)) {
      for (const id of ids) {
        if (!fleet.device(id).behaviour.actions[step.do]) {
          throw new Error(`${scenario.name}: ${fleet.device(id).kind} ${id} has no action "${step.do}"`)
        }
      }
    }
    return { step, ids, at: origin + stepOffset(scenario, step) }
  })
  return planned.map(({ step, ids, at }) =>
    fleet.clock.at(at, () => {
      log?.(
        `${step.do} → ${ids.length > 3 ? `${ids.length} devices` : ids.join(', ')} ${step.with ? JSON.stringify(step.with) : ''}`,
      )
      fleet.act(ids, step.do, step.with ?? {})
    }),
  )
}

/**
 * Play a scenario without a broker, as fast as the CPU allows, and return every message the devices
 * would have sent. Same scenario and seed → the same messages (the deterministic timeline).
 */
export async function recordScenario(
  scenario: Scenario,
  options: { seed?: number; day?: number; duration?: string } = {},
): Promise<RecordedMessage[]> {
  const messages: RecordedMessage[] = []
  const base = scenarioFleetOptions(scenario, options.day ?? Date.UTC(2026, 0, 15, 12))
  const fleet = new Fleet({
    ...base,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    record: (m) => messages.push(m),
  })
  await fleet.start()
  scheduleScenario(fleet, scenario)
  fleet.clock.advance(parseDuration(options.duration ?? scenario.duration))
  await fleet.stop()
  return messages
}
