import type { Queryable } from './db.js';
import type { Counted } from './report-tallies.js';
import { createTallyBuffer, type TallyBuffer, type TallyBufferOptions } from './tally-buffer.js';

// The dashboard's counts of events that leave no row of their own: logins (per protocol, ok or
// failed) and the spam filter's verdicts (a refused message is never queued). Counted per hour
// in activity_tallies (migration 0029) through a tally buffer: a login costs a Map update, and
// each process writes one upsert every few seconds. They are statistics: a crash loses the
// last few seconds' counts, which the dashboard can live with and a write per login could not
// be worth.

export type LoginTallyProtocol = 'smtp' | 'pop3' | 'imap' | 'managesieve';
export const LOGIN_TALLY_PROTOCOLS: readonly LoginTallyProtocol[] = ['smtp', 'pop3', 'imap', 'managesieve'];

/** ok: the credentials were verified; failed: the engine answered a failed login. */
export type LoginOutcome = 'ok' | 'failed';

/**
 * The spam filter's verdict on a message received on port 25, counted once per message:
 * ham and spam when it was accepted (spam: filed as junk on the filter's word), rejected when
 * the filter refused it for good. A greylisted or deferred message is counted when it comes
 * back and is taken.
 */
export type SpamTallyOutcome = 'ham' | 'spam' | 'rejected';

/** One row of activity_tallies, without its count. */
export interface ActivityTally {
  /** The start of the hour the events fell in, in milliseconds since the epoch (UTC). */
  readonly hour: number;
  /** What was counted: `login:<protocol>`, `spam`. */
  readonly kind: string;
  readonly outcome: string;
}

const HOUR_MS = 3_600_000;

/** How long the hourly rows are kept (the maintenance run prunes older ones): a week and a day. */
export const ACTIVITY_TALLY_RETENTION_MS = 8 * 24 * HOUR_MS;

/** The start of the UTC hour `ms` falls in. */
export function activityHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** Adds the counts to their hours' rows, one statement for all of them. */
export async function recordActivityTallies(
  db: Queryable,
  counts: readonly Counted<ActivityTally>[],
): Promise<void> {
  if (counts.length === 0) return;
  const rows = counts.map(({ tally, count }) => ({
    hour: new Date(tally.hour).toISOString(),
    kind: tally.kind,
    outcome: tally.outcome,
    count,
  }));
  // Summed per key first (an upsert may not touch one row twice), and in key order, so that
  // processes flushing the same keys at the same moment lock the rows in one order and never
  // deadlock.
  await db.query(
    `INSERT INTO activity_tallies (hour, kind, outcome, count)
     SELECT r.hour, r.kind, r.outcome, sum(r.count)
       FROM jsonb_to_recordset($1::jsonb) AS r(hour timestamptz, kind text, outcome text, count bigint)
      GROUP BY r.hour, r.kind, r.outcome
      ORDER BY r.hour, r.kind, r.outcome
     ON CONFLICT (hour, kind, outcome) DO UPDATE SET count = activity_tallies.count + EXCLUDED.count`,
    [JSON.stringify(rows)],
  );
}

/** The rows of the hours from `from` (inclusive) to `to` (exclusive), oldest first. */
export async function activityTallies(
  db: Queryable,
  range: { readonly from: Date; readonly to: Date },
): Promise<Counted<ActivityTally>[]> {
  const result = await db.query<{ hour: Date; kind: string; outcome: string; count: string }>(
    `SELECT hour, kind, outcome, count FROM activity_tallies
      WHERE hour >= $1 AND hour < $2 ORDER BY hour, kind, outcome`,
    [range.from, range.to],
  );
  return result.rows.map((row) => ({
    tally: { hour: row.hour.getTime(), kind: row.kind, outcome: row.outcome },
    count: Number(row.count),
  }));
}

/** Deletes the hours that ended longer than `olderThanMs` ago; returns how many rows went. */
export async function pruneActivityTallies(db: Queryable, olderThanMs: number): Promise<number> {
  const result = await db.query(
    `DELETE FROM activity_tallies
      WHERE hour + interval '1 hour' < now() - make_interval(secs => $1::double precision / 1000)`,
    [olderThanMs],
  );
  return result.rowCount ?? 0;
}

/** A service's counter of logins and spam verdicts. Counting never throws and never waits. */
export interface ActivityCounter {
  login(protocol: LoginTallyProtocol, outcome: LoginOutcome): void;
  spamVerdict(outcome: SpamTallyOutcome): void;
  /** Writes what is held now (a timer does it every few seconds on its own). */
  flush(): Promise<void>;
  stats(): ReturnType<TallyBuffer<ActivityTally>['stats']>;
  /** Stops the timer and writes what is left: call it before the pool closes. */
  stop(): Promise<void>;
}

export interface ActivityCounterOptions extends TallyBufferOptions {
  /** The clock that puts an event in its hour (tests); Date.now when absent. */
  readonly now?: () => number;
}

/** Counts in memory and writes to activity_tallies every few seconds (default 5 s). */
export function createActivityCounter(db: Queryable, options: ActivityCounterOptions = {}): ActivityCounter {
  const now = options.now ?? Date.now;
  // The hour is taken when the event happens, not when it is written: a flush just after the
  // hour turns puts the last seconds of the old hour in the old hour's row.
  const buffer = createTallyBuffer<ActivityTally>(
    (t) => `${t.hour}/${t.kind}/${t.outcome}`,
    (counts) => recordActivityTallies(db, counts),
    options,
  );
  const count = (kind: string, outcome: string) => buffer.add({ hour: activityHour(now()), kind, outcome });
  return {
    login: (protocol, outcome) => count(`login:${protocol}`, outcome),
    spamVerdict: (outcome) => count('spam', outcome),
    flush: () => buffer.flush(),
    stats: () => buffer.stats(),
    stop: () => buffer.stop(),
  };
}
