import {
  emailIdOf,
  type FetchedMessage,
  type FetchNeeds,
  type MailboxChanges,
  type MailboxSnapshot,
  type MailboxStatus,
  type MessageMetadata,
  type MessageState,
  type ModseqHistory,
  mailboxIdOf,
  type RecentRange,
  type SearchNode,
  type SpecialUseAttribute,
} from '@tegami/protocol';
import type { Queryable } from './db.js';
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
import { EMAIL_KEY_SQL, SAVED_AT_SQL } from './object-ids.js';

// What the imap-gateway reads: snapshots and "changes since MODSEQ" for a session's view,
// \Recent ownership, STATUS, fetches and searches, in the IMAP engine's own types. Every
// change a reader can see was made under the mailbox row's lock at a new MODSEQ (the
// mailboxes and messages modules), so changes commit in MODSEQ order and a reader at
// MODSEQ n has seen every change up to n.

const NONE: RecentRange = { from: 0, to: 0 };

/**
 * The mailbox row as the statement's snapshot saw it, and the \Recent claim for this
 * session (RFC 3501 §2.3.2: a message is recent in exactly one session, the first to see
 * it with the mailbox open read-write): `claimed` is where the last claim had left
 * recent_uid, when this statement moved it up to the snapshot's uidnext. Only when there
 * is something to claim is the row locked, so a hundred sessions opening a mailbox at
 * once do not queue behind each other. The claim ends at the snapshot's uidnext, not at a
 * newer one a concurrent APPEND may have committed while the lock was awaited: the
 * messages the statement reads are those of its snapshot, and a UID claimed but not read
 * would be recent for nobody. EXAMINE ($2 false) claims nothing and sees what nobody has
 * claimed yet as recent.
 *
 * One statement instead of a claim and a REPEATABLE READ transaction of two or three
 * reads (six round trips): a single statement reads everything at one snapshot already.
 */
function boxAndClaim(where: string): string {
  return `box AS (SELECT id, name, special_use, uidvalidity, uidnext, highestmodseq, recent_uid FROM mailboxes
                   WHERE ${where}),
     claim AS (
       UPDATE mailboxes m SET recent_uid = b.uidnext
         FROM (SELECT id, recent_uid AS old FROM mailboxes
                WHERE id = (SELECT id FROM box) AND $2::boolean AND recent_uid < (SELECT uidnext FROM box)
                  FOR UPDATE) o, box b
        WHERE m.id = o.id AND m.recent_uid < b.uidnext
        RETURNING o.old)`;
}

interface BoxRow {
  uidvalidity: string;
  uidnext: string;
  highestmodseq: string;
  recent_uid: string;
  claimed: string | null;
}

interface MessageStateRow {
  uid: string | null;
  flags: string[] | null;
  modseq: string | null;
}

function recentOf(row: BoxRow, readOnly: boolean): RecentRange {
  if (row.claimed !== null) return { from: Number(row.claimed), to: Number(row.uidnext) };
  return readOnly ? { from: Number(row.recent_uid), to: Number(row.uidnext) } : NONE;
}

function snapshotSql(where: string): string {
  return `WITH ${boxAndClaim(where)}
  SELECT b.id, b.name, b.special_use, b.uidvalidity, b.uidnext, b.highestmodseq, b.recent_uid,
         (SELECT old FROM claim) AS claimed, m.uid, m.flags, m.modseq
    FROM box b
    LEFT JOIN LATERAL (SELECT uid, flags, modseq FROM messages WHERE mailbox_id = b.id) m ON true
   ORDER BY m.uid`;
}

type SnapshotRow = BoxRow &
  MessageStateRow & { id: string; name: string; special_use: SpecialUseAttribute | null };

function toSnapshot(rows: readonly SnapshotRow[], readOnly: boolean): MailboxSnapshot | undefined {
  const box = rows[0];
  if (!box) return undefined;
  return {
    uidValidity: Number(box.uidvalidity),
    uidNext: Number(box.uidnext),
    highestModseq: BigInt(box.highestmodseq),
    messages: rows.filter((row) => row.uid !== null).map(toState),
    recent: recentOf(box, readOnly),
  };
}

/** SELECT/EXAMINE again of a mailbox open already (by id): as openImapMailbox. */
export async function openImapSnapshot(
  db: Queryable,
  mailboxId: string,
  readOnly: boolean,
): Promise<MailboxSnapshot> {
  const result = await db.query<SnapshotRow>({
    name: 'imap-snapshot',
    text: snapshotSql('id = $1'),
    values: [mailboxId, !readOnly],
  });
  const snapshot = toSnapshot(result.rows, readOnly);
  if (!snapshot) throw new StoreError('not_found', `no mailbox ${mailboxId}`);
  return snapshot;
}

export interface OpenedImapMailbox {
  readonly id: string;
  /** As stored (INBOX in capitals). */
  readonly name: string;
  readonly specialUse: SpecialUseAttribute | null;
  readonly uidValidity: number;
  /** Every message, unless `since` named this mailbox: then `changes` since its MODSEQ instead. */
  readonly snapshot?: MailboxSnapshot;
  readonly changes?: MailboxChanges;
}

/** A state of a mailbox the caller holds already (the gateway's shelf): its id and MODSEQ. */
export interface KnownMailboxState {
  readonly id: string;
  readonly modseq: bigint;
}

// Found by name and claimed (boxAndClaim), then either every message (a snapshot) or, when
// the mailbox found is the one the caller holds a state of ($4), only what changed and what
// was expunged since that state's MODSEQ ($5): a SELECT of a 10,000-message mailbox other
// sessions have open reads a few rows, not 10,000. The branches' conditions on b are fixed
// for the one mailbox row, so Postgres runs only the branch that applies.
const OPEN_SQL = `WITH ${boxAndClaim('account_id = $1 AND name = $3 AND NOT noselect')}
  SELECT b.id, b.name, b.special_use, b.uidvalidity, b.uidnext, b.highestmodseq, b.recent_uid,
         (SELECT old FROM claim) AS claimed, c.kind, c.uid, c.flags, c.modseq
    FROM box b
    LEFT JOIN LATERAL (
      SELECT 'c' AS kind, uid, flags, modseq FROM messages
       WHERE mailbox_id = b.id AND b.id IS DISTINCT FROM $4::bigint
      UNION ALL
      SELECT 'c', uid, flags, modseq FROM messages
       WHERE mailbox_id = b.id AND b.id = $4::bigint AND modseq > $5::bigint AND b.highestmodseq > $5::bigint
      UNION ALL
      SELECT 'x', uid, NULL, modseq FROM expunged_messages
       WHERE mailbox_id = b.id AND b.id = $4::bigint AND modseq > $5::bigint AND b.highestmodseq > $5::bigint
    ) c ON true
   ORDER BY c.uid`;

/**
 * SELECT/EXAMINE: finds the account's mailbox by name and reads every message's UID, flags
 * and MODSEQ, claiming \Recent (above), in one statement; undefined when there is no such
 * mailbox or it is \Noselect. With `known`, a state of the mailbox the caller holds, only
 * the changes since it are read, when the name still names that mailbox.
 */
export async function openImapMailbox(
  db: Queryable,
  accountId: string,
  name: string,
  readOnly: boolean,
  known?: KnownMailboxState,
): Promise<OpenedImapMailbox | undefined> {
  const result = await db.query<SnapshotRow & { kind: 'c' | 'x' | null }>({
    name: 'imap-open-by-name',
    text: OPEN_SQL,
    values: [accountId, !readOnly, mailboxName(name), known?.id ?? null, (known?.modseq ?? 0n).toString()],
  });
  const box = result.rows[0];
  if (!box) return undefined;
  const found = {
    id: box.id,
    name: box.name,
    specialUse: box.special_use,
    uidValidity: Number(box.uidvalidity),
  };
  if (known?.id !== box.id) return { ...found, snapshot: toSnapshot(result.rows, readOnly)! };
  const changed: MessageState[] = [];
  const expunged: number[] = [];
  for (const row of result.rows) {
    if (row.kind === 'c') changed.push(toState(row));
    else if (row.kind === 'x') expunged.push(Number(row.uid));
  }
  return {
    ...found,
    changes: {
      highestModseq: BigInt(box.highestmodseq),
      uidNext: Number(box.uidnext),
      changed,
      expunged,
      recent: recentOf(box, readOnly),
    },
  };
}

// Changes and expunges in one list (kind 'c' and 'x'); nothing is read beyond the mailbox
// row when its HIGHESTMODSEQ says nothing changed.
const CHANGES_SQL = `WITH ${boxAndClaim('id = $1')}
  SELECT b.uidnext, b.highestmodseq, b.recent_uid, (SELECT old FROM claim) AS claimed,
         c.kind, c.uid, c.flags, c.modseq
    FROM box b
    LEFT JOIN LATERAL (
      SELECT 'c' AS kind, uid, flags, modseq FROM messages
       WHERE mailbox_id = b.id AND modseq > $3::bigint AND b.highestmodseq > $3::bigint
      UNION ALL
      SELECT 'x', uid, NULL, modseq FROM expunged_messages
       WHERE mailbox_id = b.id AND modseq > $3::bigint AND b.highestmodseq > $3::bigint
    ) c ON true
   ORDER BY c.uid`;

/** What changed since `modseq` (a session's sync), and \Recent claimed (above). */
export async function imapChangesSince(
  db: Queryable,
  mailboxId: string,
  modseq: bigint,
  readOnly: boolean,
): Promise<MailboxChanges> {
  const result = await db.query<Omit<BoxRow, 'uidvalidity'> & MessageStateRow & { kind: 'c' | 'x' | null }>({
    name: 'imap-changes',
    text: CHANGES_SQL,
    values: [mailboxId, !readOnly, modseq.toString()],
  });
  const box = result.rows[0];
  if (!box) throw new StoreError('not_found', `no mailbox ${mailboxId}`);
  const changed: MessageState[] = [];
  const expunged: number[] = [];
  for (const row of result.rows) {
    if (row.kind === 'c') changed.push(toState(row));
    else if (row.kind === 'x') expunged.push(Number(row.uid));
  }
  return {
    highestModseq: BigInt(box.highestmodseq),
    uidNext: Number(box.uidnext),
    changed,
    expunged,
    recent: recentOf({ ...box, uidvalidity: '0' }, readOnly),
  };
}

// History since a client's MODSEQ: changed messages ('c'), expunge records ('x') and the
// mailbox's expunge-history floor ('f', at most one row), by the (mailbox_id, modseq)
// indexes. Nothing is claimed: a client's old MODSEQ says nothing of \Recent.
const HISTORY_SQL = `
  SELECT 'c' AS kind, uid, flags, modseq FROM messages WHERE mailbox_id = $1 AND modseq > $2::bigint
  UNION ALL
  SELECT 'x', uid, NULL, modseq FROM expunged_messages WHERE mailbox_id = $1 AND modseq > $2::bigint
  UNION ALL
  SELECT 'f', NULL, NULL, modseq FROM expunge_history_floors WHERE mailbox_id = $1
  ORDER BY uid`;

/**
 * What changed since `modseq` for CHANGEDSINCE and QRESYNC (RFC 7162): the messages whose
 * MODSEQ is above it, the UIDs expunged since, and whether the expunge history still
 * reaches back that far (retention forgets old records: pruneExpungeHistory).
 */
export async function imapModseqHistory(
  db: Queryable,
  mailboxId: string,
  modseq: bigint,
): Promise<ModseqHistory> {
  const result = await db.query<MessageStateRow & { kind: 'c' | 'x' | 'f' }>({
    name: 'imap-modseq-history',
    text: HISTORY_SQL,
    values: [mailboxId, modseq.toString()],
  });
  const changed: MessageState[] = [];
  const vanished: number[] = [];
  let complete = true;
  for (const row of result.rows) {
    if (row.kind === 'c') changed.push(toState(row));
    else if (row.kind === 'x') vanished.push(Number(row.uid));
    else if (BigInt(row.modseq ?? 0) > modseq) complete = false;
  }
  return { changed, vanished, complete };
}

interface StatusRow {
  id: string;
  uidnext: string;
  uidvalidity: string;
  highestmodseq: string;
  messages: string;
  recent: string;
  unseen: string;
  size: string;
  deleted: string;
  deleted_size: string;
}

const STATUS_COLUMNS = `b.id, b.uidnext, b.uidvalidity, b.highestmodseq,
            count(m.uid) AS messages,
            count(m.uid) FILTER (WHERE m.uid >= b.recent_uid) AS recent,
            count(m.uid) FILTER (WHERE NOT m.flags @> ARRAY['\\Seen']) AS unseen,
            COALESCE(sum(m.size), 0) AS size,
            count(m.uid) FILTER (WHERE m.flags @> ARRAY['\\Deleted']) AS deleted,
            COALESCE(sum(m.size) FILTER (WHERE m.flags @> ARRAY['\\Deleted']), 0) AS deleted_size`;

export async function imapMailboxStatus(
  db: Queryable,
  mailboxId: string,
): Promise<MailboxStatus | undefined> {
  const result = await db.query<StatusRow>(
    `SELECT ${STATUS_COLUMNS}
       FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id
      WHERE b.id = $1
      GROUP BY b.id`,
    [mailboxId],
  );
  return result.rows[0] && toStatus(result.rows[0]);
}

/**
 * STATUS of the account's mailbox by name, finding it and counting in one statement;
 * undefined when there is no such mailbox or it is \Noselect.
 */
export async function imapMailboxStatusByName(
  db: Queryable,
  accountId: string,
  name: string,
): Promise<MailboxStatus | undefined> {
  const result = await db.query<StatusRow>({
    name: 'imap-status-by-name',
    text: `SELECT ${STATUS_COLUMNS}
             FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id
            WHERE b.account_id = $1 AND b.name = $2 AND NOT b.noselect
            GROUP BY b.id`,
    values: [accountId, mailboxName(name)],
  });
  return result.rows[0] && toStatus(result.rows[0]);
}

function toStatus(row: StatusRow): MailboxStatus {
  return {
    messages: Number(row.messages),
    recent: Number(row.recent),
    uidNext: Number(row.uidnext),
    uidValidity: Number(row.uidvalidity),
    unseen: Number(row.unseen),
    size: Number(row.size),
    highestModseq: BigInt(row.highestmodseq),
    deleted: Number(row.deleted),
    deletedSize: Number(row.deleted_size),
    mailboxId: mailboxIdOf(row.id),
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
    saved_at: Date | null;
    metadata?: MessageMetadata | null;
    header_prefix?: Buffer;
    data_base64?: string;
    email_key?: Buffer;
  }>({
    // Eight texts, one prepared statement each (by what the FETCH needs). The save date
    // rides along always (8 bytes of the row); the EMAILID's key only when asked, as it may
    // hash the row's header prefix.
    name: `imap-fetch${needs.metadata ? '-metadata' : ''}${needs.raw ? '-raw' : ''}${needs.emailId ? '-emailid' : ''}`,
    text: `SELECT m.uid, m.flags, m.modseq, m.internal_date, m.size, ${SAVED_AT_SQL} AS saved_at
            ${needs.metadata ? ', m.metadata' : ''}${needs.raw ? `, ${MESSAGE_BYTES_COLUMNS}` : ''}
            ${needs.emailId ? `, ${EMAIL_KEY_SQL} AS email_key` : ''}
       FROM messages m ${needs.raw ? MESSAGE_BYTES_JOIN : ''}
      WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[])
      ORDER BY m.uid`,
    values: [mailboxId, uids],
  });
  return result.rows.map((row) => ({
    uid: Number(row.uid),
    flags: row.flags,
    modseq: BigInt(row.modseq),
    internalDate: row.internal_date,
    size: Number(row.size),
    savedAt: row.saved_at,
    ...(needs.metadata && { metadata: row.metadata }),
    ...(needs.raw && row.data_base64 !== undefined && { raw: messageBytes(row as MessageBytesRow) }),
    ...(row.email_key && { emailId: emailIdOf(row.email_key) }),
  }));
}

/** A message's unchanging facts as stored; metadata is its JSON text (parsed by the caller, who also weighs it). */
export interface ImapDescribedRow {
  readonly uid: number;
  readonly internalDate: Date;
  readonly size: number;
  /** NULL only on a row stored without it (never by Tegami). */
  readonly metadataJson: string | null;
  /** Prefix and the blob's header bytes, to the stored root.bodyStart; the whole message when metadata is NULL. */
  readonly header?: Buffer;
  /** EMAILID (RFC 8474): as unchanging as the rest, so cached with it (imapflow asks it in every FETCH). */
  readonly emailId: string;
}

/**
 * What never changes about these messages, for FETCH of envelopes, structures and header
 * fields: no flags, and of the blob only its header (`substring` of a TOASTed bytea reads
 * only the chunks it needs), never the whole message as fetchImapMessages would.
 */
export async function describeImapMessages(
  db: Queryable,
  mailboxId: string,
  uids: readonly number[],
  header: boolean,
): Promise<ImapDescribedRow[]> {
  if (uids.length === 0) return [];
  const result = await db.query<{
    uid: string;
    internal_date: Date;
    size: string;
    metadata: string | null;
    email_key: Buffer;
    header_prefix?: Buffer;
    data_base64?: string;
  }>({
    name: `imap-describe${header ? '-header' : ''}`,
    text: `SELECT m.uid, m.internal_date, m.size, m.metadata::text AS metadata, ${EMAIL_KEY_SQL} AS email_key
            ${
              header
                ? `, m.header_prefix, encode(substring(b.data FROM 1 FOR
                     COALESCE((m.metadata #>> '{root,bodyStart}')::bigint - length(m.header_prefix), b.size)::int),
                     'base64') AS data_base64`
                : ''
            }
       FROM messages m ${header ? MESSAGE_BYTES_JOIN : ''}
      WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[])
      ORDER BY m.uid`,
    values: [mailboxId, uids],
  });
  return result.rows.map((row) => ({
    uid: Number(row.uid),
    internalDate: row.internal_date,
    size: Number(row.size),
    metadataJson: row.metadata,
    emailId: emailIdOf(row.email_key),
    ...(header && { header: messageBytes(row as MessageBytesRow) }),
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

function toState(row: MessageStateRow): MessageState {
  return { uid: Number(row.uid), flags: row.flags ?? [], modseq: BigInt(row.modseq ?? 0) };
}
