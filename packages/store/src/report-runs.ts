import type pg from 'pg';
import { blobId } from './blobs.js';
import type { Queryable } from './db.js';
import { withTransaction } from './db.js';

// The daily reports, exactly once per (kind, day, domain) however many delivery-workers run
// the schedule: a replica claims the report's row for a while, builds the report, and marks it
// sent in the same transaction that queues its messages. A replica that dies while holding a
// claim lets it expire; another one takes it over. Only the holder of the claim can finish.

export type ReportKind = 'tlsrpt' | 'dmarc';

export interface ReportRunKey {
  readonly kind: ReportKind;
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly domain: string;
}

/** A report message to queue: from our reporting address to one destination. */
export interface OutgoingReport {
  readonly queueId: string;
  readonly raw: Buffer;
  readonly sender: string;
  readonly recipient: string;
  readonly messageId: string;
}

/**
 * The reports of the days in [fromDay, toDay] that have counts and are not done: never tried,
 * or waiting for another attempt whose time has come. The oldest first.
 */
export async function dueReports(
  db: Queryable,
  fromDay: string,
  toDay: string,
  limit = 1000,
): Promise<ReportRunKey[]> {
  const result = await db.query<{ kind: ReportKind; day: string; domain: string }>(
    `WITH candidates AS (
       SELECT DISTINCT 'tlsrpt'::text AS kind, day, policy_domain AS domain
         FROM tls_report_results WHERE day BETWEEN $1::date AND $2::date
       UNION
       SELECT DISTINCT 'dmarc'::text, day, policy_domain
         FROM dmarc_report_records WHERE day BETWEEN $1::date AND $2::date
     )
     SELECT c.kind, to_char(c.day, 'YYYY-MM-DD') AS day, c.domain
       FROM candidates c
       LEFT JOIN report_runs r ON r.kind = c.kind AND r.day = c.day AND r.domain = c.domain
      WHERE r.kind IS NULL OR (r.state = 'pending' AND (r.claimed_until IS NULL OR r.claimed_until < now()))
      ORDER BY c.day, c.kind, c.domain
      LIMIT $3`,
    [fromDay, toDay, limit],
  );
  return result.rows;
}

/**
 * Takes the report for this worker for `claimMs`, unless it is done or another worker holds
 * it. Returns the attempt number (1 for the first), or undefined when not taken.
 */
export async function claimReportRun(
  db: Queryable,
  key: ReportRunKey,
  worker: string,
  claimMs: number,
): Promise<number | undefined> {
  const result = await db.query<{ attempts: number }>(
    `INSERT INTO report_runs AS r (kind, day, domain, claimed_by, claimed_until, attempts)
     VALUES ($1, $2::date, $3, $4, now() + make_interval(secs => $5::double precision / 1000), 1)
     ON CONFLICT (kind, day, domain) DO UPDATE
        SET claimed_by = EXCLUDED.claimed_by, claimed_until = EXCLUDED.claimed_until, attempts = r.attempts + 1
      WHERE r.state = 'pending' AND (r.claimed_until IS NULL OR r.claimed_until < now())
     RETURNING r.attempts`,
    [key.kind, key.day, key.domain, worker, claimMs],
  );
  return result.rows[0]?.attempts;
}

/**
 * Gives the claim back to try again after `retryInMs` (a DNS lookup failed for now), or
 * gives up for good ('failed') when this was attempt `maxAttempts`.
 */
export async function postponeReportRun(
  db: Queryable,
  key: ReportRunKey,
  worker: string,
  options: { readonly retryInMs: number; readonly maxAttempts: number; readonly detail: string },
): Promise<'postponed' | 'failed' | 'not-held'> {
  const result = await db.query<{ state: string }>(
    `UPDATE report_runs
        SET state = CASE WHEN attempts >= $5 THEN 'failed' ELSE 'pending' END,
            claimed_by = NULL,
            claimed_until = CASE WHEN attempts >= $5 THEN NULL
                                 ELSE now() + make_interval(secs => $6::double precision / 1000) END,
            finished_at = CASE WHEN attempts >= $5 THEN now() END,
            detail = $7
      WHERE kind = $1 AND day = $2::date AND domain = $3 AND claimed_by = $4 AND state = 'pending'
      RETURNING state`,
    [key.kind, key.day, key.domain, worker, options.maxAttempts, options.retryInMs, options.detail],
  );
  const state = result.rows[0]?.state;
  return state === undefined ? 'not-held' : state === 'failed' ? 'failed' : 'postponed';
}

/**
 * Ends a claimed report: 'sent' with its messages, queued in the same transaction (state
 * 'queued', due at once: any worker's due scan publishes their jobs), or 'skipped' with none.
 * Returns false, queueing nothing, when the claim was no longer this worker's.
 */
export async function finishReportRun(
  pool: pg.Pool,
  key: ReportRunKey,
  worker: string,
  outcome: {
    readonly state: 'sent' | 'skipped';
    readonly reportId?: string | undefined;
    readonly detail: string;
    readonly messages: readonly OutgoingReport[];
  },
): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const finished = await client.query(
      `UPDATE report_runs
          SET state = $5, claimed_by = NULL, claimed_until = NULL, finished_at = now(), report_id = $6, detail = $7
        WHERE kind = $1 AND day = $2::date AND domain = $3 AND claimed_by = $4 AND state = 'pending'`,
      [key.kind, key.day, key.domain, worker, outcome.state, outcome.reportId ?? null, outcome.detail],
    );
    if (finished.rowCount !== 1) return false;
    for (const message of outcome.messages) await queueReport(client, message);
    return true;
  });
}

async function queueReport(client: pg.PoolClient, report: OutgoingReport): Promise<void> {
  const sha256 = blobId(report.raw);
  await client.query(
    'INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING',
    [sha256, report.raw.length, report.raw],
  );
  await client.query(
    `INSERT INTO queue (id, state, blob_sha256, size, sender, message_id, listener)
     VALUES ($1, 'queued', $2, $3, $4, $5, 'report')`,
    [report.queueId, sha256, report.raw.length, report.sender, report.messageId],
  );
  // NOTIFY=NEVER (RFC 3461): a report that cannot be delivered is not worth a bounce, to us
  // or, passed on, from the next MTA. Due now, so the due scan finds it without a job.
  await client.query(
    `INSERT INTO deliveries (queue_id, recipient, dsn_notify, next_attempt_at) VALUES ($1, $2, '{NEVER}', now())`,
    [report.queueId, report.recipient],
  );
}

export interface ReportRun extends ReportRunKey {
  readonly state: 'pending' | 'sent' | 'skipped' | 'failed';
  readonly attempts: number;
  readonly reportId: string | null;
  readonly detail: string | null;
  readonly finishedAt: Date | null;
}

/** The reports of the days since `fromDay`, newest day first, for `tegami report list`. */
export async function listReportRuns(db: Queryable, fromDay: string): Promise<ReportRun[]> {
  const result = await db.query(
    `SELECT kind, to_char(day, 'YYYY-MM-DD') AS day, domain, state, attempts, report_id, detail, finished_at
       FROM report_runs WHERE day >= $1::date ORDER BY day DESC, kind, domain LIMIT 1000`,
    [fromDay],
  );
  return result.rows.map((row) => ({
    kind: row.kind,
    day: row.day,
    domain: row.domain,
    state: row.state,
    attempts: row.attempts,
    reportId: row.report_id,
    detail: row.detail,
    finishedAt: row.finished_at,
  }));
}

/** Forgets the counts and runs of the days before `beforeDay`. */
export async function pruneReportData(db: Queryable, beforeDay: string): Promise<number> {
  const result = await db.query<{ n: string }>(
    `WITH t AS (DELETE FROM tls_report_results WHERE day < $1::date RETURNING 1),
          d AS (DELETE FROM dmarc_report_records WHERE day < $1::date RETURNING 1),
          r AS (DELETE FROM report_runs WHERE day < $1::date RETURNING 1)
     SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM d) + (SELECT count(*) FROM r) AS n`,
    [beforeDay],
  );
  return Number(result.rows[0]?.n ?? 0);
}
