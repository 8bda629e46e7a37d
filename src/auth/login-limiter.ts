/**
 * Login throttle, in three tiers so that guessing from one place cannot lock the owner out elsewhere:
 * - one user from one source address (`pair`): a few failures, then that pair waits;
 * - one user from anywhere (`user`): only at a much higher count (a spread-out guess);
 * - one source address for any user (`address`): higher still (an office NAT holds many people).
 * A pair that has logged in successfully before (`trusted`, told by the caller from the audit) is held
 * by its own pair tier only: an attacker elsewhere fills the user and address tiers, never the pair's.
 * A success clears the pair's count. In memory: a restart resets it, which is fine for a throttle
 * whose only job is to make password guessing slow.
 *
 * Attempts are reserved before the password is checked (`reserve`): a check takes tens of ms of scrypt,
 * and counting only finished failures would let a burst of parallel guesses all pass the gate first.
 */
export type ThrottleTier = 'pair' | 'user' | 'address'

export interface TierLimit {
  max: number
  windowMs: number
}

export const LOGIN_POLICY: Record<ThrottleTier, TierLimit> = {
  pair: { max: 5, windowMs: 5 * 60_000 },
  user: { max: 50, windowMs: 15 * 60_000 },
  address: { max: 100, windowMs: 15 * 60_000 },
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>()
  /** Attempts being checked right now, per key: they count against the limit like failures. */
  private readonly inFlight = new Map<string, number>()

  constructor(
    private readonly policy: Record<ThrottleTier, TierLimit> = LOGIN_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the next attempt is allowed; 0 = go ahead. */
  retryAfter(ip: string, username: string, trusted = false): number {
    const t = this.now()
    let wait = 0
    for (const { key, tier } of keys(ip, username, trusted)) {
      const { max, windowMs } = this.policy[tier]
      const recent = this.recent(key, t, windowMs)
      if (recent.length >= max) wait = Math.max(wait, recent[recent.length - max]! + windowMs - t)
      // Full only because of attempts still being checked: they settle within a second.
      else if (recent.length + (this.inFlight.get(key) ?? 0) >= max) wait = Math.max(wait, 1000)
    }
    return Math.ceil(wait / 1000)
  }

  /**
   * Take a slot for one attempt: the seconds to wait when there is none, else the attempt, which must
   * end with one of `failed()`, `succeeded()` or `cancelled()` (not checked: counts as nothing).
   */
  reserve(ip: string, username: string, trusted = false): number | LoginAttempt {
    const wait = this.retryAfter(ip, username, trusted)
    if (wait > 0) return wait
    const held = keys(ip, username, trusted).map((k) => k.key)
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
      failed: () => (release() ? this.fail(ip, username) : []),
      succeeded: () => {
        if (release()) this.succeed(ip, username)
      },
      cancelled: () => {
        release()
      },
    }
  }

  /** Count a failure in every tier; returns the tiers this failure filled (a lockout starts there). */
  fail(ip: string, username: string): ThrottleTier[] {
    const t = this.now()
    const filled: ThrottleTier[] = []
    for (const { key, tier } of keys(ip, username, false)) {
      const { max, windowMs } = this.policy[tier]
      const list = [...this.recent(key, t, windowMs), t]
      this.failures.set(key, list)
      if (list.length === max) filled.push(tier)
    }
    if (this.failures.size > 10_000) this.sweep(t)
    return filled
  }

  succeed(ip: string, username: string): void {
    this.failures.delete(pairKey(ip, username))
  }

  private recent(key: string, t: number, windowMs: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => at > t - windowMs)
  }

  private sweep(t: number): void {
    const longest = Math.max(...Object.values(this.policy).map((p) => p.windowMs))
    for (const [key, list] of this.failures)
      if (!list.some((at) => at > t - longest)) this.failures.delete(key)
  }
}

export interface LoginAttempt {
  /** The tiers this failure filled. */
  failed(): ThrottleTier[]
  succeeded(): void
  cancelled(): void
}

function pairKey(ip: string, username: string): string {
  return `pair:${ip}\n${username}`
}

function keys(ip: string, username: string, trusted: boolean): { key: string; tier: ThrottleTier }[] {
  const pair = { key: pairKey(ip, username), tier: 'pair' as const }
  if (trusted) return [pair]
  return [pair, { key: `user:${username}`, tier: 'user' }, { key: `ip:${ip}`, tier: 'address' }]
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
