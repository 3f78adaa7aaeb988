import { describe, expect, it } from 'vitest';
import { nextAttempt, retryDelayMs } from './retry-schedule.js';

const postfixLike = { minMs: 300_000, maxMs: 3_600_000, lifetimeMs: 5 * 86_400_000 };

describe('retry schedule', () => {
  it('starts at the minimum and doubles up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => retryDelayMs(postfixLike, n) / 60_000)).toEqual([
      5, 10, 20, 40, 60, 60, 60, 60,
    ]);
  });

  it('retries up to the expiry time, then expires', () => {
    const received = new Date('2026-01-01T00:00:00Z');
    const schedule = { minMs: 1000, maxMs: 4000, lifetimeMs: 10_000 };
    const early = nextAttempt(schedule, received, 1, new Date(received.getTime() + 2000));
    expect(early).toEqual({ kind: 'retry', at: new Date(received.getTime() + 3000) });
    const late = nextAttempt(schedule, received, 5, new Date(received.getTime() + 9000));
    expect(late).toEqual({ kind: 'retry', at: new Date(received.getTime() + 10_000) });
    expect(nextAttempt(schedule, received, 6, new Date(received.getTime() + 10_000))).toEqual({
      kind: 'expired',
    });
  });
});
