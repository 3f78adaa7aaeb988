/**
 * Remembers bad behaviour per client IP across all of its connections to this process:
 * failed AUTHs and bad commands earn a growing delay before the answer, and past a limit
 * the connection is closed. A password guesser gains nothing by reconnecting.
 */
export interface AbuseLimits {
  /** Failed AUTHs within the window before the client is disconnected. */
  readonly maxAuthFailures: number;
  /** Bad commands within the window before the client is disconnected. */
  readonly maxErrors: number;
  /** The first penalty; each further failure doubles it, up to maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A client that behaves for this long starts again with a clean slate. */
  readonly windowMs: number;
  /** Bad commands forgiven before any delay (typos happen). */
  readonly freeErrors: number;
}

export const DEFAULT_ABUSE_LIMITS: AbuseLimits = {
  maxAuthFailures: 5,
  maxErrors: 50,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  windowMs: 15 * 60_000,
  freeErrors: 3,
};

interface Record {
  authFailures: number;
  errors: number;
  lastAt: number;
}

// Bounds memory under a spray of addresses; the oldest entries go first.
const MAX_TRACKED = 100_000;

export class AbuseTracker {
  private readonly records = new Map<string, Record>();

  constructor(
    private readonly limits: AbuseLimits = DEFAULT_ABUSE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  penalise(address: string, kind: 'error' | 'auth'): { delayMs: number; disconnect: boolean } {
    const record = this.current(address);
    record.lastAt = this.now();
    if (kind === 'auth') {
      record.authFailures++;
      return {
        delayMs: this.delay(record.authFailures - 1),
        disconnect: record.authFailures >= this.limits.maxAuthFailures,
      };
    }
    record.errors++;
    const counted = record.errors - this.limits.freeErrors;
    return {
      delayMs: counted > 0 ? this.delay(counted - 1) : 0,
      disconnect: record.errors >= this.limits.maxErrors,
    };
  }

  /** A successful login forgives the failed ones before it. */
  forgiveAuth(address: string): void {
    const record = this.records.get(address);
    if (record) record.authFailures = 0;
  }

  private delay(step: number): number {
    return Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** Math.min(step, 30));
  }

  private current(address: string): Record {
    const existing = this.records.get(address);
    if (existing && this.now() - existing.lastAt <= this.limits.windowMs) {
      // Re-insert so the map's order stays least-recently-seen first.
      this.records.delete(address);
      this.records.set(address, existing);
      return existing;
    }
    const fresh = { authFailures: 0, errors: 0, lastAt: this.now() };
    this.records.delete(address);
    this.records.set(address, fresh);
    if (this.records.size > MAX_TRACKED) this.records.delete(this.records.keys().next().value!);
    return fresh;
  }
}
