import type { KindId } from '../../devices/index.ts'
import type { ActionArgs } from '../behaviours/types.ts'
import type { Target } from '../fleet.ts'

/** An alert type the rule engine raises: `<kind>.<type>`, e.g. `elevator.trapped`. */
export type AlertType = `${KindId}.${string}`

export interface ScenarioStep {
  /** Time of day ("10:02:00", on the scenario's clock) or an offset from its start ("+90s", "+2m"). */
  at: string
  /** A device id, a list of ids, `'*'`, or a selector such as `{ kind: 'parking_bay', count: 50 }`. */
  target: Target
  /** An action of the target's kind (see simulators/README.md), or `silence` / `drop` for any device. */
  do: string
  with?: ActionArgs
  /**
   * Alert types this step raises on each of its targets, once each: through a real hub an exact
   * scenario raises these (per device and count) and nothing else (test/integration/simulators).
   */
  raises?: AlertType[]
}

/**
 * A scripted, seeded timeline. TypeScript rather than YAML so device actions, alert types and
 * selectors are checked by the compiler, and a scenario can compute its steps.
 */
export interface Scenario {
  name: string
  title: string
  description: string
  /** Estate it is written for, relative to the repository root. */
  estate: string
  /** At least this many devices (synthesised beyond the estate's own; see `--generate-estate`). */
  devices?: number
  /** Only the estate's devices of these kinds take part (default: all). */
  kinds?: KindId[]
  /** Only the devices of these estates (ids in the estate file) take part (default: all of the street). */
  estates?: string[]
  /** Time of day the simulated clock starts at (drives day curves; `at` times are on this clock). */
  start: string
  /** How long the scripted part lasts, in simulated time. */
  duration: string
  seed: number
  /** Random faults per device and simulated hour on top of the script (0 for exact scenarios). */
  faultRate: number
  /** Alert types the scenario should produce through a real hub (exact scenarios: `raisedBy(steps)`). */
  expect: AlertType[]
  /** True: exactly those alerts and no others. False: at least those (background faults add more). */
  exact: boolean
  steps: ScenarioStep[]
}

/** The alert types a scenario's steps declare, in first-seen order: an exact scenario's `expect`. */
export function raisedBy(steps: ScenarioStep[]): AlertType[] {
  return [...new Set(steps.flatMap((s) => s.raises ?? []))]
}
