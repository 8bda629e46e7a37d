import type { HeldTrigger } from '../../../devices/types.ts'
import {
  CLEARING,
  type Effects,
  IDLE,
  PENDING,
  type Primitive,
  RAISED,
  raiseTrigger,
  type TriggerRt,
} from '../state.ts'

/**
 * `held`: a condition held for `for` raises — by a timer, not the next message —, and `clearWhen`
 * (default: the condition is false; hysteresis when given) held for `clear_for` clears.
 * idle → pending (timer at since + for) → raised → clearing (timer at mark + clear_for) → idle.
 */
export function heldPrimitive(fx: Effects): Primitive<HeldTrigger> {
  return {
    onInput(t, at) {
      const trig = t.trigger
      const ctx = t.subject.ctx
      const on = trig.when(ctx)
      const off = t.phase >= RAISED ? (trig.clearWhen ? trig.clearWhen(ctx) : !on) : !on
      step(fx, t, on, off, hold(t), quiet(t), at)
    },
    onTimer: holdTimer(fx),
    rearm(t) {
      rearmHold(fx, t, hold(t), quiet(t))
    },
  }
}

function hold(t: TriggerRt<HeldTrigger>): number {
  const trig = t.trigger
  if (trig.for === false) return 0
  return t.alert.params[trig.for ?? 'for'] ?? 0
}

function quiet(t: TriggerRt<HeldTrigger>): number {
  return t.alert.params[t.trigger.clearFor ?? 'clear_for'] ?? 0
}

/** The held / hysteresis state machine, shared with zone triggers. */
export function step(
  fx: Effects,
  t: TriggerRt,
  on: boolean,
  off: boolean,
  hold: number,
  quiet: number,
  at: number,
): void {
  if (t.phase === IDLE) {
    if (!on) return
    t.since = at
    if (hold <= 0) {
      raiseTrigger(fx, t, at)
      return
    }
    t.phase = PENDING
    fx.arm(t, at + hold)
  } else if (t.phase === PENDING) {
    if (on) return
    t.phase = IDLE
    fx.disarm(t)
  } else if (t.phase === RAISED) {
    if (!off) return
    if (quiet <= 0) {
      fx.clearTrigger(t, at)
      return
    }
    t.phase = CLEARING
    t.mark = at
    fx.arm(t, at + quiet)
  } else {
    if (off) return
    t.phase = RAISED
    fx.disarm(t)
  }
  fx.touch(t)
}

/** The hold ran out (pending → raised) or the quiet time did (clearing → idle). */
export function holdTimer(fx: Effects): (t: TriggerRt, at: number) => void {
  return (t, at) => {
    if (t.phase === PENDING) raiseTrigger(fx, t, at)
    else if (t.phase === CLEARING || t.phase === RAISED) fx.clearTrigger(t, at)
  }
}

/** After a restore: a hold or quiet time runs on from its stored start. */
export function rearmHold(fx: Effects, t: TriggerRt, hold: number, quiet: number): void {
  if (t.phase === PENDING) fx.arm(t, t.since + hold)
  if (t.phase === CLEARING) fx.arm(t, t.mark + quiet)
}
