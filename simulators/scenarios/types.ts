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
  /** Time of day the simulated clock starts at (drives day curves; `at` times are on this clock). */
  start: string
  /** How long the scripted part lasts, in simulated time. */
  duration: string
  seed: number
  /** Random faults per device and simulated hour on top of the script (0 for exact scenarios). */
  faultRate: number
  /** Alert types the scenario should produce through a real hub. */
  expect: AlertType[]
  /** True: exactly those alerts and no others. False: at least those (background faults add more). */
  exact: boolean
  steps: ScenarioStep[]
}
