// Token buckets for the admin API, kept in this process's memory: each replica counts on its
// own (two replicas behind one Service let twice the rate through). A bucket holds `burst`
// requests and refills at `perSecond`; a request takes one or is refused with the seconds
// until one is back (Retry-After).

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export type Clock = () => number;

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Buckets are forgotten once full again; past this many keys the full ones are dropped. */
const PRUNE_AT = 10_000;

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: RateLimit,
    readonly clock: Clock = Date.now,
  ) {}

  /** 0 when the request may go ahead; otherwise the whole seconds to wait. */
  take(key: string): number {
    const now = this.clock();
    const bucket = this.#refilled(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond));
  }

  #refilled(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= PRUNE_AT) this.#prune(now);
      bucket = { tokens: this.limit.burst, updatedMs: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + elapsed * this.limit.perSecond);
    bucket.updatedMs = now;
    return bucket;
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      const tokens = bucket.tokens + (Math.max(0, now - bucket.updatedMs) / 1000) * this.limit.perSecond;
      if (tokens >= this.limit.burst) this.#buckets.delete(key);
    }
  }
}
