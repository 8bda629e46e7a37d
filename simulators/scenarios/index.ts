import { demo } from './demo.ts'
import { fireNight } from './fire-night.ts'
import { flood } from './flood.ts'
import { gatewayOutage } from './gateway-outage.ts'
import { liftFaults } from './lift-faults.ts'
import { passageBlocked } from './passage-blocked.ts'
import { reconnectStorm } from './reconnect-storm.ts'
import { rollover } from './rollover.ts'
import { trapped } from './trapped.ts'
import type { Scenario } from './types.ts'

/** Every scenario, by name (`zhian simulate --scenario NAME`). */
export const SCENARIOS: Record<string, Scenario> = Object.fromEntries(
  [demo, trapped, passageBlocked, flood, gatewayOutage, reconnectStorm, rollover, liftFaults, fireNight].map(
    (s) => [s.name, s],
  ),
)

export type { AlertType, Scenario, ScenarioStep } from './types.ts'
