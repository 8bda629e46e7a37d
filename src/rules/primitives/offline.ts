import type { OfflineTrigger } from '../../../devices/types.ts'
import { type Effects, type Primitive, RAISED, type Subject, type TriggerRt } from '../state.ts'

/**
 * `OFFLINE`: no message for the interval × `missed` + `grace`, the interval from the device's
 * `info.interval_s` or its kind. One timer per device, re-armed lazily: a message only moves the
 * subject's `lastSeen` (`onInput` is a life sign), the timer checks it when it falls due. After a
 * restart every device gets a full window from hub start: the hub being down is not device silence.
 */
export function offlinePrimitive(fx: Effects): Primitive<OfflineTrigger> {
  const arm = (t: TriggerRt<OfflineTrigger>): void => fx.arm(t, dueOf(fx, t.subject))
  return {
    onInput(t, at) {
      if (t.alert.raised) fx.clearTrigger(t, at)
      if (!t.timer) arm(t)
    },
    onTimer(t) {
      // Raised at the moment the window ran out, the same when a restarted hub replays it.
      const due = dueOf(fx, t.subject)
      if (fx.now() < due) {
        arm(t)
        return
      }
      if (t.alert.raised) return
      t.phase = RAISED
      t.since = t.subject.lastSeen
      fx.touch(t)
      fx.raiseAlert(t, due, false)
    },
    rearm(t) {
      if (!t.alert.raised) arm(t)
    },
  }
}

function dueOf(fx: Effects, sub: Subject): number {
  const p = sub.offline!.params
  const interval = (sub.intervalS ?? sub.kind.interval_s) * 1000
  const window = interval * (p.missed ?? 2) + (p.grace ?? 0)
  return Math.max(sub.lastSeen, fx.startedAt()) + window
}
