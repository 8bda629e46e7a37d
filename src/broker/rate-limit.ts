/**
 * Token bucket per device (shared by all of its connections): sustained `perSecond`, bursts up to
 * `burst`. Instead of dropping, an over-rate message is delayed, which stops the broker reading that
 * device's socket, so TCP pushes back on the flooder while every other device goes on as usual.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Milliseconds to wait before this message may be processed (0 = now). Reserves the token. */
  take(key: string, now = Date.now()): number {
    let b = this.buckets.get(key)
    if (!b) {
      b = { tokens: this.burst, at: now }
      this.buckets.set(key, b)
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond)
    b.at = now
    b.tokens -= 1
    return b.tokens >= 0 ? 0 : Math.ceil((-b.tokens / this.perSecond) * 1000)
  }

  forget(key: string): void {
    this.buckets.delete(key)
  }
}
