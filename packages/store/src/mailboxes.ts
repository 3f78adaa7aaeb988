import { mailboxNameProblem, type SpecialUseAttribute } from '@tegami/protocol';
import type { Queryable } from './db.js';
import { isUniqueViolation, StoreError } from './errors.js';

// The mailbox aggregate: its rows, its name rules, and the one place UIDs and MODSEQs are
// allocated (allocateUids, bumpModseq, uidAllocationSql). Every change to a mailbox's
// messages goes through one of them, so it takes the mailbox row's lock and a new MODSEQ:
// changes commit in MODSEQ order, and a reader at MODSEQ n has seen every change up to n.

export interface Mailbox {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly highestModseq: bigint;
  readonly specialUse: SpecialUseAttribute | null;
  /** Its name is on the account's subscription list (table subscriptions, migration 0019). */
  readonly subscribed: boolean;
  /** The name is kept only as the parent of others (RFC 3501 §6.3.4): no messages, no SELECT. */
  readonly noselect: boolean;
}

/** What IMAP LIST and LSUB read: every mailbox, and every subscribed name with no mailbox. */
export interface MailboxListEntry {
  readonly name: string;
  readonly specialUse: SpecialUseAttribute | null;
  readonly subscribed: boolean;
  readonly noselect: boolean;
  /** Only subscribed: its mailbox was deleted (or never made) and the name stays listed. */
  readonly nonexistent: boolean;
}

/** What every new account gets (the names most clients look for first, RFC 6154 §2). */
export const DEFAULT_MAILBOXES: readonly { name: string; specialUse: SpecialUseAttribute | null }[] = [
  { name: 'INBOX', specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

export const HIERARCHY_DELIMITER = '/';

export async function createDefaultMailboxes(db: Queryable, accountId: string): Promise<void> {
  // Subscribed, as every new mailbox is.
  await db.query(
    `WITH made AS (
       INSERT INTO mailboxes (account_id, name, special_use)
       SELECT $1, d.name, d.special_use FROM unnest($2::text[], $3::text[]) AS d(name, special_use)
       RETURNING account_id, name
     )
     INSERT INTO subscriptions (account_id, name) SELECT account_id, name FROM made ON CONFLICT DO NOTHING`,
    [accountId, DEFAULT_MAILBOXES.map((m) => m.name), DEFAULT_MAILBOXES.map((m) => m.specialUse)],
  );
}

export async function createMailbox(
  db: Queryable,
  accountId: string,
  nameInput: string,
  specialUse: SpecialUseAttribute | null = null,
): Promise<Mailbox> {
  const name = mailboxName(nameInput);
  try {
    // A \Noselect name left by DELETE becomes a mailbox again (as Cyrus does); any other
    // existing name is a conflict (no row comes back).
    // A new mailbox is subscribed (most clients show only subscribed ones; a name still
    // subscribed from before its mailbox was deleted stays so).
    const result = await db.query<MailboxRow>(
      `WITH made AS (
         INSERT INTO mailboxes (account_id, name, special_use) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, name) DO UPDATE SET noselect = false, highestmodseq = mailboxes.highestmodseq + 1,
                special_use = COALESCE(EXCLUDED.special_use, mailboxes.special_use)
          WHERE mailboxes.noselect
         RETURNING ${MAILBOX_TABLE_COLUMNS}
       ), subscribed AS (
         INSERT INTO subscriptions (account_id, name) SELECT account_id, name FROM made ON CONFLICT DO NOTHING
       )
       SELECT made.*, true AS subscribed FROM made`,
      [accountId, name, specialUse],
    );
    if (!result.rows[0]) throw new StoreError('duplicate', `mailbox ${name} exists already`);
    return toMailbox(result.rows[0]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('duplicate', `mailbox ${name} exists already`);
    throw err;
  }
}

export async function listMailboxes(db: Queryable, accountId: string): Promise<Mailbox[]> {
  const result = await db.query<MailboxRow>(
    `SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE account_id = $1 ORDER BY name`,
    [accountId],
  );
  return result.rows.map(toMailbox);
}

/** IMAP LIST and LSUB: the mailboxes, and the subscribed names that have none, by name. */
export async function listMailboxEntries(db: Queryable, accountId: string): Promise<MailboxListEntry[]> {
  const result = await db.query<{
    name: string;
    special_use: SpecialUseAttribute | null;
    subscribed: boolean;
    noselect: boolean;
    nonexistent: boolean;
  }>({
    // One of the most frequent commands: a prepared statement.
    name: 'list-mailbox-entries',
    text: `SELECT m.name, m.special_use, s.name IS NOT NULL AS subscribed, m.noselect, false AS nonexistent
             FROM mailboxes m LEFT JOIN subscriptions s ON s.account_id = m.account_id AND s.name = m.name
            WHERE m.account_id = $1
           UNION ALL
           SELECT s.name, NULL, true, false, true FROM subscriptions s
            WHERE s.account_id = $1
              AND NOT EXISTS (SELECT 1 FROM mailboxes m WHERE m.account_id = s.account_id AND m.name = s.name)
           ORDER BY 1`,
    values: [accountId],
  });
  return result.rows.map((row) => ({
    name: row.name,
    specialUse: row.special_use,
    subscribed: row.subscribed,
    noselect: row.noselect,
    nonexistent: row.nonexistent,
  }));
}

/**
 * Always scoped by account: a session can never reach another user's mailbox by id or name.
 * A \Noselect name is found too (its `noselect` says so); callers that open, append or
 * count decline it.
 */
export async function findMailbox(
  db: Queryable,
  accountId: string,
  nameInput: string,
): Promise<Mailbox | undefined> {
  const result = await db.query<MailboxRow>(
    `SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE account_id = $1 AND name = $2`,
    [accountId, mailboxName(nameInput)],
  );
  return result.rows[0] ? toMailbox(result.rows[0]) : undefined;
}

/** Renames a mailbox and its children; a mailbox change raises its HIGHESTMODSEQ. */
export async function renameMailbox(
  db: Queryable,
  accountId: string,
  fromInput: string,
  toInput: string,
): Promise<void> {
  const from = mailboxName(fromInput);
  const to = mailboxName(toInput);
  if (from === 'INBOX')
    throw new StoreError('invalid', 'INBOX is renamed by moving its messages (RFC 3501 §6.3.5)');
  try {
    // The subscriptions of the mailbox and its children move with them (a subscription of
    // the new name kept from a deleted mailbox stays: ON CONFLICT).
    const result = await db.query<{ moved: string }>(
      `WITH moved AS (
         UPDATE mailboxes SET name = $3 || substr(name, length($2) + 1), highestmodseq = highestmodseq + 1
          WHERE account_id = $1 AND (name = $2 OR name LIKE replace(replace($2, '%', '\\%'), '_', '\\_') || '/%')
         RETURNING 1
       ), unsubscribed AS (
         DELETE FROM subscriptions
          WHERE account_id = $1 AND (name = $2 OR name LIKE replace(replace($2, '%', '\\%'), '_', '\\_') || '/%')
            AND EXISTS (SELECT 1 FROM moved)
         RETURNING name
       ), resubscribed AS (
         INSERT INTO subscriptions (account_id, name)
         SELECT $1, $3 || substr(name, length($2) + 1) FROM unsubscribed
         ON CONFLICT DO NOTHING
       )
       SELECT count(*) AS moved FROM moved`,
      [accountId, from, to],
    );
    if (Number(result.rows[0]!.moved) === 0) throw new StoreError('not_found', `no mailbox ${from}`);
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('duplicate', `mailbox ${to} exists already`);
    throw err;
  }
}

export async function setSubscribed(
  db: Queryable,
  accountId: string,
  nameInput: string,
  subscribed: boolean,
) {
  const name = mailboxName(nameInput);
  // SUBSCRIBE wants the mailbox to exist (RFC 3501 §6.3.6 lets the server check);
  // UNSUBSCRIBE takes any subscribed name out, its mailbox gone or not, so a client can
  // clear a name left by DELETE.
  const result = await db.query<{ done: boolean }>(
    subscribed
      ? `WITH target AS (SELECT 1 FROM mailboxes WHERE account_id = $1 AND name = $2),
              added AS (INSERT INTO subscriptions (account_id, name) SELECT $1, $2 FROM target ON CONFLICT DO NOTHING)
         SELECT EXISTS (SELECT 1 FROM target) AS done`
      : `WITH removed AS (DELETE FROM subscriptions WHERE account_id = $1 AND name = $2 RETURNING 1)
         SELECT EXISTS (SELECT 1 FROM removed)
             OR EXISTS (SELECT 1 FROM mailboxes WHERE account_id = $1 AND name = $2) AS done`,
    [accountId, name],
  );
  if (!result.rows[0]!.done) throw new StoreError('not_found', `no mailbox ${name}`);
}

/**
 * The stored form of a mailbox name: INBOX in any case is INBOX (RFC 3501 §5.1), no empty
 * hierarchy levels, no control characters. The rule is the IMAP engine's
 * (mailboxNameProblem), so the engine never hands on a name that would throw here.
 */
export function mailboxName(input: string): string {
  const problem = mailboxNameProblem(input);
  if (problem !== undefined) throw new StoreError('invalid', `invalid mailbox name: ${problem}`);
  const levels = input.split(HIERARCHY_DELIMITER);
  if (levels[0]!.toUpperCase() === 'INBOX') levels[0] = 'INBOX';
  return levels.join(HIERARCHY_DELIMITER);
}

/** The largest UID (RFC 3501 §2.3.1.1: a 32-bit value); a mailbox that reaches it is full. */
export const MAX_UID = 4294967295;

export interface AllocatedUids {
  /** The first of `count` consecutive UIDs. */
  readonly firstUid: number;
  /** One new MODSEQ for the whole change (RFC 7162 §3.1.3 lets one change share it). */
  readonly modseq: bigint;
  readonly uidValidity: number;
}

/**
 * The UID allocation as SQL, for a statement that allocates and inserts at once (local
 * delivery, APPEND): an UPDATE of the mailbox row taking `count` UIDs and one new MODSEQ,
 * RETURNING first_uid, modseq and uidvalidity; no row when the mailbox is gone, the count
 * is 0, or the UIDs would pass MAX_UID. Its row lock lasts until commit, so allocations to
 * one mailbox are serialised: UIDs ascend in commit order and are never reused (a rolled
 * back allocation was never visible). `mailboxId` and `count` are SQL expressions.
 */
export function uidAllocationSql(mailboxId: string, count: string): string {
  return `UPDATE mailboxes SET uidnext = uidnext + ${count}, highestmodseq = highestmodseq + 1
           WHERE id = ${mailboxId} AND ${count} > 0 AND uidnext + ${count} - 1 <= ${MAX_UID}
           RETURNING uidnext - ${count} AS first_uid, highestmodseq AS modseq, uidvalidity`;
}

/** `count` new UIDs and one MODSEQ in the mailbox; undefined when it is gone or full. */
export async function allocateUids(
  db: Queryable,
  mailboxId: string,
  count: number,
): Promise<AllocatedUids | undefined> {
  const result = await db.query<{ first_uid: string; modseq: string; uidvalidity: string }>(
    uidAllocationSql('$1', '$2::bigint'),
    [mailboxId, count],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    firstUid: Number(row.first_uid),
    modseq: BigInt(row.modseq),
    uidValidity: Number(row.uidvalidity),
  };
}

/**
 * A new MODSEQ for a change that allocates no UID (flags, expunge, \Noselect), taking the
 * mailbox row's lock until commit; undefined when the mailbox is gone.
 */
export async function bumpModseq(db: Queryable, mailboxId: string): Promise<bigint | undefined> {
  const result = await db.query<{ modseq: string }>(
    'UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq AS modseq',
    [mailboxId],
  );
  return result.rows[0] ? BigInt(result.rows[0].modseq) : undefined;
}

/** The mailbox row's own columns (for RETURNING, where the subscription is not yet visible). */
const MAILBOX_TABLE_COLUMNS =
  'id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use, noselect';
const MAILBOX_COLUMNS = `${MAILBOX_TABLE_COLUMNS},
  EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = mailboxes.account_id AND s.name = mailboxes.name) AS subscribed`;

interface MailboxRow {
  id: string;
  account_id: string;
  name: string;
  uidvalidity: string;
  uidnext: string;
  highestmodseq: string;
  special_use: SpecialUseAttribute | null;
  subscribed: boolean;
  noselect: boolean;
}

function toMailbox(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    uidValidity: Number(row.uidvalidity),
    uidNext: Number(row.uidnext),
    highestModseq: BigInt(row.highestmodseq),
    specialUse: row.special_use,
    subscribed: row.subscribed,
    noselect: row.noselect,
  };
}
