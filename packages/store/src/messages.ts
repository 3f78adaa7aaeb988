import {
  type AppendResult,
  type CheckedStoreResult,
  type CopyResult,
  type FlagOperation,
  type MessageMetadata,
  type MessageState,
  normaliseFlags,
} from '@tegami/protocol';
import type pg from 'pg';
import { quotaUsage } from './account-usage.js';
import { blobId, storeBlobsSql } from './blobs.js';
import { type Queryable, withTransaction } from './db.js';
import { StoreError } from './errors.js';
import { allocateUids, bumpModseq, mailboxName, uidAllocationSql } from './mailboxes.js';

// The message aggregate: the one module that inserts, copies, moves and expunges messages
// (local delivery, IMAP APPEND/COPY/MOVE/EXPUNGE, POP3 DELE all come here). UIDs and
// MODSEQs come from the mailbox module; the account's quota counters follow every insert
// and delete by themselves (migration 0015's triggers).

/**
 * Where each column of new messages comes from, as SQL expressions over the rows of the
 * statement's FROM: the one INSERT into messages (insertMessagesSql) takes every column
 * from here, so a new column is one field here and one entry in COLUMNS.
 */
export interface NewMessageColumns {
  readonly mailboxId: string;
  readonly uid: string;
  readonly blobSha256: string;
  readonly size: string;
  readonly internalDate: string;
  readonly flags: string;
  readonly modseq: string;
  /** jsonb: a MessageMetadata (protocol's describeMessage), or NULL. */
  readonly metadata: string;
  readonly searchText: string;
  /** Per-recipient header lines served before the blob (one-blob-per-message); '' for APPEND. */
  readonly headerPrefix: string;
}

const COLUMNS: Record<keyof NewMessageColumns, string> = {
  mailboxId: 'mailbox_id',
  uid: 'uid',
  blobSha256: 'blob_sha256',
  size: 'size',
  internalDate: 'internal_date',
  flags: 'flags',
  modseq: 'modseq',
  metadata: 'metadata',
  searchText: 'search_text',
  headerPrefix: 'header_prefix',
};

/**
 * The INSERT of messages, for APPEND, COPY and local delivery alike. created_at is left to
 * its default, now(): it is the copy's SAVEDATE (RFC 8514, migration 0021), so a COPY or
 * MOVE must never carry the source row's over.
 */
export function insertMessagesSql(values: NewMessageColumns, from: string): string {
  const keys = Object.keys(COLUMNS) as (keyof NewMessageColumns)[];
  return `INSERT INTO messages (${keys.map((key) => COLUMNS[key]).join(', ')})
          SELECT ${keys.map((key) => values[key]).join(', ')} FROM ${from}`;
}

/** messages.metadata as a query parameter. */
export function metadataParam(metadata: MessageMetadata | undefined): string | null {
  return metadata === undefined ? null : JSON.stringify(metadata);
}

/** A message stored whole (no header prefix) at a UID and MODSEQ the caller allocated. */
export interface WholeMessageRow {
  readonly mailboxId: string;
  readonly uid: number;
  readonly raw: Buffer;
  /** blobId(raw), when the caller has it already. */
  readonly sha256?: Buffer;
  readonly internalDate: Date;
  readonly flags: readonly string[];
  readonly modseq: bigint;
  readonly metadata?: MessageMetadata | undefined;
  readonly searchText?: string | null | undefined;
}

/**
 * Its blob (stored once) and its row, in one statement, inside the caller's transaction:
 * what MULTIAPPEND, a restore and an import do for each message once they hold the UIDs.
 */
export async function insertWholeMessage(client: Queryable, row: WholeMessageRow): Promise<void> {
  // Named: a restore or import runs it thousands of times on one connection, parsed and
  // planned once per connection rather than per message.
  await client.query({
    name: 'tegami_insert_whole_message',
    text: `WITH blob AS (${storeBlobsSql('(SELECT $2::bytea AS sha, $3::bigint AS size, $4::bytea AS data) b')})
     ${insertMessagesSql(
       {
         mailboxId: '$1',
         uid: '$5::bigint',
         blobSha256: '$2',
         size: '$3',
         internalDate: '$6',
         flags: '$7::text[]',
         modseq: '$8::bigint',
         metadata: '$9::jsonb',
         searchText: '$10::text',
         headerPrefix: "''::bytea",
       },
       '(SELECT 1) one',
     )}`,
    values: [
      row.mailboxId,
      row.sha256 ?? blobId(row.raw),
      row.raw.length,
      row.raw,
      row.uid,
      row.internalDate,
      normaliseFlags(row.flags),
      row.modseq.toString(),
      metadataParam(row.metadata),
      row.searchText ?? null,
    ],
  });
}

export interface AppendInput {
  readonly mailboxId: string;
  readonly raw: Buffer;
  readonly flags?: readonly string[];
  readonly internalDate?: Date;
  /** ENVELOPE, BODYSTRUCTURE and part offsets, computed once by packages/protocol/mime. */
  readonly metadata?: MessageMetadata;
  readonly searchText?: string;
}

export type AppendedMessage = Exclude<AppendResult, string> & {
  readonly modseq: bigint;
};

/** The APPEND statement: `allocated` and `quota` are the CTEs it starts with, $2-$8 the message. */
function appendSql(head: string, mailboxId: string): string {
  return `WITH ${head},
          blob AS (${storeBlobsSql('(SELECT $2::bytea AS sha, $3::bigint AS size, $4::bytea AS data FROM allocated) b')}),
          message AS (${insertMessagesSql(
            {
              mailboxId,
              uid: 'first_uid',
              blobSha256: '$2',
              size: '$3',
              internalDate: '$5',
              flags: '$6::text[]',
              modseq: 'modseq',
              metadata: '$7::jsonb',
              searchText: '$8::text',
              headerPrefix: "''::bytea",
            },
            'allocated',
          )})`;
}

function appendValues(input: Omit<AppendInput, 'mailboxId'>): unknown[] {
  return [
    blobId(input.raw),
    input.raw.length,
    input.raw,
    input.internalDate ?? new Date(),
    normaliseFlags(input.flags ?? []),
    metadataParam(input.metadata),
    input.searchText ?? null,
  ];
}

/**
 * APPEND: stores the blob, allocates the UID and inserts the message in one statement
 * (one implicit transaction, one round trip). The mailbox row stays locked from the
 * allocation to the commit, so concurrent appenders to one mailbox get strictly
 * increasing UIDs in commit order.
 */
export async function appendMessage(pool: Queryable, input: AppendInput): Promise<AppendedMessage> {
  const result = await pool.query<{ first_uid: string; modseq: string; uidvalidity: string }>(
    `${appendSql(`allocated AS (${uidAllocationSql('$1', '1')})`, '$1')}
     SELECT first_uid, modseq, uidvalidity FROM allocated`,
    [input.mailboxId, ...appendValues(input)],
  );
  const row = result.rows[0];
  if (!row) throw new StoreError('not_found', `no mailbox ${input.mailboxId}, or its UIDs are used up`);
  return { uid: Number(row.first_uid), modseq: BigInt(row.modseq), uidValidity: Number(row.uidvalidity) };
}

/**
 * IMAP APPEND by mailbox name: finds the account's mailbox, checks the quota and appends
 * (as appendMessage) in one statement, where it took three round trips. 'nonexistent'
 * for no such mailbox or a \Noselect one, 'over-quota' when the message does not fit. The
 * quota is read without a lock, as quotaUsage reads it (account-usage.ts).
 */
export async function appendMessageByName(
  db: Queryable,
  accountId: string,
  name: string,
  input: Omit<AppendInput, 'mailboxId'>,
): Promise<(AppendedMessage & { readonly mailboxId: string }) | 'nonexistent' | 'over-quota'> {
  const head = `box AS (SELECT id FROM mailboxes WHERE account_id = $1 AND name = $9 AND NOT noselect),
          quota AS (SELECT a.quota_bytes IS NULL OR COALESCE(u.bytes, 0) + $3::bigint <= a.quota_bytes AS fits
                      FROM accounts a LEFT JOIN account_usage u ON u.account_id = a.id WHERE a.id = $1),
          allocated AS (${uidAllocationSql('(SELECT id FROM box WHERE COALESCE((SELECT fits FROM quota), true))', '1')})`;
  const result = await db.query<{
    mailbox_id: string | null;
    fits: boolean | null;
    first_uid: string | null;
    modseq: string | null;
    uidvalidity: string | null;
  }>({
    name: 'imap-append-by-name',
    text: `${appendSql(head, '(SELECT id FROM box)')}
     SELECT (SELECT id FROM box) AS mailbox_id, (SELECT fits FROM quota) AS fits, a.first_uid, a.modseq, a.uidvalidity
       FROM (SELECT 1) one LEFT JOIN allocated a ON true`,
    values: [accountId, ...appendValues(input), mailboxName(name)],
  });
  const row = result.rows[0]!;
  if (row.mailbox_id === null) return 'nonexistent';
  if (row.fits === false) return 'over-quota';
  if (row.first_uid === null || row.modseq === null || row.uidvalidity === null)
    throw new StoreError('not_found', `mailbox ${name} is gone, or its UIDs are used up`);
  return {
    mailboxId: row.mailbox_id,
    uid: Number(row.first_uid),
    modseq: BigInt(row.modseq),
    uidValidity: Number(row.uidvalidity),
  };
}

/**
 * STORE: changes the flags of the given UIDs. Messages whose flags actually change get one
 * new MODSEQ; a store that changes nothing leaves HIGHESTMODSEQ as it was (RFC 7162
 * §3.1.3). One round trip: migration 0018's imap_store_flags locks the mailbox row, then
 * changes the flags as the last writer left them.
 */
export async function updateFlags(
  db: Queryable,
  mailboxId: string,
  uids: readonly number[],
  operation: FlagOperation,
  flagsInput: readonly string[],
): Promise<MessageState[]> {
  const result = await mailboxFunction(
    db.query<{ uid: string; flags: string[]; modseq: string }>({
      name: 'imap-store-flags',
      text: 'SELECT uid, flags, modseq FROM imap_store_flags($1, $2::bigint[], $3, $4::text[])',
      values: [mailboxId, uids, operation, normaliseFlags(flagsInput)],
    }),
    mailboxId,
  );
  return result.rows.map((row) => ({ uid: Number(row.uid), flags: row.flags, modseq: BigInt(row.modseq) }));
}

/**
 * STORE of a CONDSTORE session (RFC 7162 §3.1.3): as updateFlags, with UNCHANGEDSINCE
 * checked in the same statement, and every named message that exists returned with its
 * MODSEQ (migration 0020's imap_store_flags_checked), in UID order.
 */
export async function updateFlagsChecked(
  db: Queryable,
  mailboxId: string,
  uids: readonly number[],
  operation: FlagOperation,
  flagsInput: readonly string[],
  unchangedSince: bigint | undefined,
): Promise<CheckedStoreResult[]> {
  const result = await mailboxFunction(
    db.query<{ uid: string; flags: string[]; modseq: string; outcome: CheckedStoreResult['outcome'] }>({
      name: 'imap-store-flags-checked',
      text: 'SELECT uid, flags, modseq, outcome FROM imap_store_flags_checked($1, $2::bigint[], $3, $4::text[], $5::bigint)',
      values: [mailboxId, uids, operation, normaliseFlags(flagsInput), unchangedSince?.toString() ?? null],
    }),
    mailboxId,
  );
  return result.rows.map((row) => ({
    uid: Number(row.uid),
    flags: row.flags,
    modseq: BigInt(row.modseq),
    outcome: row.outcome,
  }));
}

/** A mailbox gone before migration 0018's functions locked it is a StoreError, as elsewhere. */
async function mailboxFunction<R extends pg.QueryResultRow>(
  query: Promise<pg.QueryResult<R>>,
  mailboxId: string,
): Promise<pg.QueryResult<R>> {
  try {
    return await query;
  } catch (err) {
    if ((err as { code?: string }).code === 'P0002')
      throw new StoreError('not_found', `no mailbox ${mailboxId}`);
    throw err;
  }
}

export interface ExpungeOptions {
  /** IMAP EXPUNGE: only those of the UIDs that have \Deleted now (RFC 3501 §6.4.3). */
  readonly deletedOnly?: boolean;
}

/**
 * Removes the given messages (IMAP EXPUNGE, POP3 DELE at QUIT), recording each expunge at
 * one new MODSEQ; returns the UIDs removed, ascending, and that MODSEQ (undefined when
 * nothing was removed: then nothing changes). One round trip: migration 0018's
 * imap_expunge.
 */
export async function expungeMessagesAt(
  db: Queryable,
  mailboxId: string,
  uids: readonly number[],
  options: ExpungeOptions = {},
): Promise<{ uids: number[]; modseq: bigint | undefined }> {
  if (uids.length === 0) return { uids: [], modseq: undefined };
  const result = await mailboxFunction(
    db.query<{ uid: string; modseq: string }>({
      name: 'imap-expunge',
      text: 'SELECT uid, modseq FROM imap_expunge($1, $2::bigint[], $3)',
      values: [mailboxId, uids, options.deletedOnly ?? false],
    }),
    mailboxId,
  );
  const first = result.rows[0];
  return { uids: result.rows.map((row) => Number(row.uid)), modseq: first && BigInt(first.modseq) };
}

/** expungeMessagesAt, the UIDs only. */
export async function expungeMessages(
  db: Queryable,
  mailboxId: string,
  uids: readonly number[],
  options: ExpungeOptions = {},
): Promise<number[]> {
  return (await expungeMessagesAt(db, mailboxId, uids, options)).uids;
}

/**
 * The expunge itself, inside the caller's transaction (MOVE, DELETE of a mailbox with
 * children): a new MODSEQ of the mailbox, the rows gone, each recorded in
 * expunged_messages at that MODSEQ for QRESYNC and for sessions catching up. `uids`
 * 'all' empties the mailbox.
 */
export async function expungeInTransaction(
  client: pg.PoolClient,
  mailboxId: string,
  uids: readonly number[] | 'all',
  options: ExpungeOptions = {},
): Promise<number[]> {
  const modseq = await bumpModseq(client, mailboxId);
  if (modseq === undefined) throw new StoreError('not_found', `no mailbox ${mailboxId}`);
  const removed = await client.query<{ uid: string }>(
    `DELETE FROM messages WHERE mailbox_id = $1 AND ($2::bigint[] IS NULL OR uid = ANY($2::bigint[]))
        AND (NOT $3::boolean OR flags @> ARRAY['\\Deleted'])
      RETURNING uid`,
    [mailboxId, uids === 'all' ? null : uids, options.deletedOnly ?? false],
  );
  const expunged = removed.rows.map((row) => Number(row.uid)).sort((a, b) => a - b);
  if (expunged.length > 0) {
    await client.query(
      `INSERT INTO expunged_messages (mailbox_id, uid, modseq) SELECT $1, unnest($2::bigint[]), $3
       ON CONFLICT DO NOTHING`,
      [mailboxId, expunged, modseq.toString()],
    );
  }
  return expunged;
}

export type CopiedMessages = Exclude<CopyResult, string>;

/**
 * COPY (or MOVE) the given messages to another mailbox of the same account, in one
 * transaction: new UIDs in the target in source UID order (UIDPLUS COPYUID), the same
 * blobs, flags kept; a MOVE expunges the originals at one new MODSEQ of the source.
 * 'nonexistent' when the target does not exist; 'over-quota' when the copies do not fit
 * (a MOVE adds nothing to what the account stores, so it always fits).
 */
export async function copyMessages(
  pool: pg.Pool,
  accountId: string,
  sourceMailboxId: string,
  uids: readonly number[],
  targetName: string,
  move: boolean,
): Promise<CopiedMessages | 'nonexistent' | 'over-quota'> {
  return withTransaction(pool, async (client) => {
    const target = await client.query<{ id: string; uidvalidity: string }>(
      'SELECT id, uidvalidity FROM mailboxes WHERE account_id = $1 AND name = $2 AND NOT noselect',
      [accountId, mailboxName(targetName)],
    );
    const t = target.rows[0];
    if (!t) return 'nonexistent';
    // Lock order: lower mailbox id first, so a COPY and a reverse MOVE cannot deadlock.
    const ids = [sourceMailboxId, t.id].sort((a, b) => Number(a) - Number(b));
    for (const id of ids) await client.query('SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE', [id]);
    const sources = await client.query<{ uid: string; size: string }>(
      'SELECT uid, size FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid',
      [sourceMailboxId, uids],
    );
    const source = sources.rows.map((r) => Number(r.uid));
    if (source.length === 0) return { uidValidity: Number(t.uidvalidity), source: [], target: [] };
    if (!move) {
      const adding = sources.rows.reduce((n, r) => n + Number(r.size), 0);
      const usage = await quotaUsage(client, accountId);
      if (usage && !usage.fits(adding)) return 'over-quota';
    }
    const allocated = await allocateUids(client, t.id, source.length);
    if (!allocated) throw new StoreError('invalid', 'the target mailbox has run out of UIDs');
    await client.query(
      insertMessagesSql(
        {
          mailboxId: '$1',
          uid: '$4::bigint + (row_number() OVER (ORDER BY m.uid)) - 1',
          blobSha256: 'm.blob_sha256',
          size: 'm.size',
          internalDate: 'm.internal_date',
          flags: 'm.flags',
          modseq: '$5::bigint',
          metadata: 'm.metadata',
          searchText: 'm.search_text',
          headerPrefix: 'm.header_prefix',
        },
        'messages m WHERE m.mailbox_id = $2 AND m.uid = ANY($3::bigint[])',
      ),
      [t.id, sourceMailboxId, source, allocated.firstUid, allocated.modseq.toString()],
    );
    if (move) await expungeInTransaction(client, sourceMailboxId, source);
    return {
      uidValidity: allocated.uidValidity,
      source,
      target: source.map((_, i) => allocated.firstUid + i),
    };
  });
}

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
