import type { Trigger } from '../../../devices/types.ts'
import type { Effects, Primitive } from '../state.ts'
import { countPrimitive } from './count.ts'
import { eventPrimitive } from './event.ts'
import { heldPrimitive } from './held.ts'
import { offlinePrimitive } from './offline.ts'
import { ratePrimitive } from './rate.ts'
import { zonePrimitive } from './zone.ts'

export type Primitives = { [K in Trigger['primitive']]: Primitive<Extract<Trigger, { primitive: K }>> }

/** One state machine per primitive of devices/types.ts, working through the engine's effects. */
export function primitives(fx: Effects): Primitives {
  return {
    held: heldPrimitive(fx),
    event: eventPrimitive(fx),
    count: countPrimitive(fx),
    rate: ratePrimitive(fx),
    zone: zonePrimitive(fx),
    offline: offlinePrimitive(fx),
  }
}
