import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { parseMailboxAddress, type SaslCredentialLookup } from '@tegami/protocol';
import type { Queryable } from './db.js';
import {
  countLoginFailure,
  type LoginReservation,
  rememberLoginAddress,
  reserveLoginAttempt,
  sweepLoginFailures,
  withdrawLoginAttempt,
} from './login-failures.js';

/**
 * The per-account login failure delay, shared by every replica of the three services that
 * take logins (SMTP AUTH, POP3, IMAP) through Postgres. The per-address throttle
 * (@tegami/runtime AbuseTracker) cannot stop guessing from many addresses; this slows the
 * guessing of one account's password wherever it comes from, without letting the guesser
 * lock the owner out:
 *
 * - Once a login name has had more than a few attempts lately from addresses that never
 *   logged in to it, every further attempt from such an address waits for its turn before
 *   the password is even checked, and turns are spaced by a delay that doubles up to a cap.
 *   The wait comes before the answer whatever the password, so hanging up early tells the
 *   guesser nothing, and parallel attempts (many connections, many replicas) queue behind
 *   one another: the guess rate of one name is at most one per delay, however spread.
 * - An attempt whose turn would be too far off is refused at once, unchecked ("try again
 *   later"): waiting connections stay bounded, and the queue cannot be pushed far into the
 *   future so as to keep new devices out after the attack stops.
 * - An address that logged in to the name lately is answered at once: the owner keeps
 *   working during an attack. At most a few such addresses per name, for a limited time.
 * - Unknown names are throttled exactly like real ones, or the delay would tell which
 *   accounts exist. Their rows are bounded: quiet names are swept, and past a cap the names
 *   with the fewest failures (a spray of random names) are dropped first.
 */
export interface LoginThrottlePolicy {
  /** Attempts from unknown addresses let through without delay (typos, a new phone). */
  readonly freeFailures: number;
  /** The first delay; each further attempt doubles it, up to maxDelayMs. */
  readonly baseDelayMs: number;
  /** The cap of the delay; 0 turns the per-account delay off (nothing is written). */
  readonly maxDelayMs: number;
  /** How far ahead an attempt may be booked; later than that it is refused. */
  readonly maxQueueMs: number;
  /** A name with no attempt for this long starts again from nothing. */
  readonly windowMs: number;
  readonly knownAddressTtlMs: number;
  readonly knownAddressesPerName: number;
  /** Written again at most this often for an address that keeps logging in. */
  readonly knownAddressRefreshMs: number;
  readonly maxTrackedNames: number;
  /** How often each process sweeps quiet rows away. */
  readonly sweepEveryMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  freeFailures: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 15_000,
  maxQueueMs: 30_000,
  windowMs: 15 * 60_000,
  knownAddressTtlMs: 30 * 86_400_000,
  knownAddressesPerName: 10,
  knownAddressRefreshMs: 3_600_000,
  maxTrackedNames: 100_000,
  sweepEveryMs: 60_000,
};

/** The policy from the two settings an operator has (TEGAMI_AUTH_FAILURE_DELAY_MAX, TEGAMI_AUTH_FREE_FAILURES). */
export function loginThrottlePolicy(settings: {
  readonly maxDelayMs: number;
  readonly freeFailures: number;
}): LoginThrottlePolicy {
  return {
    ...DEFAULT_LOGIN_THROTTLE,
    maxDelayMs: settings.maxDelayMs,
    freeFailures: settings.freeFailures,
    baseDelayMs: Math.min(DEFAULT_LOGIN_THROTTLE.baseDelayMs, settings.maxDelayMs),
    // Two turns at the cap: a legitimate login from a new address during an attack waits
    // at most this long, or is told to try again.
    maxQueueMs: 2 * settings.maxDelayMs,
  };
}

/** The delay of an attempt with n counted attempts ahead of it: schedule[n], the last one beyond. */
export function loginDelaySchedule(policy: LoginThrottlePolicy): number[] {
  const schedule: number[] = Array(policy.freeFailures).fill(0);
  for (let step = 0; ; step++) {
    const delay = Math.min(policy.maxDelayMs, Math.max(1, policy.baseDelayMs) * 2 ** step);
    schedule.push(delay);
    if (delay >= policy.maxDelayMs) return schedule;
  }
}

export type LoginAdmission =
  /** The per-account delay is off. */
  | { readonly kind: 'off' }
  /**
   * From an address that logged in to this name lately: at once, not counted. `stale`: it
   * last did so long enough ago that a success is worth writing down again.
   */
  | { readonly kind: 'known'; readonly stale: boolean }
  /** Counted (a success takes it back); answer no sooner than waitMs from now. */
  | { readonly kind: 'counted'; readonly waitMs: number }
  /** Too many attempts queued on this name: refused unchecked. */
  | { readonly kind: 'refused' };

export interface LoginClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const SYSTEM_CLOCK: LoginClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What a refused attempt's credential lookup rejects with: the engines answer "try again later". */
export class LoginThrottled extends Error {
  constructor() {
    super('too many login attempts on this name: try again later');
    this.name = 'LoginThrottled';
  }
}

export class LoginThrottle {
  private readonly schedule: number[];

  constructor(
    private readonly db: Queryable,
    readonly policy: LoginThrottlePolicy = DEFAULT_LOGIN_THROTTLE,
    readonly clock: LoginClock = SYSTEM_CLOCK,
  ) {
    this.schedule = loginDelaySchedule(policy);
  }

  get enabled(): boolean {
    return this.policy.maxDelayMs > 0;
  }

  /** Decides when an attempt on `name` from `client` may be answered, booking its turn. */
  async admit(name: string, client: string): Promise<LoginAdmission> {
    if (!this.enabled) return { kind: 'off' };
    const now = this.clock.now();
    const reservation: LoginReservation = await reserveLoginAttempt(this.db, {
      nameKey: loginNameKey(name),
      network: clientNetwork(client),
      now: new Date(now),
      windowMs: this.policy.windowMs,
      knownAddressTtlMs: this.policy.knownAddressTtlMs,
      schedule: this.schedule,
      maxQueueMs: this.policy.maxQueueMs,
    });
    switch (reservation.kind) {
      case 'known':
        return {
          kind: 'known',
          stale: now - reservation.since.getTime() >= this.policy.knownAddressRefreshMs,
        };
      case 'refused':
        return { kind: 'refused' };
      case 'queued':
        return { kind: 'counted', waitMs: Math.max(0, reservation.notBefore.getTime() - now) };
    }
  }

  /** The password was wrong (or the exchange failed after the name was read). */
  async failed(name: string, admission: LoginAdmission): Promise<void> {
    // A counted attempt is a failure already; only the known address's one is new.
    if (admission.kind !== 'known') return;
    await countLoginFailure(this.db, loginNameKey(name), new Date(this.clock.now()), this.policy.windowMs);
  }

  /** The credentials were right: the attempt takes itself back and the address becomes known. */
  async succeeded(name: string, client: string, admission: LoginAdmission): Promise<void> {
    // A known address's recent success is on record already: no write per IMAP reconnect.
    if (admission.kind === 'off' || admission.kind === 'refused') return;
    if (admission.kind === 'known' && !admission.stale) return;
    const nameKey = loginNameKey(name);
    const now = new Date(this.clock.now());
    if (admission.kind === 'counted') await withdrawLoginAttempt(this.db, nameKey, now);
    await rememberLoginAddress(this.db, nameKey, clientNetwork(client), now, {
      refreshMs: this.policy.knownAddressRefreshMs,
      keep: this.policy.knownAddressesPerName,
    });
  }

  sweep(): Promise<{ readonly names: number; readonly addresses: number }> {
    return sweepLoginFailures(this.db, {
      now: new Date(this.clock.now()),
      windowMs: this.policy.windowMs,
      knownAddressTtlMs: this.policy.knownAddressTtlMs,
      maxNames: this.policy.maxTrackedNames,
    });
  }

  /** Sweeps every policy.sweepEveryMs until the returned stop() (a failed sweep waits for the next). */
  startSweeping(onError: (err: unknown) => void = () => undefined): { stop(): void } {
    if (!this.enabled) return { stop: () => undefined };
    const timer = setInterval(() => {
      this.sweep().catch(onError);
    }, this.policy.sweepEveryMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  /** The logins of one connection (one client address). */
  forClient(client: string, events: ClientLoginEvents = {}): ClientLogins {
    return new ClientLogins(this, client, events);
  }
}

export interface ClientLoginEvents {
  /** An attempt on `user` was refused unchecked (the name's queue is full). */
  refused?(user: string): void;
  /** Recording an outcome failed (the login itself is answered regardless). */
  error?(err: unknown): void;
}

/**
 * How a failed login ended, for the log: the name as the client gave it (as the mechanism
 * read it: trimmed and SASLprep'd, RFC 4013), if the exchange got that far.
 */
export interface FailedLogin {
  readonly user: string | undefined;
}

type Attempt =
  | { readonly user: string; state: 'admitting' | 'unavailable' | 'refused' }
  | { readonly user: string; state: 'checking'; readonly admission: LoginAdmission };

/**
 * Ties the protocol engines' outcome hooks to the attempt they end. Every SASL mechanism
 * (and USER/PASS, IMAP LOGIN) reads the name, calls the credential lookup once, then
 * checks; so the lookup wrapped here is where an attempt waits its turn, and the next
 * failure or success is that attempt's outcome. The engines stay I/O-free and unchanged.
 */
export class ClientLogins {
  private attempt: Attempt | undefined;
  /** The outcomes being written; the engines do not wait for them. */
  private recording: Promise<void> = Promise.resolve();

  constructor(
    private readonly throttle: LoginThrottle,
    private readonly client: string,
    private readonly events: ClientLoginEvents,
  ) {}

  /** The lookup to give the engine: it waits for the attempt's turn, or rejects (LoginThrottled). */
  guard(lookup: SaslCredentialLookup): SaslCredentialLookup {
    return async (username) => {
      const attempt: Attempt = { user: username, state: 'admitting' };
      this.attempt = attempt;
      let admission: LoginAdmission;
      try {
        admission = await this.throttle.admit(username, this.client);
      } catch (err) {
        attempt.state = 'unavailable';
        throw err;
      }
      if (admission.kind === 'refused') {
        attempt.state = 'refused';
        this.events.refused?.(username);
        throw new LoginThrottled();
      }
      if (admission.kind === 'counted' && admission.waitMs > 0)
        await this.throttle.clock.sleep(admission.waitMs);
      this.attempt = { user: username, state: 'checking', admission };
      try {
        return await lookup(username);
      } catch (err) {
        this.attempt = { user: username, state: 'unavailable' };
        throw err;
      }
    };
  }

  /**
   * The engine reported a failed login. Undefined when it was no credential failure (the
   * attempt was refused unchecked, or the store did not answer): nothing to log or count.
   */
  failed(): FailedLogin | undefined {
    const attempt = this.attempt;
    this.attempt = undefined;
    // Failed before any name was read: malformed SASL data. (An exchange verified but then
    // cancelled by the client, e.g. `*` after SCRAM's server-final, reports no outcome; its
    // attempt is taken for the next failure's if no lookup comes between: one failure more.)
    if (!attempt) return { user: undefined };
    if (attempt.state !== 'checking') return undefined;
    this.record(() => this.throttle.failed(attempt.user, attempt.admission));
    return { user: attempt.user };
  }

  /** The credentials were verified (whether or not the session could then start). */
  succeeded(): void {
    const attempt = this.attempt;
    this.attempt = undefined;
    if (attempt?.state !== 'checking') return;
    this.record(() => this.throttle.succeeded(attempt.user, this.client, attempt.admission));
  }

  /** Resolves once every outcome reported so far is written (or failed to be). */
  settled(): Promise<void> {
    return this.recording;
  }

  private record(write: () => Promise<void>): void {
    this.recording = this.recording.then(write).catch((err) => this.events.error?.(err));
  }
}

/**
 * The key of a login name: the canonical address (the same lookup key the accounts use),
 * else the name trimmed and lower-cased, hashed to a fixed size whatever the client sent.
 */
export function loginNameKey(name: string): Buffer {
  const trimmed = name.trim();
  const parsed = parseMailboxAddress(trimmed);
  const canonical = parsed.ok ? parsed.address.canonical : trimmed.toLowerCase();
  return createHash('sha256').update(canonical, 'utf8').digest();
}

/**
 * An address as known addresses are kept: IPv4 as it is, IPv6 as its /64, the subscriber's
 * network (privacy addresses change daily within it; RFC 8981).
 */
export function clientNetwork(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = ipv6Groups(address.split('%')[0]!);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

/** The eight groups of an IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(text: string): string[] | undefined {
  const toGroups = (part: string): string[] => {
    if (part === '') return [];
    const out: string[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const b = piece.split('.').map(Number);
        out.push(
          (((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16),
          (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16),
        );
      } else {
        out.push(Number.parseInt(piece, 16).toString(16));
      }
    }
    return out;
  };
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = toGroups(halves[0]!);
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const tail = toGroups(halves[1]!);
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...Array<string>(missing).fill('0'), ...tail];
}
