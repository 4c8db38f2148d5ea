// Per-key exponential backoff on errors, as client-go's ItemExponentialFailureRateLimiter
// (util/workqueue/default_rate_limiters.go): base × 2^failures, capped; forget() resets.
// controller-runtime's default is 5 ms → 1000 s (../shared/controller-facts.md §2).

export interface RateLimiter {
  /** the delay before `key` is retried, counting this failure */
  when(key: string): number;
  /** failures recorded for `key` since it last succeeded */
  numRequeues(key: string): number;
  forget(key: string): void;
}

export class ExponentialRateLimiter implements RateLimiter {
  private failures = new Map<string, number>();

  constructor(readonly baseMs = 5, readonly maxMs = 1000_000) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity quickly; the cap bounds it anyway
    const delay = this.baseMs * Math.pow(2, n);
    return Number.isFinite(delay) ? Math.min(delay, this.maxMs) : this.maxMs;
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}
