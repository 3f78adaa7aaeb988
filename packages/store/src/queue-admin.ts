import type { Queryable } from './db.js';

// What the operator's `tegami queue` and `tegami trace` read and change.

export interface PendingRecipient {
  readonly queueId: string;
  readonly sender: string;
  readonly recipient: string;
  readonly status: string;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastReply: string | null;
  readonly receivedAt: Date;
  readonly size: number;
}

export async function listPendingRecipients(db: Queryable, limit = 1000): Promise<PendingRecipient[]> {
  const result = await db.query(
    `SELECT q.id, q.sender, q.size, q.received_at, d.recipient, d.status, d.attempts, d.next_attempt_at, d.last_reply
       FROM deliveries d JOIN queue q ON q.id = d.queue_id
      WHERE q.state = 'queued' AND d.status IN ('pending', 'deferred')
      ORDER BY q.received_at, q.id, d.id
      LIMIT $1`,
    [limit],
  );
  return result.rows.map((row) => ({
    queueId: row.id,
    sender: row.sender,
    recipient: row.recipient,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastReply: row.last_reply,
    receivedAt: row.received_at,
    size: Number(row.size),
  }));
}

/**
 * Makes waiting recipients due now (one message, or all when queueId is undefined) and
 * returns the queue ids whose job must be published again.
 */
export async function retryNow(db: Queryable, queueId?: string): Promise<string[]> {
  const result = await db.query<{ queue_id: string }>(
    `UPDATE deliveries d SET next_attempt_at = now()
       FROM queue q
      WHERE q.id = d.queue_id AND q.state = 'queued' AND d.status IN ('pending', 'deferred')
        AND ($1::text IS NULL OR d.queue_id = $1)
      RETURNING d.queue_id`,
    [queueId ?? null],
  );
  return [...new Set(result.rows.map((row) => row.queue_id))];
}

/** Gives up on a message without a DSN: returns how many recipients were dropped. */
export async function dropQueued(db: Queryable, queueId: string): Promise<number> {
  const result = await db.query(
    `WITH dropped AS (
       UPDATE deliveries SET status = 'dropped', finished_at = now(), last_reply = 'dropped by the operator',
              claimed_by = NULL, claimed_until = NULL, next_attempt_at = NULL
        WHERE queue_id = $1 AND status IN ('pending', 'deferred')
        RETURNING id
     ), attempts AS (
       INSERT INTO delivery_attempts (delivery_id, outcome, reply)
       SELECT id, 'dropped', 'dropped by the operator' FROM dropped
     ), done AS (
       UPDATE queue SET state = 'done' WHERE id = $1 AND state = 'queued'
     )
     SELECT count(*) AS n FROM dropped`,
    [queueId],
  );
  return Number(result.rows[0]?.n ?? 0);
}

export interface TraceAttempt {
  readonly at: Date;
  readonly outcome: string;
  readonly mxHost: string | null;
  readonly address: string | null;
  readonly reply: string | null;
}

export interface TraceRecipient {
  readonly recipient: string;
  readonly expandedFrom: string | null;
  readonly status: string;
  readonly nextAttemptAt: Date | null;
  readonly attempts: readonly TraceAttempt[];
  /** What the recipient's Sieve script did (keep, fileinto, vacation…); null: no script ran. */
  readonly sieveActions: readonly Record<string, unknown>[] | null;
}

export interface TraceMessage {
  readonly queueId: string;
  readonly state: string;
  readonly sender: string;
  readonly messageId: string | null;
  readonly size: number;
  readonly receivedAt: Date;
  readonly clientAddress: string | null;
  readonly listener: string | null;
  readonly reportsOn: string | null;
  /** What the inbound checks of port 25 found and decided (null when none ran). */
  readonly verdict: Record<string, unknown> | null;
  readonly recipients: readonly TraceRecipient[];
}

/**
 * Every message matching a queue id or a Message-ID (with or without its angle
 * brackets), each recipient, and each attempt in order.
 */
export async function traceMessages(db: Queryable, key: string): Promise<TraceMessage[]> {
  const bare = key.replace(/^<|>$/g, '');
  const result = await db.query(
    `SELECT q.id, q.state, q.sender, q.message_id, q.size, q.received_at, q.client_address, q.listener, q.reports_on,
            q.verdict,
            COALESCE((
              SELECT json_agg(json_build_object(
                       'recipient', d.recipient, 'expandedFrom', d.expanded_from, 'status', d.status,
                       'nextAttemptAt', d.next_attempt_at, 'sieveActions', d.sieve_actions,
                       'attempts', COALESCE((
                         SELECT json_agg(json_build_object('at', a.attempted_at, 'outcome', a.outcome,
                                  'mxHost', a.mx_host, 'address', a.address, 'reply', a.reply) ORDER BY a.id)
                           FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]'::json)) ORDER BY d.id)
                FROM deliveries d WHERE d.queue_id = q.id), '[]'::json) AS recipients
       FROM queue q
      WHERE q.id = $1 OR q.message_id = $2 OR q.message_id = $3 OR q.reports_on = $1
      ORDER BY q.received_at, q.id`,
    [key, bare, `<${bare}>`],
  );
  return result.rows.map((row) => ({
    queueId: row.id,
    state: row.state,
    sender: row.sender,
    messageId: row.message_id,
    size: Number(row.size),
    receivedAt: row.received_at,
    clientAddress: row.client_address,
    listener: row.listener,
    reportsOn: row.reports_on,
    verdict: row.verdict ?? null,
    recipients: (row.recipients as Array<Record<string, unknown>>).map((r) => ({
      recipient: r.recipient as string,
      expandedFrom: (r.expandedFrom as string | null) ?? null,
      status: r.status as string,
      nextAttemptAt: r.nextAttemptAt ? new Date(r.nextAttemptAt as string) : null,
      sieveActions: (r.sieveActions as Record<string, unknown>[] | null) ?? null,
      attempts: (r.attempts as Array<Record<string, unknown>>).map((a) => ({
        at: new Date(a.at as string),
        outcome: a.outcome as string,
        mxHost: (a.mxHost as string | null) ?? null,
        address: (a.address as string | null) ?? null,
        reply: (a.reply as string | null) ?? null,
      })),
    })),
  }));
}
