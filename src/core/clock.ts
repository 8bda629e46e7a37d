/**
 * Time, injected so the rule engine, dispatch and the report schedule stay testable: the hub uses
 * RealClock, tests FakeClock. Timers take an absolute due time (epoch ms), which is what a restored
 * rule state or a stored deadline knows.
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

const SYSTEM_TIME = { wall: () => Date.now(), mono: () => performance.now() }

/** setTimeout caps at 2^31−1 ms (~24.8 days); longer timers (72 h overstay, 30 d windows) hop. */
const MAX_DELAY = 2 ** 31 - 1

class RealTimer implements TimerHandle {
  timeout: NodeJS.Timeout | undefined
  constructor(readonly due: number) {}
}

/**
 * The hub's time: the wall clock read once at start, then moved on by the monotonic clock. Durations
 * — rule `for` windows, escalation steps, SLA timers, reminders — therefore follow elapsed time: a
 * wall-clock step (an NTP correction, a VM resumed) moves none of them. Real downtime is still seen:
 * the next start reads the wall clock again. `sources` are for tests.
 */
export class RealClock implements Clock {
  private readonly wallAtStart: number
  private readonly monoAtStart: number

  constructor(private readonly sources: { wall: () => number; mono: () => number } = SYSTEM_TIME) {
    this.wallAtStart = sources.wall()
    this.monoAtStart = sources.mono()
  }

  now(): number {
    return Math.floor(this.wallAtStart + (this.sources.mono() - this.monoAtStart))
  }

  /** How far the wall clock has stepped away from this clock since start (ms, positive: ahead). */
  drift(): number {
    return this.sources.wall() - this.now()
  }

  setTimer(due: number, fn: () => void): TimerHandle {
    const timer = new RealTimer(due)
    // Node's timers keep their own millisecond time and may fire a little before this clock reads
    // `due`: then wait again for the rest, so a timer never runs before its due time here.
    const arm = (first: boolean) => {
      const delay = due - this.now()
      if (delay <= 0 && !first) return fn()
      timer.timeout = setTimeout(() => arm(false), Math.min(Math.max(0, delay), MAX_DELAY))
      timer.timeout.unref()
    }
    arm(true)
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

class SwitchTimer implements TimerHandle {
  inner: TimerHandle | undefined
  onVirtual = false
  constructor(
    readonly due: number,
    readonly fn: () => void,
  ) {}
}

/**
 * The rule engine's clock. At start it runs on virtual time while the rules catch up on the journal
 * (begin → advanceTo each replayed record's time, firing the timers due before it in order → end):
 * a record is applied to the state it met the first time, and a timer's effect happens at its due
 * time, as it did before the crash. end() moves on to the present and hands the remaining timers to
 * the real clock.
 */
export class CatchUpClock implements Clock {
  private virtual: FakeClock | undefined
  private readonly pending = new Set<SwitchTimer>()

  constructor(private readonly real: Clock) {}

  get catchingUp(): boolean {
    return this.virtual !== undefined
  }

  now(): number {
    return this.virtual?.now() ?? this.real.now()
  }

  setTimer(due: number, fn: () => void): TimerHandle {
    const timer = new SwitchTimer(due, fn)
    const virtual = this.virtual
    if (virtual) {
      timer.onVirtual = true
      this.pending.add(timer)
      timer.inner = virtual.setTimer(due, () => {
        this.pending.delete(timer)
        fn()
      })
    } else timer.inner = this.real.setTimer(due, fn)
    return timer
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return
    const timer = handle as SwitchTimer
    if (timer.onVirtual) {
      this.pending.delete(timer)
      this.virtual?.clearTimer(timer.inner)
    } else this.real.clearTimer(timer.inner)
  }

  /** Virtual time from `at` (never later than now). */
  begin(at: number): void {
    this.virtual = new FakeClock(Math.min(at, this.real.now()))
  }

  /** Move virtual time to `at` (not back, not past now), firing what falls due on the way. */
  advanceTo(at: number): void {
    const virtual = this.virtual
    if (!virtual) return
    const to = Math.min(at, this.real.now())
    if (to > virtual.now()) virtual.advance(to - virtual.now())
  }

  /** Catch up to the present, then hand every timer still waiting to the real clock. */
  end(): void {
    if (!this.virtual) return
    this.advanceTo(this.real.now())
    this.virtual = undefined
    for (const timer of this.pending) {
      timer.onVirtual = false
      timer.inner = this.real.setTimer(timer.due, timer.fn)
    }
    this.pending.clear()
  }
}
