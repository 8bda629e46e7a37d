import type { RateTrigger } from '../../../devices/types.ts'
import { CLEARING, type Effects, type Primitive, RAISED, raiseTrigger } from '../state.ts'

/** Samples kept per trigger: enough for a window at any sane reporting rate, bounded for a chatty device. */
const MAX_SAMPLES = 64

/**
 * `rate`: the message's `field` rose by `rise` within `window` (over the lowest sample in it).
 * Clears after `clear_for` without such a rise. State: `samples` ([time, value]), `mark` (last rise).
 */
export function ratePrimitive(fx: Effects): Primitive<RateTrigger> {
  return {
    onInput(t, at) {
      const trig = t.trigger
      const value = t.subject.ctx.input?.[trig.field]
      if (typeof value !== 'number') return
      const p = t.alert.params
      const window = p[trig.window] ?? 600_000
      if (!t.samples) t.samples = []
      const samples = t.samples
      samples.push([at, value])
      while (samples.length > 0 && (samples[0]![0] < at - window || samples.length > MAX_SAMPLES))
        samples.shift()
      let min = value
      for (const [, v] of samples) if (v < min) min = v
      fx.touch(t)
      if (value - min < (p[trig.rise] ?? Number.POSITIVE_INFINITY)) return
      t.mark = at
      if (t.phase !== RAISED) {
        t.since = at
        raiseTrigger(fx, t, at, at + (p[trig.clearFor ?? 'clear_for'] ?? 600_000), { rise: value - min })
      } else {
        fx.arm(t, at + (p[trig.clearFor ?? 'clear_for'] ?? window))
      }
    },
    onTimer(t, at) {
      if (t.phase === CLEARING || t.phase === RAISED) fx.clearTrigger(t, at)
    },
    rearm(t) {
      const p = t.alert.params
      const trig = t.trigger
      if (t.phase === RAISED)
        fx.arm(t, t.mark + (p[trig.clearFor ?? 'clear_for'] ?? p[trig.window] ?? 600_000))
    },
  }
}
