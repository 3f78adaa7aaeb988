import type { ImapAccount, MailboxSharing } from '@tegami/protocol';
import { mailboxesSharedWith, mailboxGrants, setMailboxGrant, sharedMailboxRights } from '@tegami/store';
import type pg from 'pg';

// One account's IMAP ACL records in Postgres (packages/store mailbox-acl.ts), for the
// engine's "Other Users" namespace (packages/protocol shared-mailboxes.ts, which checks the
// rights). A shared mailbox is reached through its owner's account, opened as the owner's
// sessions open it: the owner's quota for APPEND, and the owner's NATS subject for changes,
// so the owner's sessions and every grantee's see each other's changes.

export function postgresSharing(
  pool: pg.Pool,
  accountId: string,
  openOwner: (ownerId: string, ownerAddress: string) => ImapAccount,
): MailboxSharing {
  return {
    grants: (name) => mailboxGrants(pool, accountId, name),
    setGrant: (name, identifier, rights) => setMailboxGrant(pool, accountId, name, identifier, rights),
    async sharedWithMe() {
      const rows = await mailboxesSharedWith(pool, accountId);
      return rows.map((row) => ({ owner: row.owner, name: row.name, rights: row.rights }));
    },
    async sharedMailbox(owner, name) {
      const row = await sharedMailboxRights(pool, accountId, owner, name);
      return row && { owner: row.owner, rights: row.rights, account: openOwner(row.ownerId, row.owner) };
    },
  };
}
