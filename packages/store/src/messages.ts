import type pg from 'pg';
import { putBlob } from './blobs.js';
import { withTransaction } from './db.js';
import { StoreError } from './errors.js';

export interface AppendInput {
  readonly mailboxId: string;
  readonly raw: Buffer;
  readonly flags?: readonly string[];
  readonly internalDate?: Date;
  /** ENVELOPE, BODYSTRUCTURE and part offsets, computed once by packages/protocol/mime. */
  readonly metadata?: unknown;
  readonly searchText?: string;
}

export interface AppendedMessage {
  readonly uid: number;
  readonly modseq: bigint;
  readonly uidValidity: number;
}

const MAX_UID = 4294967295;

/**
 * Inserts a message and allocates its UID in one transaction. The UPDATE of the mailbox
 * row takes its row lock until commit, so concurrent appenders to one mailbox are
 * serialised: UIDs are strictly increasing in commit order and never reused (a rolled-back
 * allocation was never visible to anyone). The blob goes in first, outside that lock.
 */
export async function appendMessage(pool: pg.Pool, input: AppendInput): Promise<AppendedMessage> {
  return withTransaction(pool, async (client) => {
    const sha256 = await putBlob(client, input.raw);
    return insertMessage(client, input, sha256);
  });
}

/** The insert half of appendMessage, for callers already inside a transaction (delivery). */
export async function insertMessage(
  client: pg.PoolClient,
  input: AppendInput,
  blobSha256: Buffer,
): Promise<AppendedMessage> {
  const allocated = await client.query<{ uid: string; modseq: string; uidvalidity: string }>(
    `UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1
      WHERE id = $1 AND uidnext <= $2
      RETURNING uidnext - 1 AS uid, highestmodseq AS modseq, uidvalidity`,
    [input.mailboxId, MAX_UID],
  );
  const row = allocated.rows[0];
  if (!row) throw new StoreError('not_found', `no mailbox ${input.mailboxId}, or its UIDs are used up`);
  await client.query(
    `INSERT INTO messages (mailbox_id, uid, blob_sha256, size, internal_date, flags, modseq, metadata, search_text)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      input.mailboxId,
      row.uid,
      blobSha256,
      input.raw.length,
      input.internalDate ?? new Date(),
      normaliseFlags(input.flags ?? []),
      row.modseq,
      input.metadata === undefined ? null : JSON.stringify(input.metadata),
      input.searchText ?? null,
    ],
  );
  return { uid: Number(row.uid), modseq: BigInt(row.modseq), uidValidity: Number(row.uidvalidity) };
}

export type FlagOperation = 'replace' | 'add' | 'remove';

export interface FlagChange {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: bigint;
}

/**
 * STORE: changes the flags of the given UIDs. Messages whose flags actually change get one
 * new MODSEQ (RFC 7162 §3.1.3: a no-op store does not raise it).
 */
export async function updateFlags(
  pool: pg.Pool,
  mailboxId: string,
  uids: readonly number[],
  operation: FlagOperation,
  flagsInput: readonly string[],
): Promise<FlagChange[]> {
  const flags = normaliseFlags(flagsInput);
  // Flag names are case-insensitive (as normaliseFlags and SEARCH take them): a flag the
  // message has keeps its spelling on add, any spelling removes it. Sorted as normaliseFlags
  // sorts (code points), whatever the database's collation.
  const expression = {
    replace: '$3::text[]',
    add: `ARRAY(SELECT f FROM (SELECT DISTINCT ON (lower(f)) f FROM unnest(flags || $3::text[]) WITH ORDINALITY x(f, n)
                 ORDER BY lower(f), n) d ORDER BY f COLLATE "C")`,
    remove: `ARRAY(SELECT f FROM unnest(flags) f WHERE NOT lower(f) = ANY(SELECT lower(r) FROM unnest($3::text[]) r)
              ORDER BY f COLLATE "C")`,
  }[operation];
  return withTransaction(pool, async (client) => {
    const mailbox = await client.query<{ highestmodseq: string }>(
      'SELECT highestmodseq FROM mailboxes WHERE id = $1 FOR UPDATE',
      [mailboxId],
    );
    if (!mailbox.rows[0]) throw new StoreError('not_found', `no mailbox ${mailboxId}`);
    const modseq = BigInt(mailbox.rows[0].highestmodseq) + 1n;
    const changed = await client.query<{ uid: string; flags: string[] }>(
      `UPDATE messages SET flags = ${expression}, modseq = $4
        WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) AND flags IS DISTINCT FROM ${expression}
        RETURNING uid, flags`,
      [mailboxId, uids, flags, modseq.toString()],
    );
    if (changed.rowCount) {
      await client.query('UPDATE mailboxes SET highestmodseq = $2 WHERE id = $1', [
        mailboxId,
        modseq.toString(),
      ]);
    }
    return changed.rows.map((row) => ({ uid: Number(row.uid), flags: row.flags, modseq }));
  });
}

/** Removes the given messages, recording each expunge at one new MODSEQ. */
export async function expungeMessages(
  pool: pg.Pool,
  mailboxId: string,
  uids: readonly number[],
): Promise<number[]> {
  return withTransaction(pool, async (client) => {
    const mailbox = await client.query<{ highestmodseq: string }>(
      'UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq',
      [mailboxId],
    );
    if (!mailbox.rows[0]) throw new StoreError('not_found', `no mailbox ${mailboxId}`);
    const modseq = mailbox.rows[0].highestmodseq;
    const removed = await client.query<{ uid: string }>(
      'DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) RETURNING uid',
      [mailboxId, uids],
    );
    const expunged = removed.rows.map((row) => Number(row.uid)).sort((a, b) => a - b);
    if (expunged.length === 0) throw new RollbackNoChange();
    await client.query(
      `INSERT INTO expunged_messages (mailbox_id, uid, modseq) SELECT $1, unnest($2::bigint[]), $3`,
      [mailboxId, expunged, modseq],
    );
    return expunged;
  }).catch((err) => {
    if (err instanceof RollbackNoChange) return [];
    throw err;
  });
}

/** Thrown to roll back a transaction that turned out to change nothing (MODSEQ stays). */
class RollbackNoChange extends Error {}

export interface MessageSummary {
  readonly uid: number;
  readonly size: number;
  readonly flags: readonly string[];
  readonly modseq: bigint;
  readonly internalDate: Date;
}

export async function listMessages(pool: pg.Pool, mailboxId: string): Promise<MessageSummary[]> {
  const result = await pool.query<{
    uid: string;
    size: string;
    flags: string[];
    modseq: string;
    internal_date: Date;
  }>('SELECT uid, size, flags, modseq, internal_date FROM messages WHERE mailbox_id = $1 ORDER BY uid', [
    mailboxId,
  ]);
  return result.rows.map((row) => ({
    uid: Number(row.uid),
    size: Number(row.size),
    flags: row.flags,
    modseq: BigInt(row.modseq),
    internalDate: row.internal_date,
  }));
}

/**
 * Flags as stored: system flags in their RFC 3501 spelling whatever the case given
 * (flag names are case-insensitive), keywords as given, no duplicates, sorted.
 */
export function normaliseFlags(flags: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const flag of flags) {
    const canonical = SYSTEM_FLAGS.get(flag.toLowerCase()) ?? flag;
    seen.set(canonical.toLowerCase(), canonical);
  }
  return [...seen.values()].sort();
}

const SYSTEM_FLAGS = new Map(
  ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'].map((flag) => [flag.toLowerCase(), flag]),
);
