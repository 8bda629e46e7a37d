import type { CountTrigger } from '../../../devices/types.ts'
import { CLEARING, type Effects, type Primitive, RAISED, raiseTrigger, type TriggerRt } from '../state.ts'

/**
 * `count`: `count` hits within `window` raise. A hit is a message matching `hit`, an episode of
 * `episode` that lasted `confirm` and ended, or a raise of a sibling alert named in `onRaised`.
 * Clears when `clearWhen` holds, else after `clear_for` (default: the window) without a hit.
 * State: `hits` (times within the window), `mark` (last hit), `episodeSince`.
 */
export function countPrimitive(fx: Effects): Primitive<CountTrigger> {
  const hit = (t: TriggerRt<CountTrigger>, at: number): void => {
    const trig = t.trigger
    const p = t.alert.params
    const need = p[trig.count ?? 'count'] ?? 3
    const window = p[trig.window ?? 'window'] ?? 3_600_000
    if (!t.hits) t.hits = []
    const hits = t.hits
    if (trig.distinct) {
      // One entry per key, its latest time: the tally is of different keys (two beams, not one twice).
      const key = String(trig.distinct(t.subject.ctx))
      if (!t.keys) t.keys = []
      const keys = t.keys
      const same = keys.indexOf(key)
      if (same >= 0) {
        keys.splice(same, 1)
        hits.splice(same, 1)
      }
      keys.push(key)
      hits.push(at)
      while (hits.length > 0 && (hits[0]! <= at - window || hits.length > need)) {
        hits.shift()
        keys.shift()
      }
    } else {
      hits.push(at)
      while (hits.length > 0 && (hits[0]! <= at - window || hits.length > need)) hits.shift()
    }
    t.mark = at
    if (t.phase !== RAISED && hits.length >= need) {
      t.since = hits[0]!
      raiseTrigger(fx, t, at, trig.clearWhen ? undefined : at + quiet(t))
    } else if (t.phase === RAISED && !trig.clearWhen) {
      fx.arm(t, at + quiet(t))
    }
    fx.touch(t)
  }

  /** True once per episode that held for at least `confirm` and has just ended (a settled movement, not a spike). */
  const episodeEnded = (t: TriggerRt<CountTrigger>, at: number): boolean => {
    const trig = t.trigger
    if (!trig.episode) return false
    const active = trig.episode(t.subject.ctx)
    if (active) {
      if (t.episodeSince === undefined) {
        t.episodeSince = at
        fx.touch(t)
      }
      return false
    }
    if (t.episodeSince === undefined) return false
    const lasted = at - t.episodeSince
    t.episodeSince = undefined
    fx.touch(t)
    return lasted >= (trig.confirm ? (t.alert.params[trig.confirm] ?? 0) : 0)
  }

  return {
    onInput(t, at) {
      const trig = t.trigger
      if (trig.hit?.(t.subject.ctx) || episodeEnded(t, at)) hit(t, at)
      else if (trig.clearWhen?.(t.subject.ctx)) {
        if (t.phase === RAISED) fx.clearTrigger(t, at)
        else if (t.hits?.length) {
          // e.g. a normal trip between door cycles: the tally starts over.
          t.hits = []
          if (t.keys) t.keys = []
          fx.touch(t)
        }
      }
    },
    onRaised(t, type, at) {
      if (t.trigger.onRaised?.includes(type)) hit(t, at)
    },
    onTimer(t, at) {
      if (t.phase === CLEARING || t.phase === RAISED) fx.clearTrigger(t, at)
    },
    rearm(t) {
      if (t.phase === RAISED && !t.trigger.clearWhen) fx.arm(t, t.mark + quiet(t))
    },
  }
}

function quiet(t: TriggerRt<CountTrigger>): number {
  const p = t.alert.params
  const trig = t.trigger
  return p[trig.clearFor ?? 'clear_for'] ?? p[trig.window ?? 'window'] ?? 3_600_000
}
