import type { ZoneTrigger } from '../../../devices/types.ts'
import type { Effects, Primitive } from '../state.ts'
import { holdTimer, rearmHold, step } from './held.ts'

/**
 * `zone`: a held condition over the aggregate of a zone subject (occupied / free / unknown bays of an
 * estate's zone), with the alert's `for` and `clear_for`. The engine keeps the aggregate.
 */
export function zonePrimitive(fx: Effects): Primitive<ZoneTrigger> {
  return {
    onInput(t, at) {
      const trig = t.trigger
      const agg = t.subject.agg!
      const p = t.alert.params
      step(fx, t, trig.when(agg, p), trig.clearWhen(agg, p), p.for ?? 0, p.clear_for ?? 0, at)
    },
    onTimer: holdTimer(fx),
    rearm(t) {
      const p = t.alert.params
      rearmHold(fx, t, p.for ?? 0, p.clear_for ?? 0)
    },
  }
}
