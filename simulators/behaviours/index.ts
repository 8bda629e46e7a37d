import { KINDS, type KindId } from '../../devices/index.ts'
import { type KindDefinition, simulatorOf } from '../../devices/types.ts'
import { aiCameraBehaviour } from './ai_camera.ts'
import { elevatorBehaviour } from './elevator.ts'
import { firePassageBehaviour } from './fire_passage.ts'
import { genericBehaviour } from './generic.ts'
import { manholeBehaviour } from './manhole.ts'
import { parkingBayBehaviour } from './parking_bay.ts'
import { perimeterBehaviour } from './perimeter.ts'
import { sosButtonBehaviour } from './sos_button.ts'
import type { BehaviourContext, BehaviourFactory } from './types.ts'

/**
 * The named behaviours a kind may choose (`simulator.behaviour` in devices/<kind>.ts). A kind that
 * names none gets the generic behaviour derived from its definition, so a new kind simulates with no
 * file here.
 */
export const NAMED_BEHAVIOURS: Record<string, BehaviourFactory<KindId>> = {
  ai_camera: aiCameraBehaviour as BehaviourFactory<KindId>,
  elevator: elevatorBehaviour as BehaviourFactory<KindId>,
  fire_passage: firePassageBehaviour as BehaviourFactory<KindId>,
  manhole: manholeBehaviour as BehaviourFactory<KindId>,
  parking_bay: parkingBayBehaviour as BehaviourFactory<KindId>,
  perimeter: perimeterBehaviour as BehaviourFactory<KindId>,
  sos_button: sosButtonBehaviour as BehaviourFactory<KindId>,
}

/** The behaviour of a kind, as its definition names it. */
export function behaviourFor(kind: KindId, def: KindDefinition = KINDS[kind]): BehaviourFactory<KindId> {
  const name = simulatorOf(def).behaviour
  if (name === undefined) return (ctx: BehaviourContext<KindId>) => genericBehaviour(ctx, def)
  const named = NAMED_BEHAVIOURS[name]
  if (!named)
    throw new Error(`kind ${def.id} names the behaviour "${name}", which simulators/behaviours/ lacks`)
  return named
}
