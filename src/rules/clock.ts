/**
 * Time for the rule engine, injected so the core stays pure: the hub uses RealClock, tests FakeClock.
 * Timers take an absolute due time (epoch ms), which is what a restored rule state knows.
 */
export interface TimerHandle {
  readonly due: number
}

export interface Clock {
  now(): number
  /** Run `fn` at `due` (at once, asynchronously, when `due` is past). */
  setTimer(due: number, fn: () => void): TimerHandle
  clearTimer(handle: TimerHandle | undefined): void
}

/** setTimeout caps at 2^31−1 ms (~24.8 days); longer timers (72 h overstay, 30 d windows) hop. */
const MAX_DELAY = 2 ** 31 - 1

class RealTimer implements TimerHandle {
  timeout: NodeJS.Timeout | undefined
  constructor(readonly due: number) {}
}

export class RealClock implements Clock {
  now(): number {
    return Date.now()
  }

  setTimer(due: number, fn: () => void): TimerHandle {
    const timer = new RealTimer(due)
    const arm = () => {
      const delay = due - Date.now()
      if (delay > MAX_DELAY) {
        timer.timeout = setTimeout(arm, MAX_DELAY)
      } else {
        timer.timeout = setTimeout(fn, Math.max(0, delay))
      }
      timer.timeout.unref()
    }
    arm()
    return timer
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle) clearTimeout((handle as RealTimer).timeout)
  }
}

interface FakeTimer extends TimerHandle {
  fn: () => void
  seq: number
  cancelled: boolean
}

/** A clock that only moves when told; `advance` runs due timers in time order. */
export class FakeClock implements Clock {
  private t: number
  private seq = 0
  private timers: FakeTimer[] = []

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  setTimer(due: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { due: Math.max(due, this.t), fn, seq: this.seq++, cancelled: false }
    this.timers.push(timer)
    return timer
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle) (handle as FakeTimer).cancelled = true
  }

  /** Move time forward by `ms` (or to `until`), firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      this.timers = this.timers.filter((x) => !x.cancelled)
      let next: FakeTimer | undefined
      for (const x of this.timers) {
        if (x.due <= end && (!next || x.due < next.due || (x.due === next.due && x.seq < next.seq))) next = x
      }
      if (!next) break
      this.t = Math.max(this.t, next.due)
      next.cancelled = true
      next.fn()
    }
    this.t = end
  }

  /** Timers waiting (for tests that check nothing leaks). */
  get pending(): number {
    return this.timers.filter((x) => !x.cancelled).length
  }
}
