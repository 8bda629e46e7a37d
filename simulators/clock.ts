/**
 * The simulated clock: a discrete-event scheduler over simulated epoch milliseconds.
 *
 * - `speed` N: simulated time runs N× faster than the wall clock once `run()` is called.
 * - Without `run()`, time only moves with `advance()`/`advanceTo()`, as fast as the CPU allows
 *   (deterministic timelines, `--dry-run`, unit tests).
 *
 * Timers fire in (time, creation order), so a seeded simulation produces the same timeline however
 * the wall clock happens to slice it.
 */

export interface Timer {
  readonly at: number
  cancel(): void
}

interface Entry {
  at: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/** Longest wall-clock sleep of the real-time loop, so a speed change or stop is noticed quickly. */
const MAX_SLEEP_MS = 250

export class SimClock {
  private current: number
  private readonly heap: Entry[] = []
  private seq = 0
  private loop: NodeJS.Timeout | undefined
  private wallAnchor = 0
  private simAnchor = 0
  private running = false
  private speedFactor: number

  constructor(options: { start?: number; speed?: number } = {}) {
    this.current = options.start ?? Date.now()
    this.speedFactor = options.speed ?? 1
    if (!(this.speedFactor > 0)) throw new Error('speed must be > 0')
  }

  now(): number {
    return this.current
  }

  get speed(): number {
    return this.speedFactor
  }

  /** Pending timers (for tests and the progress line). */
  get pending(): number {
    return this.heap.length
  }

  at(time: number, fn: () => void): Timer {
    const entry: Entry = { at: Math.max(time, this.current), seq: this.seq++, fn, cancelled: false }
    this.push(entry)
    if (this.running) this.wake()
    return {
      at: entry.at,
      cancel: () => {
        entry.cancelled = true
      },
    }
  }

  after(ms: number, fn: () => void): Timer {
    return this.at(this.current + Math.max(0, ms), fn)
  }

  /** Repeat every `ms` of simulated time; the first run is after `firstAfter` (default `ms`). */
  every(ms: number | (() => number), fn: () => void, firstAfter?: number): Timer {
    const period = typeof ms === 'function' ? ms : () => ms
    let timer: Timer
    let cancelled = false
    const tick = () => {
      if (cancelled) return
      fn()
      if (!cancelled) timer = this.after(Math.max(1, period()), tick)
    }
    timer = this.after(firstAfter ?? period(), tick)
    return {
      get at() {
        return timer.at
      },
      cancel: () => {
        cancelled = true
        timer.cancel()
      },
    }
  }

  /** Run every timer due up to `time` (inclusive), in order, then set the clock to `time`. */
  advanceTo(time: number): void {
    for (;;) {
      const top = this.heap[0]
      if (!top || top.at > time) break
      this.pop()
      if (top.cancelled) continue
      this.current = top.at
      top.fn()
    }
    if (time > this.current) this.current = time
  }

  advance(ms: number): void {
    this.advanceTo(this.current + ms)
  }

  /** Follow the wall clock at `speed` until `stop()`. */
  run(): void {
    if (this.running) return
    this.running = true
    this.wallAnchor = performance.now()
    this.simAnchor = this.current
    this.wake()
  }

  stop(): void {
    this.running = false
    clearTimeout(this.loop)
    this.loop = undefined
  }

  get isRunning(): boolean {
    return this.running
  }

  private wake(): void {
    clearTimeout(this.loop)
    this.loop = setTimeout(() => this.step(), this.sleepMs())
  }

  private sleepMs(): number {
    let next = this.heap[0]
    while (next?.cancelled) {
      this.pop()
      next = this.heap[0]
    }
    if (!next) return MAX_SLEEP_MS
    const wallDue = this.wallAnchor + (next.at - this.simAnchor) / this.speedFactor
    return Math.min(MAX_SLEEP_MS, Math.max(0, wallDue - performance.now()))
  }

  private step(): void {
    if (!this.running) return
    const target = this.simAnchor + (performance.now() - this.wallAnchor) * this.speedFactor
    this.advanceTo(Math.floor(target))
    if (this.running) this.loop = setTimeout(() => this.step(), this.sleepMs())
  }

  private push(entry: Entry): void {
    const h = this.heap
    h.push(entry)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (h.length > 0 && last) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l]!, h[m]!)) m = l
        if (r < h.length && before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
