import type { KindId } from '../../devices/index.ts'
import { elevatorBehaviour } from './elevator.ts'
import { firePassageBehaviour } from './fire_passage.ts'
import { manholeBehaviour } from './manhole.ts'
import { parkingBayBehaviour } from './parking_bay.ts'
import type { BehaviourFactory } from './types.ts'

/** One behaviour per device kind; the `satisfies` makes a new kind in devices/ a compile error here until it has one. */
export const BEHAVIOURS = {
  elevator: elevatorBehaviour,
  fire_passage: firePassageBehaviour,
  manhole: manholeBehaviour,
  parking_bay: parkingBayBehaviour,
} satisfies { [K in KindId]: BehaviourFactory<K> }
