import type { Queryable } from './db.js';

// The SQL of the per-account login failure delay (migration 0007); the policy that decides
// what to ask for is login-throttle.ts. Every statement takes the caller's clock (`now`), so
// the policy can be tested with a clock of its own; replicas' clocks are NTP-close, and a
// skew of a few milliseconds only shifts a delay by as much.

const MS = `interval '1 millisecond'`;

/** How many failures a row counts at most: far past any delay schedule, far from overflow. */
const MAX_COUNTED = 1_000_000;

export type LoginReservation =
  /** The address logged in to this name lately (last at `since`): nothing counted, no wait. */
  | { readonly kind: 'known'; readonly since: Date }
  /** Counted; the answer is due at notBefore (its turn in the name's queue). */
  | { readonly kind: 'queued'; readonly notBefore: Date }
  /** Its turn would come later than the queue allows: nothing counted, not to be checked. */
  | { readonly kind: 'refused' };

export interface ReserveLoginAttempt {
  readonly nameKey: Buffer;
  /** The client's address as known addresses are kept (an IPv4 address or an IPv6 /64). */
  readonly network: string;
  readonly now: Date;
  /** Failures older than this (with none since) are forgotten. */
  readonly windowMs: number;
  readonly knownAddressTtlMs: number;
  /** Delay for the attempt with n counted attempts ahead of it: schedule[n], the last one beyond. */
  readonly schedule: readonly number[];
  /** An attempt whose turn would come later than now + this is refused. */
  readonly maxQueueMs: number;
}

/**
 * In one statement, so replicas racing on one name serialise on its row: unless the address
 * is known for the name, counts the attempt and books its turn after the ones already
 * queued (GREATEST(not_before, now) + its delay), or refuses it when the queue is too long.
 */
export async function reserveLoginAttempt(db: Queryable, r: ReserveLoginAttempt): Promise<LoginReservation> {
  // Counted attempts ahead of this one; a row past its window starts again from nothing.
  const ahead = `CASE WHEN f.last_failure_at > $3::timestamptz - $4 * ${MS} THEN f.failures ELSE 0 END`;
  const delay = `COALESCE(($6::int[])[${ahead} + 1], ($6::int[])[cardinality($6::int[])]) * ${MS}`;
  const turn = `GREATEST(f.not_before, $3::timestamptz) + ${delay}`;
  const result = await db.query<{ since: Date | null; not_before: Date | null }>(
    `WITH known AS (
       SELECT (
         SELECT last_success_at FROM login_known_addresses
          WHERE name_key = $1 AND address = $2 AND last_success_at > $3::timestamptz - $5 * ${MS}
       ) AS since
     ), counted AS (
       INSERT INTO login_failures AS f (name_key, failures, last_failure_at, not_before)
       SELECT $1, 1, $3, $3::timestamptz + ($6::int[])[1] * ${MS} FROM known WHERE known.since IS NULL
       ON CONFLICT (name_key) DO UPDATE SET
         failures = LEAST(${ahead} + 1, ${MAX_COUNTED}),
         last_failure_at = EXCLUDED.last_failure_at,
         not_before = ${turn}
       WHERE ${turn} <= $3::timestamptz + $7 * ${MS}
       RETURNING f.not_before
     )
     SELECT known.since, counted.not_before FROM known LEFT JOIN counted ON true`,
    [r.nameKey, r.network, r.now, r.windowMs, r.knownAddressTtlMs, r.schedule, r.maxQueueMs],
  );
  const row = result.rows[0]!;
  if (row.since) return { kind: 'known', since: row.since };
  return row.not_before ? { kind: 'queued', notBefore: row.not_before } : { kind: 'refused' };
}

/** A failure that was not counted when it was let through (from a known address). */
export async function countLoginFailure(
  db: Queryable,
  nameKey: Buffer,
  now: Date,
  windowMs: number,
): Promise<void> {
  await db.query(
    `INSERT INTO login_failures AS f (name_key, failures, last_failure_at, not_before)
     VALUES ($1, 1, $2, $2)
     ON CONFLICT (name_key) DO UPDATE SET
       failures = LEAST(CASE WHEN f.last_failure_at > $2::timestamptz - $3 * ${MS} THEN f.failures ELSE 0 END + 1,
                        ${MAX_COUNTED}),
       last_failure_at = EXCLUDED.last_failure_at`,
    [nameKey, now, windowMs],
  );
}

/**
 * A counted attempt that logged in: it takes itself back, and a name left with nothing
 * counted and nobody queued has no row (no row for accounts nobody attacks).
 */
export async function withdrawLoginAttempt(db: Queryable, nameKey: Buffer, now: Date): Promise<void> {
  await db.query(
    `WITH gone AS (
       DELETE FROM login_failures WHERE name_key = $1 AND failures <= 1 AND not_before <= $2
       RETURNING name_key
     )
     UPDATE login_failures SET failures = failures - 1
      WHERE name_key = $1 AND failures > 0 AND NOT EXISTS (SELECT 1 FROM gone)`,
    [nameKey, now],
  );
}

/**
 * Remembers that the name logged in from `network`, keeping only the `keep` most recent
 * per name. A known address is refreshed at most every `refreshMs`, so an IMAP client that
 * logs in every few minutes does not write each time.
 */
export async function rememberLoginAddress(
  db: Queryable,
  nameKey: Buffer,
  network: string,
  now: Date,
  options: { readonly refreshMs: number; readonly keep: number },
): Promise<void> {
  const written = await db.query(
    `INSERT INTO login_known_addresses AS k (name_key, address, last_success_at) VALUES ($1, $2, $3)
     ON CONFLICT (name_key, address) DO UPDATE SET last_success_at = EXCLUDED.last_success_at
      WHERE k.last_success_at <= EXCLUDED.last_success_at - $4 * ${MS}
     RETURNING address`,
    [nameKey, network, now, options.refreshMs],
  );
  if ((written.rowCount ?? 0) === 0) return;
  await db.query(
    `DELETE FROM login_known_addresses
      WHERE name_key = $1 AND address NOT IN (
        SELECT address FROM login_known_addresses WHERE name_key = $1
         ORDER BY last_success_at DESC, address LIMIT $2)`,
    [nameKey, options.keep],
  );
}

export interface LoginSweep {
  readonly now: Date;
  readonly windowMs: number;
  readonly knownAddressTtlMs: number;
  /** Rows kept at most; past it, the names with the fewest failures go first. */
  readonly maxNames: number;
}

/**
 * Forgets quiet names and old known addresses, and bounds the table: a spray of random
 * names (one failure each) is what goes first, not a name under a real attack.
 */
export async function sweepLoginFailures(
  db: Queryable,
  s: LoginSweep,
): Promise<{ readonly names: number; readonly addresses: number }> {
  const expired = await db.query(
    `DELETE FROM login_failures WHERE last_failure_at <= $1::timestamptz - $2 * ${MS} AND not_before <= $1`,
    [s.now, s.windowMs],
  );
  const excess = await db.query(
    `DELETE FROM login_failures WHERE name_key IN (
       SELECT name_key FROM login_failures ORDER BY failures DESC, last_failure_at DESC OFFSET $1)`,
    [s.maxNames],
  );
  const addresses = await db.query(
    `DELETE FROM login_known_addresses WHERE last_success_at <= $1::timestamptz - $2 * ${MS}`,
    [s.now, s.knownAddressTtlMs],
  );
  return {
    names: (expired.rowCount ?? 0) + (excess.rowCount ?? 0),
    addresses: addresses.rowCount ?? 0,
  };
}

/** What the store holds for one name (tests and diagnosis); undefined when nothing. */
export async function readLoginFailures(
  db: Queryable,
  nameKey: Buffer,
): Promise<
  { readonly failures: number; readonly notBefore: Date; readonly knownAddresses: string[] } | undefined
> {
  const result = await db.query<{ failures: number | null; not_before: Date | null; addresses: string[] }>(
    `SELECT f.failures, f.not_before,
            ARRAY(SELECT address FROM login_known_addresses WHERE name_key = $1 ORDER BY address) AS addresses
       FROM (SELECT 1) AS one LEFT JOIN login_failures f ON f.name_key = $1`,
    [nameKey],
  );
  const row = result.rows[0]!;
  if (row.failures === null && row.addresses.length === 0) return undefined;
  return {
    failures: row.failures ?? 0,
    notBefore: row.not_before ?? new Date(0),
    knownAddresses: row.addresses,
  };
}
