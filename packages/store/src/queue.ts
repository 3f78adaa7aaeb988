import { randomBytes } from 'node:crypto';
import { blobId } from './blobs.js';
import type { Queryable } from './db.js';

export type DsnNotify = readonly ('SUCCESS' | 'FAILURE' | 'DELAY')[] | 'NEVER';

export interface AcceptedRecipient {
  /** The envelope recipient as accepted (lower-case domain). */
  readonly address: string;
  readonly notify?: DsnNotify;
  readonly orcpt?: string;
}

export interface AcceptedMessage {
  readonly queueId: string;
  /** The message exactly as it will be delivered (with our Received header). */
  readonly raw: Buffer;
  /** '' for the null reverse-path <>. */
  readonly sender: string;
  readonly recipients: readonly AcceptedRecipient[];
  readonly messageId?: string | undefined;
  readonly clientAddress?: string | undefined;
  readonly clientHelo?: string | undefined;
  readonly listener?: string | undefined;
  readonly authenticatedAs?: string | undefined;
  readonly dsnEnvid?: string | undefined;
  readonly dsnRet?: 'FULL' | 'HDRS' | undefined;
  /** Filed into each local recipient's Junk mailbox rather than INBOX (DMARC quarantine, spam). */
  readonly junk?: boolean | undefined;
  /** The inbound checks' results, for `tegami trace`. */
  readonly verdict?: unknown;
  /** RFC 8689 §4.1: MAIL FROM carried REQUIRETLS. */
  readonly requireTls?: boolean | undefined;
  /** RFC 8689 §4.1: the header said "TLS-Required: No" (and MAIL FROM had no REQUIRETLS). */
  readonly tlsRequiredNo?: boolean | undefined;
}

// Crockford's base32 without I, L, O, U: unambiguous when an operator reads one aloud.
const QUEUE_ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 16 characters, 80 random bits: unique without coordination between ingress replicas. */
export function newQueueId(): string {
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let id = '';
  for (let i = 0; i < 16; i++) {
    id = QUEUE_ID_ALPHABET[Number(bits & 31n)] + id;
    bits >>= 5n;
  }
  return id;
}

/**
 * Step one of accepting a message: the blob, the queue row and one delivery row per
 * recipient, in one transaction, in state 'accepting'. Nothing delivers an 'accepting'
 * message: only markQueued, after JetStream has acknowledged the job, makes it real.
 */
export async function recordAcceptedMessage(db: Queryable, message: AcceptedMessage): Promise<void> {
  // One statement (so one round trip and one implicit transaction): this is on the path
  // of every "250", and round trips to Postgres are most of its cost. Foreign keys are
  // checked at the end of the statement, after the blob's INSERT in the same WITH.
  //
  // Its commit does not wait for the WAL flush (synchronous_commit off for this
  // transaction only): nothing is promised on it. The promise is markQueued's commit,
  // which waits for the flush, and WAL is flushed in order, so this row is durable
  // before markQueued returns. A crash in between loses only an 'accepting' row whose
  // client was never told 250. That saves one fsync per message.
  await db.query(
    `WITH async_commit AS (
       SELECT set_config('synchronous_commit', 'off', true)
     ), blob AS (
       INSERT INTO blobs (sha256, size, data) VALUES ($1, $3, $12) ON CONFLICT (sha256) DO NOTHING
     ), queued AS (
       INSERT INTO queue (id, blob_sha256, size, sender, message_id, client_address, client_helo, listener,
                          authenticated_as, dsn_envid, dsn_ret, junk, verdict, require_tls, tls_required_no)
       VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $16, $17, $18, $19)
     )
     INSERT INTO deliveries (queue_id, recipient, dsn_notify, dsn_orcpt)
     SELECT DISTINCT ON (r.recipient) $2, r.recipient,
            CASE WHEN r.notify = '' THEN NULL ELSE string_to_array(r.notify, ',') END, r.orcpt
       FROM unnest($13::text[], $14::text[], $15::text[]) AS r(recipient, notify, orcpt), async_commit`,
    [
      blobId(message.raw),
      message.queueId,
      message.raw.length,
      message.sender,
      message.messageId ?? null,
      message.clientAddress ?? null,
      message.clientHelo ?? null,
      message.listener ?? null,
      message.authenticatedAs ?? null,
      message.dsnEnvid ?? null,
      message.dsnRet ?? null,
      message.raw,
      message.recipients.map((r) => r.address),
      message.recipients.map((r) =>
        r.notify === undefined ? '' : r.notify === 'NEVER' ? 'NEVER' : r.notify.join(','),
      ),
      message.recipients.map((r) => r.orcpt ?? null),
      message.junk ?? false,
      message.verdict === undefined ? null : JSON.stringify(message.verdict),
      message.requireTls ?? false,
      message.tlsRequiredNo ?? false,
    ],
  );
}

/** Step two, after the PubAck: from now on the message must be delivered. */
export async function markQueued(db: Queryable, queueId: string): Promise<void> {
  await db.query(`UPDATE queue SET state = 'queued' WHERE id = $1 AND state = 'accepting'`, [queueId]);
}

/**
 * Undoes step one when the job could not be published: the client is answered 451 and
 * will send the message again. If Postgres is down too, sweepAbandoned removes it later.
 */
export async function discardAccepting(db: Queryable, queueId: string): Promise<void> {
  await db.query(`DELETE FROM queue WHERE id = $1 AND state = 'accepting'`, [queueId]);
}

/** Removes 'accepting' rows older than the given age: their clients were told to retry. */
export async function sweepAbandoned(db: Queryable, olderThanMs: number): Promise<number> {
  const result = await db.query(
    `DELETE FROM queue WHERE state = 'accepting' AND received_at < now() - make_interval(secs => $1::double precision / 1000)`,
    [olderThanMs],
  );
  return result.rowCount ?? 0;
}

export interface QueuedMessage {
  readonly queueId: string;
  readonly state: 'accepting' | 'queued' | 'done';
  readonly sender: string;
  readonly size: number;
  readonly raw: Buffer;
  readonly recipients: readonly {
    address: string;
    notify: string[] | null;
    orcpt: string | null;
    status: string;
  }[];
  readonly dsnEnvid: string | null;
  readonly dsnRet: 'FULL' | 'HDRS' | null;
  readonly listener: string | null;
  readonly authenticatedAs: string | null;
  readonly receivedAt: Date;
  readonly requireTls: boolean;
  readonly tlsRequiredNo: boolean;
}

export async function findQueuedMessage(db: Queryable, queueId: string): Promise<QueuedMessage | undefined> {
  const result = await db.query(
    `SELECT q.id, q.state, q.sender, q.size, b.data, q.dsn_envid, q.dsn_ret, q.listener, q.authenticated_as, q.received_at,
            q.require_tls, q.tls_required_no,
            COALESCE((SELECT json_agg(json_build_object('address', d.recipient, 'notify', d.dsn_notify,
                       'orcpt', d.dsn_orcpt, 'status', d.status) ORDER BY d.id)
                      FROM deliveries d WHERE d.queue_id = q.id), '[]') AS recipients
       FROM queue q JOIN blobs b ON b.sha256 = q.blob_sha256 WHERE q.id = $1`,
    [queueId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    queueId: row.id,
    state: row.state,
    sender: row.sender,
    size: Number(row.size),
    raw: row.data,
    recipients: row.recipients,
    dsnEnvid: row.dsn_envid,
    dsnRet: row.dsn_ret,
    listener: row.listener,
    authenticatedAs: row.authenticated_as,
    receivedAt: row.received_at,
    requireTls: row.require_tls,
    tlsRequiredNo: row.tls_required_no,
  };
}
