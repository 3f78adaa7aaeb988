import type pg from 'pg';
import { withTransaction } from './db.js';
import { mailboxName } from './mailboxes.js';
import { expungeInTransaction } from './messages.js';

// IMAP DELETE (RFC 3501 §6.3.4): a mailbox row goes or turns \Noselect, and its messages
// go with it. Apart from mailboxes.ts because it expunges, which is the messages
// module's, and messages.ts depends on mailboxes.ts for UIDs: no import cycle.

export type DeletedMailbox =
  /** The mailbox and its messages are gone. */
  | { readonly outcome: 'deleted'; readonly mailboxId: string; readonly expunged: readonly number[] }
  /** It has children: its messages are gone and the name stays as \Noselect (RFC 3501 §6.3.4). */
  | { readonly outcome: 'noselect'; readonly mailboxId: string; readonly expunged: readonly number[] };

/**
 * DELETE. A mailbox without children goes with its messages. One with children loses its
 * messages and keeps its name as \Noselect; deleting a name that is already \Noselect and
 * still has children is the error. INBOX never goes. The expunged UIDs come back so
 * sessions that have the mailbox selected can be told.
 */
export async function deleteMailbox(
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
    if (!children.rowCount) {
      // Its messages and their expunge history go with the row (migration 0015 empties a
      // mailbox before its row goes, so the account's quota counters follow).
      const uids = await client.query<{ uid: string }>(
        'SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid',
        [mailbox.id],
      );
      await client.query('DELETE FROM mailboxes WHERE id = $1', [mailbox.id]);
      const expunged = uids.rows.map((row) => Number(row.uid));
      return { outcome: 'deleted', mailboxId: mailbox.id, expunged };
    }
    if (mailbox.noselect) return 'has-children';
    await client.query('UPDATE mailboxes SET noselect = true WHERE id = $1', [mailbox.id]);
    const expunged = await expungeInTransaction(client, mailbox.id, 'all');
    return { outcome: 'noselect', mailboxId: mailbox.id, expunged };
  });
}
