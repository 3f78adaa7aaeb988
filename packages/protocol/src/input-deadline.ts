// Deadlines for what a client has begun to send (issue 13, slow clients: a hundred
// connections each sending one byte every 5 s stayed open, because an idle timeout starts
// again with every byte). A line must be whole within a deadline from its first octet
// (Postfix's smtpd_per_record_deadline); a message body must keep up a minimum rate on
// average (Postfix's smtpd_min_data_rate); and a POP3 or IMAP client must log in within a
// deadline from connecting (Dovecot's login processes). Idle timeouts still close silent
// connections; these close the ones that talk too slowly.

export interface TransferLimits {
  /**
   * How long one line may take from its first octet to its line end: a command line, an
   * IMAP line part between literals, a SASL response, IMAP's DONE.
   */
  readonly lineMs: number;
  /** The average rate, in octets per second, below which a body runs out of time. */
  readonly minBytesPerSecond: number;
}

export interface InputDeadlines extends TransferLimits {
  /** POP3 and IMAP: from connecting to a successful login. */
  readonly loginMs: number;
}

/**
 * The deadline of one transfer. A line's is fixed. A body starts with `allowanceMs` and
 * earns 1/rate seconds per octet received, but never banks more than `allowanceMs` ahead
 * of now: it may stall that long at most, and a client slower than the rate on average
 * runs out of time (the arithmetic of Postfix's smtpd_min_data_rate).
 */
export class TransferDeadline {
  private deadline: number;

  constructor(
    now: number,
    private readonly allowanceMs: number,
    private readonly bytesPerSecond = 0,
  ) {
    this.deadline = now + allowanceMs;
  }

  /** When the transfer runs out of time (a clock reading, as `now` is). */
  get at(): number {
    return this.deadline;
  }

  received(octets: number, now: number): void {
    if (this.bytesPerSecond <= 0 || octets <= 0) return;
    this.deadline = Math.min(this.deadline + (octets * 1000) / this.bytesPerSecond, now + this.allowanceMs);
  }
}

/** What a POP3 or IMAP reader holds unfinished: part of a line, or of a literal. */
export type InputProgress =
  | { readonly kind: 'line'; readonly unit: number }
  | { readonly kind: 'literal'; readonly unit: number; readonly received: number };

export type DeadlineReason = 'line' | 'literal' | 'login';

/**
 * A POP3 or IMAP session's deadlines. The session tells it, each time it has read all it
 * can, what its reader holds unfinished (nothing while it is busy with a command: the
 * client is not the slow one then); the service asks for the earliest deadline and closes
 * the connection when it passes. The clock is Date.now, so fake timers drive it in tests.
 */
export class SessionDeadlines {
  private loginBy: number | undefined;
  private current:
    | {
        readonly kind: 'line' | 'literal';
        readonly unit: number;
        received: number;
        deadline: TransferDeadline;
      }
    | undefined;

  constructor(
    private readonly limits: InputDeadlines | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.loginBy = limits ? now() + limits.loginMs : undefined;
  }

  observe(progress: InputProgress | undefined): void {
    const limits = this.limits;
    if (!limits || !progress) {
      this.current = undefined;
      return;
    }
    const now = this.now();
    const current = this.current;
    if (!current || current.unit !== progress.unit || current.kind !== progress.kind) {
      this.current = {
        kind: progress.kind,
        unit: progress.unit,
        received: 0,
        deadline:
          progress.kind === 'line'
            ? new TransferDeadline(now, limits.lineMs)
            : new TransferDeadline(now, limits.lineMs, limits.minBytesPerSecond),
      };
    }
    if (progress.kind === 'literal') {
      const entry = this.current!;
      entry.deadline.received(progress.received - entry.received, now);
      entry.received = progress.received;
    }
  }

  loggedIn(): void {
    this.loginBy = undefined;
  }

  /** Logged out without closing (IMAP UNAUTHENTICATE): the login deadline runs again from now. */
  loggedOut(): void {
    this.loginBy = this.limits ? this.now() + this.limits.loginMs : undefined;
  }

  /** The earliest deadline that stands now, and what it is for, in words for the goodbye. */
  next(): { readonly at: number; readonly reason: DeadlineReason; readonly why: string } | undefined {
    const limits = this.limits;
    if (!limits) return undefined;
    const transfer = this.current && { at: this.current.deadline.at, reason: this.current.kind };
    const login = this.loginBy !== undefined ? { at: this.loginBy, reason: 'login' as const } : undefined;
    const first = !transfer ? login : !login ? transfer : login.at < transfer.at ? login : transfer;
    if (!first) return undefined;
    const seconds = `${Math.round(limits[first.reason === 'login' ? 'loginMs' : 'lineMs'] / 100) / 10} seconds`;
    const why =
      first.reason === 'login'
        ? `no login within ${seconds}`
        : first.reason === 'line'
          ? `the command line took over ${seconds}`
          : `the literal came slower than ${limits.minBytesPerSecond} octets per second`;
    return { ...first, why };
  }
}
