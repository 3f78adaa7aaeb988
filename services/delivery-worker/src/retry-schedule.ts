/**
 * When to try a recipient again after a temporary failure: like Postfix, the first retry
 * after minMs, each next one twice as long, never more than maxMs apart, and not past the
 * message's lifetime (then it bounces as expired).
 */
export interface RetrySchedule {
  readonly minMs: number;
  readonly maxMs: number;
  readonly lifetimeMs: number;
}

/** Delay before the next attempt, after `failedAttempts` (≥ 1) temporary failures. */
export function retryDelayMs(schedule: RetrySchedule, failedAttempts: number): number {
  const doublings = Math.max(0, Math.min(failedAttempts - 1, 40));
  return Math.min(schedule.maxMs, schedule.minMs * 2 ** doublings);
}

export type NextAttempt = { readonly kind: 'retry'; readonly at: Date } | { readonly kind: 'expired' };

export function nextAttempt(
  schedule: RetrySchedule,
  receivedAt: Date,
  failedAttempts: number,
  now: Date,
): NextAttempt {
  const expiresAt = receivedAt.getTime() + schedule.lifetimeMs;
  if (now.getTime() >= expiresAt) return { kind: 'expired' };
  const at = now.getTime() + retryDelayMs(schedule, failedAttempts);
  // The last try happens at the expiry time itself, not never.
  return { kind: 'retry', at: new Date(Math.min(at, expiresAt)) };
}
