import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { blobId, storeBlobsSql } from './blobs.js';
import { committedQueueIds } from './commit-outcome.js';
import { type Queryable, withTransaction } from './db.js';

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

// The queue id's advisory lock: held by the transaction that writes the row, so a worker
// that has the job before that transaction ends can wait for it (awaitAcceptance). The
// two-key form, whose key space is apart from the one-key locks (the migrator's); a hash
// collision between two queue ids only makes a worker wait for the other's commit.
const acceptanceLock = (queueIdParam: string) => `1952802657, hashtext(${queueIdParam})`;
// Longer than a publish may take (the bus gives up after its request timeout, 5 s): an
// ingress that vanished mid-publish (no FIN, no RST) does not hold the lock for longer.
const ACCEPTANCE_IDLE_TIMEOUT = '30s';
const PREPARED_BATCH_SIZES = 16;

/**
 * The message, its queue row (already 'queued') and one delivery row per recipient, in one
 * statement, holding the queue id's acceptance lock until its transaction ends. Inside
 * queueAcceptedMessage it is smtp-ingress's acceptance; alone (its own implicit
 * transaction) it is for callers that publish the job after the commit and leave a lost
 * publish to the due scan, as DSNs do.
 */
export async function recordAcceptedMessage(db: Queryable, message: AcceptedMessage): Promise<void> {
  await recordAcceptedMessages(db, [message]);
}

/**
 * recordAcceptedMessage for several messages at once, still one statement: the group
 * commit of acceptance-batch.ts writes the messages of concurrent sessions with it. All
 * or none: a failure (one bad row) leaves none of them.
 */
export async function recordAcceptedMessages(
  db: Queryable,
  messages: readonly AcceptedMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  // One statement, so one round trip: this is on the path of every "250". Foreign keys are
  // checked at the end of the statement, after the blobs' INSERT in the same WITH. The
  // locks are taken in `acceptance`, an aggregate (always one row, every lock taken) that
  // the queue rows' INSERT joins, so it is never skipped; in the order of their keys, so two
  // batches whose ids collide in the hash wait for each other instead of deadlocking. The
  // blobs are parameters of their own (binary, as pg sends a Buffer), never in an array,
  // which pg would send as hex text at twice the size; the rest travels in arrays.
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const shas = messages.map((m) => blobId(m.raw));
  const blobRows = messages
    .map((m, i) => `(${param(shas[i])}::bytea, ${param(m.raw.length)}::bigint, ${param(m.raw)}::bytea)`)
    .join(', ');
  const ids = param(messages.map((m) => m.queueId));
  const column = (values: unknown[]) => param(values);
  const queueColumns = [
    column(shas.map((sha) => sha.toString('hex'))),
    column(messages.map((m) => m.raw.length)),
    column(messages.map((m) => m.sender)),
    column(messages.map((m) => m.messageId ?? null)),
    column(messages.map((m) => m.clientAddress ?? null)),
    column(messages.map((m) => m.clientHelo ?? null)),
    column(messages.map((m) => m.listener ?? null)),
    column(messages.map((m) => m.authenticatedAs ?? null)),
    column(messages.map((m) => m.dsnEnvid ?? null)),
    column(messages.map((m) => m.dsnRet ?? null)),
    column(messages.map((m) => m.junk ?? false)),
    column(messages.map((m) => (m.verdict === undefined ? null : JSON.stringify(m.verdict)))),
    column(messages.map((m) => m.requireTls ?? false)),
    column(messages.map((m) => m.tlsRequiredNo ?? false)),
  ];
  const recipients = messages.flatMap((m) => m.recipients.map((r) => ({ queueId: m.queueId, r })));
  const deliveryColumns = [
    column(recipients.map(({ queueId }) => queueId)),
    column(recipients.map(({ r }) => r.address)),
    column(
      recipients.map(({ r }) =>
        r.notify === undefined ? '' : r.notify === 'NEVER' ? 'NEVER' : r.notify.join(','),
      ),
    ),
    column(recipients.map(({ r }) => r.orcpt ?? null)),
  ];
  await db.query({
    // Named for the sizes a batch usually has, so a pooled connection plans each once; the
    // text depends only on the number of messages. Larger batches are rare and planned
    // each time, rather than a prepared statement per size on every connection.
    ...(messages.length <= PREPARED_BATCH_SIZES && { name: `tegami_record_accepted_${messages.length}` }),
    text: `WITH acceptance AS (
       SELECT count(pg_advisory_xact_lock(${acceptanceLock('l.id')})) AS locks,
              (SELECT set_config('idle_in_transaction_session_timeout', '${ACCEPTANCE_IDLE_TIMEOUT}', true)) AS idle
         FROM (SELECT id FROM unnest(${ids}::text[]) AS id ORDER BY hashtext(id)) AS l
     ), blob AS (
       ${storeBlobsSql(`(VALUES ${blobRows}) AS b(sha, size, data)`)}
     ), queued AS (
       INSERT INTO queue (id, state, blob_sha256, size, sender, message_id, client_address, client_helo, listener,
                          authenticated_as, dsn_envid, dsn_ret, junk, verdict, require_tls, tls_required_no)
       SELECT m.id, 'queued', decode(m.sha, 'hex'), m.size, m.sender, m.message_id, m.client_address, m.client_helo,
              m.listener, m.authenticated_as, m.dsn_envid, m.dsn_ret, m.junk, m.verdict::jsonb, m.require_tls,
              m.tls_required_no
         FROM unnest(${ids}::text[], ${queueColumns[0]}::text[], ${queueColumns[1]}::bigint[], ${queueColumns[2]}::text[],
                     ${queueColumns[3]}::text[], ${queueColumns[4]}::text[], ${queueColumns[5]}::text[],
                     ${queueColumns[6]}::text[], ${queueColumns[7]}::bigint[], ${queueColumns[8]}::text[],
                     ${queueColumns[9]}::text[], ${queueColumns[10]}::boolean[], ${queueColumns[11]}::text[],
                     ${queueColumns[12]}::boolean[], ${queueColumns[13]}::boolean[])
              AS m(id, sha, size, sender, message_id, client_address, client_helo, listener, authenticated_as,
                   dsn_envid, dsn_ret, junk, verdict, require_tls, tls_required_no)
        CROSS JOIN acceptance
     )
     INSERT INTO deliveries (queue_id, recipient, dsn_notify, dsn_orcpt)
     SELECT DISTINCT ON (r.queue_id, r.recipient) r.queue_id, r.recipient,
            CASE WHEN r.notify = '' THEN NULL ELSE string_to_array(r.notify, ',') END, r.orcpt
       FROM unnest(${deliveryColumns[0]}::text[], ${deliveryColumns[1]}::text[], ${deliveryColumns[2]}::text[],
                   ${deliveryColumns[3]}::text[]) AS r(queue_id, recipient, notify, orcpt)`,
    values: params,
  });
}

/**
 * smtp-ingress's acceptance: the rows of recordAcceptedMessage, then `publish` (the job,
 * resolved on the PubAck) while their transaction is open, then the commit, which waits
 * for the WAL flush. Resolves only when both hold the message; rejects, leaving no row,
 * when either step fails (a job already published then is one awaitAcceptance finds with
 * no row). The crash argument is in docs/architecture/acceptance-order.md.
 */
export async function queueAcceptedMessage(
  pool: pg.Pool,
  message: AcceptedMessage,
  publish: () => Promise<void>,
): Promise<void> {
  let published = false;
  try {
    await withTransaction(pool, async (client) => {
      await recordAcceptedMessage(client, message);
      await publish();
      published = true;
    });
  } catch (err) {
    // Published, then the COMMIT (or its answer) failed: it may have committed after all.
    if (published && (await committedQueueIds(pool, [message.queueId])).has(message.queueId)) return;
    throw err;
  }
}

/**
 * The delivery-worker's side of the handshake: waits until no transaction that could still
 * write this queue id's row is open, so that the next read of the row is the last word.
 * The job is published inside that transaction, so a worker holding the job either finds
 * the lock held (and waits for the commit or rollback, which ends it) or finds it free
 * (the row is committed, or will never be). False when the lock was still held after
 * `timeoutMs`: the ingress is alive but slow, or gone without closing its connection
 * (bounded by ACCEPTANCE_IDLE_TIMEOUT); look again later.
 */
export async function awaitAcceptance(db: Queryable, queueId: string, timeoutMs: number): Promise<boolean> {
  try {
    await db.query({
      name: 'tegami_await_acceptance',
      text: `WITH patience AS (SELECT set_config('lock_timeout', $1, true))
       SELECT pg_advisory_xact_lock(${acceptanceLock('$2')}) FROM patience`,
      values: [`${Math.max(1, Math.round(timeoutMs))}ms`, queueId],
    });
    return true;
  } catch (err) {
    // 55P03 lock_not_available: lock_timeout ran out.
    if ((err as { code?: string }).code === '55P03') return false;
    throw err;
  }
}

/**
 * Removes 'accepting' rows older than the given age. Only an smtp-ingress from before
 * publish-first acceptance wrote that state (a row before its job, marked 'queued' after
 * the PubAck); such a row left behind had its client told 451. Kept while a rolling
 * upgrade can still run one; see docs/architecture/acceptance-order.md.
 */
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
