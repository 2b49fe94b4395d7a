/**
 * A per-account rate limit over a sliding window: at most `limit` requests within `windowMs`.
 * Dry runs read the registry (src/http/routes/verify.ts): one account guessing owners must not be
 * able to scale it (issue 22). Refused requests are not counted, so an account that keeps trying
 * is let in again as soon as its oldest request leaves the window.
 *
 * The counts live in each instance's memory, as the refusal counts do
 * (src/security/access-refusals.ts): with N instances behind a balancer an account gets up to
 * N × `limit` within the window. Memory is bounded: `limit` times per account, `maxKeys` accounts,
 * the least recently seen forgotten first.
 */
export class RateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  readonly #maxKeys: number;
  /** Insertion order is recency order: a key taken again is moved to the end. */
  readonly #times = new Map<string, number[]>();

  constructor(limit: number, windowMs: number, maxKeys = 10_000) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /** Take one request of `key` at `nowMs`: null when allowed, else the ms until one is. */
  take(key: string, nowMs: number): number | null {
    const since = nowMs - this.windowMs;
    const times = (this.#times.get(key) ?? []).filter((t) => t > since);
    this.#times.delete(key);
    if (times.length >= this.limit) {
      this.#times.set(key, times);
      return Math.max(1, times[0]! + this.windowMs - nowMs);
    }
    times.push(nowMs);
    this.#times.set(key, times);
    if (this.#times.size > this.#maxKeys) {
      const oldest = this.#times.keys().next();
      if (oldest.done !== true) this.#times.delete(oldest.value);
    }
    return null;
  }
}
