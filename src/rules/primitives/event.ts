import type { EventTrigger } from '../../../devices/types.ts'
import { CLEARING, type Effects, type Primitive, RAISED } from '../state.ts'

/**
 * `onEvent`: every matching message raises; one while raised is a re-trigger. Stays raised until a
 * person resolves it, or until `clear_for` passes without another (when the alert names one).
 */
export function eventPrimitive(fx: Effects): Primitive<EventTrigger> {
  return {
    onInput(t, at) {
      if (!t.trigger.on(t.subject.ctx)) return
      const again = t.phase === RAISED
      t.phase = RAISED
      t.since = at
      const quiet = quietOf(t.trigger, t.alert.params)
      if (quiet > 0) fx.arm(t, at + quiet)
      fx.touch(t)
      fx.raiseAlert(t, at, again)
    },
    onTimer(t, at) {
      if (t.phase === CLEARING || t.phase === RAISED) fx.clearTrigger(t, at)
    },
    rearm(t) {
      const quiet = quietOf(t.trigger, t.alert.params)
      if (t.phase === RAISED && quiet > 0) fx.arm(t, t.since + quiet)
    },
  }
}

function quietOf(trig: EventTrigger, p: Record<string, number>): number {
  return trig.clearFor ? (p[trig.clearFor] ?? 0) : 0
}
