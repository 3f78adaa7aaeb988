// IMAP ACL (RFC 4314) rows, migration 0023: an owner's grants on its mailboxes to other
// accounts, and what others grant an account. Every lookup of another account's mailbox
// goes through a grant (sharedMailboxRights): without a row, nothing of it is found, so
// the rest of the store stays "scoped by account" as it always was.

import { parseMailboxAddress } from '@tegami/protocol/address';
import type { Queryable } from './db.js';
import { mailboxName } from './mailboxes.js';

export interface MailboxGrantRow {
  /** The grantee's address. */
  readonly identifier: string;
  readonly rights: string;
}

export interface SharedMailboxRow {
  readonly ownerId: string;
  readonly owner: string;
  readonly name: string;
  readonly rights: string;
}

/** The canonical form of an address as accounts.address holds it; undefined when it is none. */
function canonicalAddress(input: string): string | undefined {
  const parsed = parseMailboxAddress(input);
  return parsed.ok ? parsed.address.canonical : undefined;
}

/** The grants on an owner's selectable mailbox, by address; undefined when there is no such mailbox. */
export async function mailboxGrants(
  db: Queryable,
  ownerId: string,
  nameInput: string,
): Promise<MailboxGrantRow[] | undefined> {
  const result = await db.query<{ address: string | null; rights: string | null }>(
    `SELECT a.address, g.rights
       FROM mailboxes m
       LEFT JOIN mailbox_acl g ON g.mailbox_id = m.id
       LEFT JOIN accounts a ON a.id = g.grantee_id
      WHERE m.account_id = $1 AND m.name = $2 AND NOT m.noselect
      ORDER BY a.address`,
    [ownerId, mailboxName(nameInput)],
  );
  if (result.rows.length === 0) return undefined;
  return result.rows
    .filter((row) => row.address !== null && row.rights !== null)
    .map((row) => ({ identifier: row.address!, rights: row.rights! }));
}

/**
 * Sets the rights of the account at `granteeAddress` on an owner's mailbox, in one
 * statement; '' removes its grant. The owner is never a grantee of its own mailbox.
 */
export async function setMailboxGrant(
  db: Queryable,
  ownerId: string,
  nameInput: string,
  granteeAddress: string,
  rights: string,
): Promise<'ok' | 'nonexistent' | 'no-such-account'> {
  const result = await db.query<{ mailbox: boolean; grantee: boolean }>(
    `WITH target AS (SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2 AND NOT noselect),
          grantee AS (SELECT id FROM accounts WHERE address = $3 AND id <> $1),
          removed AS (
            DELETE FROM mailbox_acl
             WHERE $4 = '' AND mailbox_id IN (SELECT id FROM target) AND grantee_id IN (SELECT id FROM grantee)
          ),
          granted AS (
            INSERT INTO mailbox_acl (mailbox_id, grantee_id, rights)
            SELECT target.id, grantee.id, $4 FROM target, grantee WHERE $4 <> ''
            ON CONFLICT (mailbox_id, grantee_id) DO UPDATE SET rights = EXCLUDED.rights
          )
     SELECT EXISTS (SELECT 1 FROM target) AS mailbox, EXISTS (SELECT 1 FROM grantee) AS grantee`,
    [ownerId, mailboxName(nameInput), canonicalAddress(granteeAddress) ?? '', rights],
  );
  const row = result.rows[0]!;
  return !row.mailbox ? 'nonexistent' : !row.grantee ? 'no-such-account' : 'ok';
}

/** The selectable mailboxes of other accounts granted to this one, by owner and name. */
export async function mailboxesSharedWith(db: Queryable, granteeId: string): Promise<SharedMailboxRow[]> {
  const result = await db.query<{ owner_id: string; owner: string; name: string; rights: string }>(
    `SELECT a.id AS owner_id, a.address AS owner, m.name, g.rights
       FROM mailbox_acl g
       JOIN mailboxes m ON m.id = g.mailbox_id
       JOIN accounts a ON a.id = m.account_id
      WHERE g.grantee_id = $1 AND NOT m.noselect
      ORDER BY a.address, m.name`,
    [granteeId],
  );
  return result.rows.map((row) => ({
    ownerId: row.owner_id,
    owner: row.owner,
    name: row.name,
    rights: row.rights,
  }));
}

/** This account's grant on another's mailbox, by the owner's address and the name; undefined without one. */
export async function sharedMailboxRights(
  db: Queryable,
  granteeId: string,
  ownerAddress: string,
  nameInput: string,
): Promise<SharedMailboxRow | undefined> {
  const owner = canonicalAddress(ownerAddress);
  if (owner === undefined) return undefined;
  const result = await db.query<{ owner_id: string; owner: string; name: string; rights: string }>(
    `SELECT a.id AS owner_id, a.address AS owner, m.name, g.rights
       FROM accounts a
       JOIN mailboxes m ON m.account_id = a.id
       JOIN mailbox_acl g ON g.mailbox_id = m.id AND g.grantee_id = $1
      WHERE a.address = $2 AND m.name = $3 AND NOT m.noselect`,
    [granteeId, owner, mailboxName(nameInput)],
  );
  const row = result.rows[0];
  return row && { ownerId: row.owner_id, owner: row.owner, name: row.name, rights: row.rights };
}
