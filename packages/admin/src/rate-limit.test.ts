import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('a rate limiter', () => {
  it('lets a burst through, then refuses with the seconds until the next request', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1);
    // Another key has a bucket of its own.
    expect(limiter.take('b')).toBe(0);
    now = 500;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
  });

  it('says how long a slow refill takes', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 0.1, burst: 1 }, () => now);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(10);
    now = 5_000;
    expect(limiter.take('a')).toBe(5);
  });

  it('refills no more than the burst however long it waited', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, () => now);
    limiter.take('a');
    now = 3_600_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 1]);
  });
});
