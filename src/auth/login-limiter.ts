/**
 * Login throttle: per client address and per username, a fixed number of failures in a window, then
 * refusal until the window passes. A success clears the username's count. In memory: a restart resets
 * it, which is fine for a throttle whose only job is to make password guessing slow.
 *
 * Attempts are reserved before the password is checked (`reserve`): a check takes tens of ms of scrypt,
 * and counting only finished failures would let a burst of parallel guesses all pass the gate first.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>()
  /** Attempts being checked right now, per key: they count against the limit like failures. */
  private readonly inFlight = new Map<string, number>()

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the next attempt is allowed; 0 = go ahead. */
  retryAfter(ip: string, username: string): number {
    const t = this.now()
    let wait = 0
    for (const key of keys(ip, username)) {
      const recent = this.recent(key, t)
      const max = this.max(key)
      if (recent.length >= max) wait = Math.max(wait, recent[0]! + this.windowMs - t)
      // Full only because of attempts still being checked: they settle within a second.
      else if (recent.length + (this.inFlight.get(key) ?? 0) >= max) wait = Math.max(wait, 1000)
    }
    return Math.ceil(wait / 1000)
  }

  /**
   * Take a slot for one attempt: the seconds to wait when there is none, else the attempt, which must
   * end with one of `failed()`, `succeeded()` or `cancelled()` (not checked: counts as nothing).
   */
  reserve(ip: string, username: string): number | LoginAttempt {
    const wait = this.retryAfter(ip, username)
    if (wait > 0) return wait
    const held = keys(ip, username)
    for (const key of held) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1)
    let open = true
    const release = () => {
      if (!open) return false
      open = false
      for (const key of held) {
        const n = (this.inFlight.get(key) ?? 1) - 1
        if (n > 0) this.inFlight.set(key, n)
        else this.inFlight.delete(key)
      }
      return true
    }
    return {
      failed: () => {
        if (release()) this.fail(ip, username)
      },
      succeeded: () => {
        if (release()) this.succeed(username)
      },
      cancelled: () => {
        release()
      },
    }
  }

  fail(ip: string, username: string): void {
    const t = this.now()
    for (const key of keys(ip, username)) this.failures.set(key, [...this.recent(key, t), t])
    if (this.failures.size > 10_000) this.sweep(t)
  }

  succeed(username: string): void {
    this.failures.delete(`user:${username}`)
  }

  /** An address gets more room than a username: several people share one office NAT. */
  private max(key: string): number {
    return key.startsWith('ip:') ? this.maxFailures * 4 : this.maxFailures
  }

  private recent(key: string, t: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => at > t - this.windowMs)
  }

  private sweep(t: number): void {
    for (const [key, list] of this.failures)
      if (!list.some((at) => at > t - this.windowMs)) this.failures.delete(key)
  }
}

export interface LoginAttempt {
  failed(): void
  succeeded(): void
  cancelled(): void
}

function keys(ip: string, username: string): string[] {
  return [`ip:${ip}`, `user:${username}`]
}

/**
 * At most `limit` password checks at once (scrypt runs on libuv's 4 threads, which file I/O and DNS
 * share), at most `queue` more waiting; beyond that a login is refused at once rather than queued.
 */
export class CheckGate {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly limit = 2,
    private readonly queue = 32,
  ) {}

  /** Run `check` when a slot is free; undefined (not run) when the queue is full. */
  async run<T>(check: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.queue) return undefined
      // The finishing check hands its slot over (running stays counted), so nobody overtakes.
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else this.running++
    try {
      return { value: await check() }
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }
}
