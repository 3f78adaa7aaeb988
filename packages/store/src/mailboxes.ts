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
  readonly subscribed: boolean;
  /** The name is kept only as the parent of others (RFC 3501 §6.3.4): no messages, no SELECT. */
  readonly noselect: boolean;
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
  for (const { name, specialUse } of DEFAULT_MAILBOXES) {
    await db.query('INSERT INTO mailboxes (account_id, name, special_use) VALUES ($1, $2, $3)', [
      accountId,
      name,
      specialUse,
    ]);
  }
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
    const result = await db.query<MailboxRow>(
      `INSERT INTO mailboxes (account_id, name, special_use) VALUES ($1, $2, $3)
       ON CONFLICT (account_id, name) DO UPDATE SET noselect = false, highestmodseq = mailboxes.highestmodseq + 1
        WHERE mailboxes.noselect
       RETURNING ${MAILBOX_COLUMNS}`,
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
  const result = await db.query<MailboxRow>({
    // IMAP LIST, one of the most frequent commands: a prepared statement.
    name: 'list-mailboxes',
    text: `SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE account_id = $1 ORDER BY name`,
    values: [accountId],
  });
  return result.rows.map(toMailbox);
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
    const result = await db.query(
      `UPDATE mailboxes SET name = $3 || substr(name, length($2) + 1), highestmodseq = highestmodseq + 1
        WHERE account_id = $1 AND (name = $2 OR name LIKE replace(replace($2, '%', '\\%'), '_', '\\_') || '/%')`,
      [accountId, from, to],
    );
    if (result.rowCount === 0) throw new StoreError('not_found', `no mailbox ${from}`);
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
  const result = await db.query(
    `UPDATE mailboxes SET subscribed = $3, highestmodseq = highestmodseq + 1 WHERE account_id = $1 AND name = $2`,
    [accountId, mailboxName(nameInput), subscribed],
  );
  if (result.rowCount === 0) throw new StoreError('not_found', `no mailbox ${mailboxName(nameInput)}`);
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

const MAILBOX_COLUMNS =
  'id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed, noselect';

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
