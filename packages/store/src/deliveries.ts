import type pg from 'pg';
import { blobId } from './blobs.js';
import type { Queryable } from './db.js';
import { withTransaction } from './db.js';

// The delivery-worker's side of the queue: which recipients of a message are due, who
// is working on them, and what became of each. Every outcome is written with the
// attempt that produced it, which is what `tegami trace` shows.

export interface QueueEntry {
  readonly queueId: string;
  readonly state: 'accepting' | 'queued' | 'done';
  readonly sender: string;
  readonly size: number;
  readonly blobSha256: Buffer;
  readonly messageId: string | null;
  readonly dsnEnvid: string | null;
  readonly dsnRet: 'FULL' | 'HDRS' | null;
  readonly clientAddress: string | null;
  readonly clientHelo: string | null;
  /**
   * The account that sent it through AUTH on submission; null for anything else (port 25,
   * POP-before-SMTP, an account removed since): then the envelope sender is unverified.
   */
  readonly authenticatedAs: string | null;
  readonly receivedAt: Date;
  /** For a delivery status notification: the queue id of the message it reports on. */
  readonly reportsOn: string | null;
  /** Local copies go to the recipient's Junk mailbox (the inbound checks said so). */
  readonly junk: boolean;
  /**
   * RFC 8689: relayed only over validated TLS to an authenticated MX that offers REQUIRETLS,
   * with REQUIRETLS on its MAIL FROM; set on the notices about such a message too (§5).
   */
  readonly requireTls: boolean;
  /** RFC 8689 §3 "TLS-Required: No": MTA-STS and DANE are not enforced for this message. */
  readonly tlsRequiredNo: boolean;
}

function toQueueEntry(row: Record<string, unknown>): QueueEntry {
  return {
    queueId: row.id as string,
    state: row.state as QueueEntry['state'],
    sender: row.sender as string,
    size: Number(row.size),
    blobSha256: row.blob_sha256 as Buffer,
    messageId: row.message_id as string | null,
    dsnEnvid: row.dsn_envid as string | null,
    dsnRet: row.dsn_ret as QueueEntry['dsnRet'],
    clientAddress: row.client_address as string | null,
    clientHelo: row.client_helo as string | null,
    authenticatedAs: row.authenticated_as === null ? null : String(row.authenticated_as),
    receivedAt: new Date(row.received_at as string | Date),
    reportsOn: row.reports_on as string | null,
    junk: row.junk === true,
    requireTls: row.require_tls === true,
    tlsRequiredNo: row.tls_required_no === true,
  };
}

export interface DueDelivery {
  readonly id: string;
  readonly recipient: string;
  readonly notify: readonly string[] | null;
  readonly orcpt: string | null;
  /** Attempts before this one. */
  readonly attempts: number;
  readonly expandedFrom: string | null;
  readonly delayNotified: boolean;
}

/**
 * Claims the recipients of a message that are due now and that nobody holds; `worker`
 * names this one handling of the job (two jobs for one message in one process are two
 * claimants).
 * A claim lasts claimMs (renew it with extendClaims while working): if this worker
 * dies, the recipients become due again for whoever gets the job next.
 */
export async function claimDueDeliveries(
  db: Queryable,
  queueId: string,
  worker: string,
  claimMs: number,
): Promise<DueDelivery[]> {
  const result = await db.query(
    `UPDATE deliveries
        SET claimed_by = $2, claimed_until = now() + make_interval(secs => $3::double precision / 1000)
      WHERE queue_id = $1 AND status IN ('pending', 'deferred')
        AND (next_attempt_at IS NULL OR next_attempt_at <= now())
        AND (claimed_until IS NULL OR claimed_until < now())
      RETURNING id, recipient, dsn_notify, dsn_orcpt, attempts, expanded_from, delay_notified`,
    [queueId, worker, claimMs],
  );
  return result.rows
    .map((row) => ({
      id: String(row.id),
      recipient: row.recipient,
      notify: row.dsn_notify,
      orcpt: row.dsn_orcpt,
      attempts: row.attempts,
      expandedFrom: row.expanded_from,
      delayNotified: row.delay_notified,
    }))
    .sort((a, b) => Number(a.id) - Number(b.id));
}

export interface ClaimedMessage {
  readonly entry: QueueEntry;
  /** The message's bytes; undefined unless some recipient was claimed. */
  readonly message: Buffer | undefined;
  readonly due: DueDelivery[];
}

/**
 * What handling a job starts with, in one round trip: the queue row, and when it is
 * 'queued', its due recipients claimed (as claimDueDeliveries) and the message's bytes.
 */
export async function claimQueuedMessage(
  db: Queryable,
  queueId: string,
  worker: string,
  claimMs: number,
): Promise<ClaimedMessage | undefined> {
  const [claimed] = await claimQueuedMessages(db, [{ queueId, worker }], claimMs);
  return claimed;
}

/**
 * claimQueuedMessage for the jobs a worker took at about the same time, in one statement:
 * the answer for each request, in order. Two requests for one message (two jobs for it)
 * are two claimants: a recipient goes to one of them only.
 */
export async function claimQueuedMessages(
  db: Queryable,
  requests: readonly { readonly queueId: string; readonly worker: string }[],
  claimMs: number,
): Promise<(ClaimedMessage | undefined)[]> {
  if (requests.length === 0) return [];
  // Named, as every statement on the delivery path: a pooled connection parses and plans it
  // once, where planning this text each time cost Postgres more than running it.
  const result = await db.query({
    name: 'tegami_claim_queued',
    text: `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(queue_id, claimant, ord)
     ), q AS (
       SELECT id, state, sender, size, blob_sha256, message_id, dsn_envid, dsn_ret, client_address,
              client_helo, authenticated_as, received_at, reports_on, junk, require_tls, tls_required_no
         FROM queue WHERE id IN (SELECT queue_id FROM input)
     ), claimed AS (
       UPDATE deliveries d
          SET claimed_by = i.claimant, claimed_until = now() + make_interval(secs => $3::double precision / 1000)
         FROM input i JOIN q ON q.id = i.queue_id AND q.state = 'queued'
        WHERE d.queue_id = i.queue_id AND d.status IN ('pending', 'deferred')
          AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now())
          AND (d.claimed_until IS NULL OR d.claimed_until < now())
        RETURNING d.id, d.queue_id, d.claimed_by, d.recipient, d.dsn_notify, d.dsn_orcpt, d.attempts,
                  d.expanded_from, d.delay_notified
     )
     SELECT i.ord, q.*,
            CASE WHEN EXISTS (SELECT 1 FROM claimed c WHERE c.queue_id = q.id AND c.claimed_by = i.claimant)
                 THEN (SELECT data FROM blobs WHERE sha256 = q.blob_sha256) END AS data,
            COALESCE((SELECT json_agg(c ORDER BY c.id) FROM claimed c
                       WHERE c.queue_id = q.id AND c.claimed_by = i.claimant), '[]'::json) AS claimed
       FROM input i JOIN q ON q.id = i.queue_id`,
    values: [requests.map((r) => r.queueId), requests.map((r) => r.worker), claimMs],
  });
  const answers: (ClaimedMessage | undefined)[] = requests.map(() => undefined);
  for (const row of result.rows) {
    answers[Number(row.ord) - 1] = {
      entry: toQueueEntry(row),
      message: row.data ?? undefined,
      due: (row.claimed as Array<Record<string, unknown>>).map((c) => ({
        id: String(c.id),
        recipient: c.recipient as string,
        notify: (c.dsn_notify as string[] | null) ?? null,
        orcpt: (c.dsn_orcpt as string | null) ?? null,
        attempts: c.attempts as number,
        expandedFrom: (c.expanded_from as string | null) ?? null,
        delayNotified: c.delay_notified as boolean,
      })),
    };
  }
  return answers;
}

export async function extendClaims(
  db: Queryable,
  ids: readonly string[],
  worker: string,
  claimMs: number,
): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE deliveries SET claimed_until = now() + make_interval(secs => $3::double precision / 1000)
      WHERE id = ANY($1::bigint[]) AND claimed_by = $2`,
    [ids, worker, claimMs],
  );
}

export interface RemainingWork {
  /** Recipients not yet delivered, bounced, relayed or dropped. */
  readonly unfinished: number;
  /** When the earliest of them is due (now or in the past when one is due already). */
  readonly nextDueAt: Date | null;
}

/**
 * After an attempt, in one round trip: marks the message done when no recipient is left
 * to try, and otherwise says how many wait and when the first is due.
 */
export async function finishOrRemaining(
  db: Queryable,
  queueId: string,
): Promise<RemainingWork & { done: boolean }> {
  const result = await db.query<{ unfinished: string; next_due: Date | null; done: boolean }>(
    `WITH rest AS (
       SELECT count(*) AS unfinished,
              min(GREATEST(COALESCE(next_attempt_at, now()), COALESCE(claimed_until, now()))) AS next_due
         FROM deliveries WHERE queue_id = $1 AND status IN ('pending', 'deferred')
     ), done AS (
       UPDATE queue SET state = 'done' WHERE id = $1 AND state = 'queued' AND (SELECT unfinished FROM rest) = 0
       RETURNING 1
     )
     SELECT unfinished, next_due, EXISTS (SELECT 1 FROM done) AS done FROM rest`,
    [queueId],
  );
  const row = result.rows[0]!;
  return { unfinished: Number(row.unfinished), nextDueAt: row.next_due, done: row.done };
}

/**
 * Replaces an alias recipient by its destinations (rows of their own, which are due at
 * once). A destination already among the message's recipients is not added twice; an
 * alias whose destinations are all aliases expanded already is a loop, left to the caller.
 */
export async function expandRecipient(
  pool: pg.Pool,
  delivery: { readonly id: string; readonly queueId: string; readonly worker: string },
  destinations: readonly string[],
  originalRecipient: string,
): Promise<'expanded' | 'loop' | 'not-held'> {
  return withTransaction(pool, async (client) => {
    // Every destination an alias of this message that was expanded already: the alias
    // only leads back into the loop (a → b → a), and the mail would go nowhere.
    const seen = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM deliveries WHERE queue_id = $1 AND recipient = ANY($2::text[]) AND status = 'expanded'`,
      [delivery.queueId, destinations],
    );
    if (destinations.length > 0 && Number(seen.rows[0]!.n) === destinations.length) return 'loop';
    const parent = await client.query<{ dsn_notify: string[] | null; dsn_orcpt: string | null }>(
      `UPDATE deliveries SET status = 'expanded', finished_at = now(), claimed_by = NULL, claimed_until = NULL,
              last_reply = $3, last_attempt_at = now()
        WHERE id = $1 AND claimed_by = $2 AND status IN ('pending', 'deferred')
        RETURNING dsn_notify, dsn_orcpt`,
      [delivery.id, delivery.worker, `expanded to ${destinations.join(', ')}`],
    );
    if (!parent.rows[0]) return 'not-held';
    await client.query(
      `INSERT INTO deliveries (queue_id, recipient, dsn_notify, dsn_orcpt, expanded_from)
       SELECT $1, d, $3, $4, $5 FROM unnest($2::text[]) AS d
       ON CONFLICT (queue_id, recipient) DO NOTHING`,
      [
        delivery.queueId,
        destinations,
        parent.rows[0].dsn_notify,
        parent.rows[0].dsn_orcpt ?? `rfc822;${originalRecipient}`,
        originalRecipient,
      ],
    );
    await client.query(
      `INSERT INTO delivery_attempts (delivery_id, outcome, reply) VALUES ($1, 'expanded', $2)`,
      [delivery.id, `expanded to ${destinations.join(', ')}`],
    );
    return 'expanded';
  });
}

export type FinalOutcome = 'delivered' | 'relayed' | 'bounced' | 'dropped';

export interface DeliveryOutcome {
  readonly deliveryId: string;
  readonly outcome: FinalOutcome | 'deferred';
  /** The reply as the peer (or this server) gave it: "550 5.1.1 <x@y>: no such user". */
  readonly reply: string;
  /** Enhanced status code (RFC 3463) for the DSN: 2.0.0, 4.4.1, 5.1.1... */
  readonly statusCode: string;
  readonly mxHost?: string | undefined;
  readonly address?: string | undefined;
  /** For 'deferred': when to try again. */
  readonly nextAttemptAt?: Date | undefined;
  /** The DELAY notification for this recipient went out with this settlement. */
  readonly delayNotified?: boolean | undefined;
}

/** A message this server sends about another one: a DSN, from <> to its sender. */
export interface ReportMessage {
  readonly queueId: string;
  readonly raw: Buffer;
  readonly recipient: string;
  readonly reportsOn: string;
  readonly messageId: string;
  /** A notice about a REQUIRETLS message is one too (RFC 8689 §5). */
  readonly requireTls?: boolean | undefined;
  /** What made it, for the trace: 'dsn' unless said (a Sieve vacation reply or reject is 'sieve'). */
  readonly listener?: string | undefined;
}

/**
 * Writes the outcomes of one attempt, and the delivery status notification they call for
 * (if any), in one transaction: a bounce is never recorded without its DSN, nor a DSN
 * queued twice for one bounce. Only rows this worker still holds are changed; the
 * report is queued 'queued' at once (nothing answers a client here), and the caller
 * publishes its job (the stranded-job sweep publishes it if that fails).
 */
export async function settleDeliveries(
  pool: pg.Pool,
  worker: string,
  outcomes: readonly DeliveryOutcome[],
  report?: ReportMessage,
): Promise<number> {
  if (outcomes.length === 0 && !report) return 0;
  return withTransaction(pool, async (client) => {
    let settled = 0;
    for (const o of outcomes) {
      const final = o.outcome !== 'deferred';
      const updated = await client.query(
        `UPDATE deliveries
            SET status = $3, attempts = attempts + 1, last_attempt_at = now(), last_reply = $4,
                status_code = $5, remote_mta = $6, next_attempt_at = $7,
                delay_notified = delay_notified OR $8, finished_at = CASE WHEN $9 THEN now() END,
                claimed_by = NULL, claimed_until = NULL
          WHERE id = $1 AND claimed_by = $2 AND status IN ('pending', 'deferred')`,
        [
          o.deliveryId,
          worker,
          o.outcome,
          o.reply,
          o.statusCode,
          o.mxHost ?? null,
          final ? null : (o.nextAttemptAt ?? new Date()),
          o.delayNotified ?? false,
          final,
        ],
      );
      if (!updated.rowCount) continue;
      settled++;
      await client.query(
        `INSERT INTO delivery_attempts (delivery_id, outcome, mx_host, address, reply) VALUES ($1, $2, $3, $4, $5)`,
        [o.deliveryId, o.outcome, o.mxHost ?? null, o.address ?? null, o.reply],
      );
    }
    // A report about recipients settled elsewhere (a local delivery's SUCCESS notice) comes
    // with no outcomes; one about these outcomes only if they were still ours to settle.
    if (report && (settled > 0 || outcomes.length === 0)) await insertReport(client, report);
    return settled;
  });
}

/** Queues a message from the null sender `<>` inside the caller's transaction (the job is the caller's to publish after the commit). */
export async function insertReport(client: pg.PoolClient, report: ReportMessage): Promise<void> {
  const sha256 = blobId(report.raw);
  await client.query(
    'INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING',
    [sha256, report.raw.length, report.raw],
  );
  await client.query(
    `INSERT INTO queue (id, state, blob_sha256, size, sender, message_id, listener, reports_on, require_tls)
     VALUES ($1, 'queued', $2, $3, '', $4, $7, $5, $6)`,
    [
      report.queueId,
      sha256,
      report.raw.length,
      report.messageId,
      report.reportsOn,
      report.requireTls ?? false,
      report.listener ?? 'dsn',
    ],
  );
  await client.query('INSERT INTO deliveries (queue_id, recipient) VALUES ($1, $2)', [
    report.queueId,
    report.recipient,
  ]);
}

/** Gives up claims without an outcome (the worker is stopping): they are due again. */
export async function releaseClaims(db: Queryable, ids: readonly string[], worker: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::bigint[]) AND claimed_by = $2`,
    [ids, worker],
  );
}

export interface DueMessage {
  readonly queueId: string;
  /** The earliest due time among its waiting recipients: part of the job's dedupe id. */
  readonly dueAt: Date;
}

/**
 * Frees every claim at once. Only for a worker that is the sole one on its database and has
 * just started (the standalone): any claim left is from a run that was killed mid-delivery.
 */
export async function releaseAbandonedClaims(db: Queryable): Promise<number> {
  const result = await db.query(
    `UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL
      WHERE claimed_until IS NOT NULL AND status IN ('pending', 'deferred')`,
  );
  return result.rowCount ?? 0;
}

/**
 * Messages with a recipient due for another attempt and held by nobody. Retries longer
 * than a short wait are not parked in NATS (a nak'd job stays pending on the consumer and
 * counts against its limit) but come back through here: the worker publishes a job for
 * each. A pending recipient that never had an attempt is only listed once it is older
 * than strandedAfterMs (its job was lost: a publish that failed after the commit).
 */
export async function findDueMessages(
  db: Queryable,
  strandedAfterMs: number,
  limit: number,
): Promise<DueMessage[]> {
  const result = await db.query<{ queue_id: string; due_at: Date }>(
    `SELECT d.queue_id, min(COALESCE(d.next_attempt_at, q.received_at)) AS due_at
       FROM deliveries d JOIN queue q ON q.id = d.queue_id
      WHERE q.state = 'queued' AND d.status IN ('pending', 'deferred')
        AND (d.claimed_until IS NULL OR d.claimed_until < now())
        AND (d.next_attempt_at <= now()
             -- A claim that ran out on a recipient never tried: its worker died holding it,
             -- and the job that would have come back for it may be gone with it.
             OR (d.next_attempt_at IS NULL AND d.claimed_until IS NOT NULL)
             OR (d.next_attempt_at IS NULL
                 AND q.received_at < now() - make_interval(secs => $1::double precision / 1000)))
      GROUP BY d.queue_id
      ORDER BY due_at
      LIMIT $2`,
    [strandedAfterMs, limit],
  );
  return result.rows.map((row) => ({ queueId: row.queue_id, dueAt: row.due_at }));
}

/**
 * The queue's backlog across all workers: messages with a recipient still to deliver, and
 * the age in seconds of the oldest of them (0 if none).
 */
export async function queueBacklog(db: Queryable): Promise<{ depth: number; oldestAgeSeconds: number }> {
  const result = await db.query<{ depth: string; age: number | null }>(
    `SELECT count(*) AS depth, EXTRACT(EPOCH FROM now() - min(q.received_at))::double precision AS age
       FROM queue q WHERE q.state = 'queued'
        AND EXISTS (SELECT 1 FROM deliveries d WHERE d.queue_id = q.id AND d.status IN ('pending', 'deferred'))`,
  );
  return { depth: Number(result.rows[0]?.depth ?? 0), oldestAgeSeconds: result.rows[0]?.age ?? 0 };
}
