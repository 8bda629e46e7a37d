/**
 * Login throttle: per client address and per username, a fixed number of failures in a window, then
 * refusal until the window passes. A success clears the username's count. In memory: a restart resets
 * it, which is fine for a throttle whose only job is to make password guessing slow.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>()

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
      // An address gets more room than a username: several people share one office NAT.
      const max = key.startsWith('ip:') ? this.maxFailures * 4 : this.maxFailures
      if (recent.length >= max) wait = Math.max(wait, recent[0]! + this.windowMs - t)
    }
    return Math.ceil(wait / 1000)
  }

  fail(ip: string, username: string): void {
    const t = this.now()
    for (const key of keys(ip, username)) this.failures.set(key, [...this.recent(key, t), t])
    if (this.failures.size > 10_000) this.sweep(t)
  }

  succeed(username: string): void {
    this.failures.delete(`user:${username}`)
  }

  private recent(key: string, t: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => at > t - this.windowMs)
  }

  private sweep(t: number): void {
    for (const [key, list] of this.failures)
      if (!list.some((at) => at > t - this.windowMs)) this.failures.delete(key)
  }
}

function keys(ip: string, username: string): string[] {
  return [`ip:${ip}`, `user:${username}`]
}
