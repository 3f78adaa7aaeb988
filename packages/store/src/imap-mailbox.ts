import type { SearchNode } from '@tegami/protocol';
import type pg from 'pg';
import { type Queryable, withTransaction } from './db.js';
import { StoreError } from './errors.js';
import { compileSearch } from './imap-search.js';
import { mailboxName } from './mailboxes.js';
import {
  MESSAGE_BYTES_COLUMNS,
  MESSAGE_BYTES_JOIN,
  type MessageBytesRow,
  messageBytes,
  readMessageBytes,
} from './message-bytes.js';

// What the imap-gateway reads and writes beyond plain message storage: snapshots and
// "changes since MODSEQ" for a session's view, \Recent ownership, fetches, searches,
// copies and moves. Every change to a mailbox takes its row lock and a new MODSEQ, so
// changes commit in MODSEQ order and a reader at MODSEQ n has seen every change up to n.

export interface ImapMessageState {
  readonly uid: number;
  readonly flags: string[];
  readonly modseq: bigint;
}

export interface ImapSnapshot {
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly highestModseq: bigint;
  readonly messages: ImapMessageState[];
  readonly recent: RecentRange;
}

/** Messages with from <= UID < to are \Recent for the session that asked. */
export interface RecentRange {
  readonly from: number;
  readonly to: number;
}

const NONE: RecentRange = { from: 0, to: 0 };

export interface ImapChanges {
  readonly highestModseq: bigint;
  readonly uidNext: number;
  readonly changed: ImapMessageState[];
  readonly expunged: number[];
  readonly recent: RecentRange;
}

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
): Promise<ImapSnapshot> {
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
): Promise<ImapChanges> {
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

export interface ImapMailboxStatus {
  readonly messages: number;
  readonly recent: number;
  readonly uidNext: number;
  readonly uidValidity: number;
  readonly unseen: number;
  readonly size: number;
  readonly highestModseq: bigint;
}

export async function imapMailboxStatus(
  db: Queryable,
  mailboxId: string,
): Promise<ImapMailboxStatus | undefined> {
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

export interface ImapFetchedRow {
  readonly uid: number;
  readonly flags: string[];
  readonly modseq: bigint;
  readonly internalDate: Date;
  readonly size: number;
  readonly metadata?: unknown;
  readonly raw?: Buffer;
}

export async function fetchImapMessages(
  db: Queryable,
  mailboxId: string,
  uids: readonly number[],
  needs: { metadata: boolean; raw: boolean },
): Promise<ImapFetchedRow[]> {
  if (uids.length === 0) return [];
  const result = await db.query<{
    uid: string;
    flags: string[];
    modseq: string;
    internal_date: Date;
    size: string;
    metadata?: unknown;
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

export interface CopiedMessages {
  readonly uidValidity: number;
  readonly source: number[];
  readonly target: number[];
}

/**
 * COPY (or MOVE) the given messages to another mailbox of the same account, in one
 * transaction: new UIDs in the target in source UID order (UIDPLUS COPYUID), the same
 * blobs, flags kept; a MOVE expunges the originals at one new MODSEQ of the source.
 * undefined when the target does not exist; 'over-quota' when the copies do not fit.
 */
export async function copyImapMessages(
  pool: pg.Pool,
  accountId: string,
  sourceMailboxId: string,
  uids: readonly number[],
  targetName: string,
  move: boolean,
): Promise<CopiedMessages | 'nonexistent' | 'over-quota'> {
  return withTransaction(pool, async (client) => {
    const target = await client.query<{ id: string; uidvalidity: string; quota: string | null }>(
      `SELECT b.id, b.uidvalidity, a.quota_bytes AS quota FROM mailboxes b JOIN accounts a ON a.id = b.account_id
        WHERE b.account_id = $1 AND b.name = $2 AND NOT b.noselect`,
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
    if (t.quota !== null && !move) {
      const adding = sources.rows.reduce((n, r) => n + Number(r.size), 0);
      const used = await client.query<{ used: string }>(
        `SELECT COALESCE(sum(m.size), 0) AS used FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = $1`,
        [accountId],
      );
      if (Number(used.rows[0]!.used) + adding > Number(t.quota)) return 'over-quota';
    }
    const allocated = await client.query<{ first: string; modseq: string }>(
      `UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1
        WHERE id = $1 AND uidnext + $2 <= 4294967296
        RETURNING uidnext - $2 AS first, highestmodseq AS modseq`,
      [t.id, source.length],
    );
    if (!allocated.rows[0]) throw new StoreError('invalid', 'the target mailbox has run out of UIDs');
    const first = Number(allocated.rows[0].first);
    const target_ = source.map((_, i) => first + i);
    await client.query(
      `INSERT INTO messages (mailbox_id, uid, blob_sha256, size, internal_date, flags, modseq, metadata, search_text,
                             header_prefix)
       SELECT $1, $4::bigint + (row_number() OVER (ORDER BY m.uid)) - 1, m.blob_sha256, m.size, m.internal_date,
              m.flags, $5, m.metadata, m.search_text, m.header_prefix
         FROM messages m WHERE m.mailbox_id = $2 AND m.uid = ANY($3::bigint[])`,
      [t.id, sourceMailboxId, source, first, allocated.rows[0].modseq],
    );
    if (move) {
      const modseq = await client.query<{ modseq: string }>(
        'UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq AS modseq',
        [sourceMailboxId],
      );
      await client.query('DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])', [
        sourceMailboxId,
        source,
      ]);
      await client.query(
        'INSERT INTO expunged_messages (mailbox_id, uid, modseq) SELECT $1, unnest($2::bigint[]), $3 ON CONFLICT DO NOTHING',
        [sourceMailboxId, source, modseq.rows[0]!.modseq],
      );
    }
    return { uidValidity: Number(t.uidvalidity), source, target: target_ };
  });
}

export type DeletedMailbox =
  /** The mailbox and its messages are gone. */
  | { readonly outcome: 'deleted'; readonly mailboxId: string; readonly expunged: readonly number[] }
  /** It has children: its messages are gone and the name stays as \Noselect (RFC 3501 §6.3.4). */
  | { readonly outcome: 'noselect'; readonly mailboxId: string; readonly expunged: readonly number[] };

/**
 * DELETE (RFC 3501 §6.3.4). A mailbox without children goes with its messages. One with
 * children loses its messages and keeps its name as \Noselect; deleting a name that is
 * already \Noselect and still has children is the error. INBOX never goes. The expunged
 * UIDs come back so sessions that have the mailbox selected can be told.
 */
export async function deleteImapMailbox(
  pool: pg.Pool,
  accountId: string,
  nameInput: string,
): Promise<DeletedMailbox | 'nonexistent' | 'has-children' | 'inbox'> {
  const name = mailboxName(nameInput);
  if (name === 'INBOX') return 'inbox';
  return withTransaction(pool, async (client) => {
    const found = await client.query<{ id: string; noselect: boolean }>(
      'SELECT id, noselect FROM mailboxes WHERE account_id = $1 AND name = $2 FOR UPDATE',
      [accountId, name],
    );
    const mailbox = found.rows[0];
    if (!mailbox) return 'nonexistent';
    const children = await client.query(
      `SELECT 1 FROM mailboxes WHERE account_id = $1 AND name LIKE replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '/%' LIMIT 1`,
      [accountId, name],
    );
    const uids = await client.query<{ uid: string }>(
      'SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid',
      [mailbox.id],
    );
    const expunged = uids.rows.map((row) => Number(row.uid));
    if (!children.rowCount) {
      await client.query('DELETE FROM mailboxes WHERE id = $1', [mailbox.id]);
      return { outcome: 'deleted', mailboxId: mailbox.id, expunged };
    }
    if (mailbox.noselect) return 'has-children';
    const modseq = await client.query<{ modseq: string }>(
      `UPDATE mailboxes SET noselect = true, highestmodseq = highestmodseq + 1 WHERE id = $1
       RETURNING highestmodseq AS modseq`,
      [mailbox.id],
    );
    if (expunged.length > 0) {
      await client.query('DELETE FROM messages WHERE mailbox_id = $1', [mailbox.id]);
      await client.query(
        'INSERT INTO expunged_messages (mailbox_id, uid, modseq) SELECT $1, unnest($2::bigint[]), $3 ON CONFLICT DO NOTHING',
        [mailbox.id, expunged, modseq.rows[0]!.modseq],
      );
    }
    return { outcome: 'noselect', mailboxId: mailbox.id, expunged };
  });
}

/** Every message of a mailbox exactly as stored, in UID order (tools and tests). */
export async function mailboxRawMessages(
  db: Queryable,
  mailboxId: string,
): Promise<{ uid: number; raw: Buffer }[]> {
  const messages = await readMessageBytes(db, mailboxId);
  return [...messages].map(([uid, raw]) => ({ uid, raw }));
}

/** Bytes the account stores now (for APPEND against its quota). */
export async function accountUsage(
  db: Queryable,
  accountId: string,
): Promise<{ used: number; quota: number | null }> {
  const result = await db.query<{ used: string; quota: string | null }>(
    `SELECT (SELECT COALESCE(sum(m.size), 0) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = a.id) AS used,
            a.quota_bytes AS quota
       FROM accounts a WHERE a.id = $1`,
    [accountId],
  );
  const row = result.rows[0];
  return { used: Number(row?.used ?? 0), quota: row?.quota == null ? null : Number(row.quota) };
}

function toState(row: { uid: string; flags: string[]; modseq: string }): ImapMessageState {
  return { uid: Number(row.uid), flags: row.flags, modseq: BigInt(row.modseq) };
}
