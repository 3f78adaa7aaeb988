/**
 * The verified-credential cache (as Dovecot's auth_cache): after a password checked out
 * against an account's scrypt verifier, a keyed digest of (account, verifier, password) is
 * kept for a while, so the same user's next login with the same password skips scrypt.
 * POP3 and IMAP clients log in again and again with one password; scrypt is made to be
 * slow, and it was most of a POP3 login's cost (bench/pop3).
 *
 * Why it is safe:
 * - Only successes are remembered, and a hit needs the digest of exactly what was verified:
 *   a wrong password digests to something else and goes through scrypt (and fails) as ever.
 * - The digest covers the verifier the credential lookup read from Postgres for *this*
 *   login, not one remembered from before: a password set anew (new salt, new verifier),
 *   on any replica, misses at the very next login. A disabled or removed account is not
 *   found by the lookup at all. So no staleness bound is needed beyond the lookup's own
 *   read (which every login does anyway, for the throttle and the account id).
 * - HMAC-SHA-256 under a key drawn at random per process and never stored: the digests
 *   are useless outside this process, and the password itself is never kept. Someone who
 *   can read this process's memory could test guesses at HMAC speed instead of scrypt's
 *   for the accounts cached (the TTL bounds which); but that reader also sees every
 *   password as it arrives in PLAIN/LOGIN/USER-PASS, so the cache adds little to it.
 * - Bounded: at most `maxEntries` accounts (one entry each, least recently used first to
 *   go), each entry expires `ttlMs` after the scrypt check that made it (a hit does not
 *   extend it), and comparisons are constant-time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface VerifiedPasswordCacheOptions {
  /** How long a verification stands; 0 turns the cache off (nothing is kept). */
  readonly ttlMs: number;
  /** Accounts remembered at most. */
  readonly maxEntries: number;
  /** Injectable for tests; Date.now otherwise. */
  readonly now?: () => number;
}

interface Entry {
  readonly digest: Buffer;
  readonly expiresAt: number;
}

export class VerifiedPasswordCache {
  // Per process, never written anywhere: a digest means nothing outside this process.
  private readonly key = randomBytes(32);
  // A Map iterates in insertion order; re-inserting on use makes its first key the LRU one.
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(readonly options: VerifiedPasswordCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.ttlMs > 0 && this.options.maxEntries > 0;
  }

  /** Accounts held now (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** True only if exactly this password was verified against exactly this verifier lately. */
  has(accountId: string, verifier: string, password: string): boolean {
    const entry = this.entries.get(accountId);
    if (!entry) return false;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(accountId);
      return false;
    }
    const hit = timingSafeEqual(entry.digest, this.digest(accountId, verifier, password));
    // A wrong password leaves the entry alone: a guesser cannot evict the owner's.
    if (hit) {
      this.entries.delete(accountId);
      this.entries.set(accountId, entry);
    }
    return hit;
  }

  /** Call only after scrypt said yes. */
  remember(accountId: string, verifier: string, password: string): void {
    if (!this.enabled) return;
    this.entries.delete(accountId);
    this.entries.set(accountId, {
      digest: this.digest(accountId, verifier, password),
      expiresAt: this.now() + this.options.ttlMs,
    });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  forget(accountId: string): void {
    this.entries.delete(accountId);
  }

  private digest(accountId: string, verifier: string, password: string): Buffer {
    // Length-prefixed fields: no two different triples give the same input.
    const hmac = createHmac('sha256', this.key);
    for (const field of [accountId, verifier, password]) {
      const bytes = Buffer.from(field, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      hmac.update(length).update(bytes);
    }
    return hmac.digest();
  }
}
