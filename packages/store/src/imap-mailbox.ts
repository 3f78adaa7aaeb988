import type {
  FetchedMessage,
  FetchNeeds,
  MailboxChanges,
  MailboxSnapshot,
  MailboxStatus,
  MessageMetadata,
  MessageState,
  RecentRange,
  SearchNode,
} from '@tegami/protocol';
import type pg from 'pg';
import { type Queryable, withTransaction } from './db.js';
import { StoreError } from './errors.js';
import { compileSearch } from './imap-search.js';
import {
  MESSAGE_BYTES_COLUMNS,
  MESSAGE_BYTES_JOIN,
  type MessageBytesRow,
  messageBytes,
  readMessageBytes,
} from './message-bytes.js';

// What the imap-gateway reads: snapshots and "changes since MODSEQ" for a session's view,
// \Recent ownership, STATUS, fetches and searches, in the IMAP engine's own types. Every
// change a reader can see was made under the mailbox row's lock at a new MODSEQ (the
// mailboxes and messages modules), so changes commit in MODSEQ order and a reader at
// MODSEQ n has seen every change up to n.

const NONE: RecentRange = { from: 0, to: 0 };

/**
 * Takes the \Recent messages for this session (RFC 3501 §2.3.2: a message is recent in
 * exactly one session, the first to see it with the mailbox open read-write): the UIDs
 * from the last claim up to uidnext now. Its own short transaction, before the snapshot,
 * so the snapshot never updates a row (which REPEATABLE READ would refuse under load).
 * EXAMINE claims nothing and sees what nobody has claimed yet as recent.
 */
async function claimRecent(db: Queryable, mailboxId: string, claim: boolean): Promise<RecentRange> {
  if (!claim) {
    const row = await db.query<{ recent_uid: string; uidnext: string }>(
      'SELECT recent_uid, uidnext FROM mailboxes WHERE id = $1',
      [mailboxId],
    );
    return row.rows[0] ? { from: Number(row.rows[0].recent_uid), to: Number(row.rows[0].uidnext) } : NONE;
  }
  const row = await db.query<{ old: string; uidnext: string }>(
    `UPDATE mailboxes m SET recent_uid = m.uidnext
       FROM (SELECT id, recent_uid AS old FROM mailboxes WHERE id = $1 AND recent_uid < uidnext FOR UPDATE) o
      WHERE m.id = o.id AND m.recent_uid < m.uidnext
      RETURNING o.old, m.uidnext`,
    [mailboxId],
  );
  // Nothing new: no row lock was taken, so a hundred sessions opening a mailbox at once do
  // not queue behind each other.
  return row.rows[0] ? { from: Number(row.rows[0].old), to: Number(row.rows[0].uidnext) } : NONE;
}

export async function openImapSnapshot(
  pool: pg.Pool,
  mailboxId: string,
  readOnly: boolean,
): Promise<MailboxSnapshot> {
  const recent = await claimRecent(pool, mailboxId, !readOnly);
  return withTransaction(
    pool,
    async (client) => {
      const box = await client.query<{ uidvalidity: string; uidnext: string; highestmodseq: string }>(
        'SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE id = $1',
        [mailboxId],
      );
      if (!box.rows[0]) throw new StoreError('not_found', `no mailbox ${mailboxId}`);
      const messages = await client.query<{ uid: string; flags: string[]; modseq: string }>(
        'SELECT uid, flags, modseq FROM messages WHERE mailbox_id = $1 ORDER BY uid',
        [mailboxId],
      );
      return {
        uidValidity: Number(box.rows[0].uidvalidity),
        uidNext: Number(box.rows[0].uidnext),
        highestModseq: BigInt(box.rows[0].highestmodseq),
        messages: messages.rows.map(toState),
        recent,
      };
    },
    { isolation: 'REPEATABLE READ' },
  );
}

export async function imapChangesSince(
  pool: pg.Pool,
  mailboxId: string,
  modseq: bigint,
  readOnly: boolean,
): Promise<MailboxChanges> {
  const recent = await claimRecent(pool, mailboxId, !readOnly);
  return withTransaction(
    pool,
    async (client) => {
      const box = await client.query<{ uidnext: string; highestmodseq: string }>(
        'SELECT uidnext, highestmodseq FROM mailboxes WHERE id = $1',
        [mailboxId],
      );
      if (!box.rows[0]) throw new StoreError('not_found', `no mailbox ${mailboxId}`);
      const highest = BigInt(box.rows[0].highestmodseq);
      if (highest <= modseq) {
        return {
          highestModseq: highest,
          uidNext: Number(box.rows[0].uidnext),
          changed: [],
          expunged: [],
          recent,
        };
      }
      const changed = await client.query<{ uid: string; flags: string[]; modseq: string }>(
        'SELECT uid, flags, modseq FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid',
        [mailboxId, modseq.toString()],
      );
      const expunged = await client.query<{ uid: string }>(
        'SELECT uid FROM expunged_messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid',
        [mailboxId, modseq.toString()],
      );
      return {
        highestModseq: highest,
        uidNext: Number(box.rows[0].uidnext),
        changed: changed.rows.map(toState),
        expunged: expunged.rows.map((r) => Number(r.uid)),
        recent,
      };
    },
    { isolation: 'REPEATABLE READ' },
  );
}

export async function imapMailboxStatus(
  db: Queryable,
  mailboxId: string,
): Promise<MailboxStatus | undefined> {
  const result = await db.query<{
    uidnext: string;
    uidvalidity: string;
    highestmodseq: string;
    messages: string;
    recent: string;
    unseen: string;
    size: string;
  }>(
    `SELECT b.uidnext, b.uidvalidity, b.highestmodseq,
            count(m.uid) AS messages,
            count(m.uid) FILTER (WHERE m.uid >= b.recent_uid) AS recent,
            count(m.uid) FILTER (WHERE NOT m.flags @> ARRAY['\\Seen']) AS unseen,
            COALESCE(sum(m.size), 0) AS size
       FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id
      WHERE b.id = $1
      GROUP BY b.id`,
    [mailboxId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    messages: Number(row.messages),
    recent: Number(row.recent),
    uidNext: Number(row.uidnext),
    uidValidity: Number(row.uidvalidity),
    unseen: Number(row.unseen),
    size: Number(row.size),
    highestModseq: BigInt(row.highestmodseq),
  };
}

/** A fetched message as stored: metadata NULL only on a row stored without it (never by Tegami). */
export type ImapFetchedRow = Omit<FetchedMessage, 'metadata'> & {
  readonly metadata?: MessageMetadata | null;
};

export async function fetchImapMessages(
  db: Queryable,
  mailboxId: string,
  uids: readonly number[],
  needs: FetchNeeds,
): Promise<ImapFetchedRow[]> {
  if (uids.length === 0) return [];
  const result = await db.query<{
    uid: string;
    flags: string[];
    modseq: string;
    internal_date: Date;
    size: string;
    metadata?: MessageMetadata | null;
    header_prefix?: Buffer;
    data?: Buffer;
  }>(
    `SELECT m.uid, m.flags, m.modseq, m.internal_date, m.size
            ${needs.metadata ? ', m.metadata' : ''}${needs.raw ? `, ${MESSAGE_BYTES_COLUMNS}` : ''}
       FROM messages m ${needs.raw ? MESSAGE_BYTES_JOIN : ''}
      WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[])
      ORDER BY m.uid`,
    [mailboxId, uids],
  );
  return result.rows.map((row) => ({
    uid: Number(row.uid),
    flags: row.flags,
    modseq: BigInt(row.modseq),
    internalDate: row.internal_date,
    size: Number(row.size),
    ...(needs.metadata && { metadata: row.metadata }),
    ...(needs.raw && row.data && { raw: messageBytes(row as MessageBytesRow) }),
  }));
}

/** UIDs of the mailbox's messages that match (SEARCH), ascending. */
export async function searchImapMessages(
  db: Queryable,
  mailboxId: string,
  criteria: SearchNode,
): Promise<number[]> {
  const params: unknown[] = [mailboxId];
  const where = compileSearch(criteria, params);
  const result = await db.query<{ uid: string }>(
    `SELECT m.uid FROM messages m WHERE m.mailbox_id = $1 AND (${where}) ORDER BY m.uid`,
    params,
  );
  return result.rows.map((row) => Number(row.uid));
}

/** Every message of a mailbox exactly as stored, in UID order (tools and tests). */
export async function mailboxRawMessages(
  db: Queryable,
  mailboxId: string,
): Promise<{ uid: number; raw: Buffer }[]> {
  const messages = await readMessageBytes(db, mailboxId);
  return [...messages].map(([uid, raw]) => ({ uid, raw }));
}

function toState(row: { uid: string; flags: string[]; modseq: string }): MessageState {
  return { uid: Number(row.uid), flags: row.flags, modseq: BigInt(row.modseq) };
}
