import { type OfflineTrigger, onlineWindowMs } from '../../../devices/types.ts'
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

/** The window is the kind's online rule (`onlineWindowMs`), so live state and the alert agree. */
function dueOf(fx: Effects, sub: Subject): number {
  const window = onlineWindowMs(sub.kind, sub.intervalS, sub.offline!.params)
  return Math.max(sub.lastSeen, fx.startedAt()) + window
}
