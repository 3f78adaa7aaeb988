import type pg from 'pg';
import { putBlob } from './blobs.js';
import type { Queryable } from './db.js';
import { withTransaction } from './db.js';
import { insertMessage } from './messages.js';

export interface LocalMailbox {
  readonly accountId: string;
  readonly address: string;
  readonly inboxId: string;
  readonly quotaBytes: number | null;
}

/** The INBOX of an enabled account, or undefined (no such user, or disabled). */
export async function findLocalMailbox(db: Queryable, address: string): Promise<LocalMailbox | undefined> {
  const result = await db.query(
    `SELECT a.id, a.address, a.quota_bytes, m.id AS inbox_id
       FROM accounts a JOIN mailboxes m ON m.account_id = a.id AND m.name = 'INBOX'
      WHERE a.address = $1 AND NOT a.disabled`,
    [address.toLowerCase()],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    accountId: String(row.id),
    address: row.address,
    inboxId: String(row.inbox_id),
    quotaBytes: row.quota_bytes === null ? null : Number(row.quota_bytes),
  };
}

/** The destinations of an alias (one level), or [] when the address is not an alias. */
export async function aliasDestinations(db: Queryable, address: string): Promise<string[]> {
  const result = await db.query<{ destination: string }>(
    'SELECT destination FROM aliases WHERE address = $1 ORDER BY destination',
    [address.toLowerCase()],
  );
  return result.rows.map((row) => row.destination);
}

export interface LocalDeliveryInput {
  readonly deliveryId: string;
  readonly worker: string;
  readonly mailbox: LocalMailbox;
  /** The message as the user will see it (with Return-Path and Delivered-To). */
  readonly raw: Buffer;
  readonly metadata?: unknown;
  readonly searchText?: string;
  readonly internalDate: Date;
  readonly reply: string;
}

export type LocalDeliveryResult =
  | { readonly kind: 'delivered'; readonly uid: number; readonly modseq: bigint }
  /** Already settled (by an earlier run of the same job), or claimed by another worker. */
  | { readonly kind: 'not-held' }
  | { readonly kind: 'over-quota'; readonly usedBytes: number };

/**
 * Local delivery, exactly once: the delivery row is locked, the message inserted (UID
 * allocated) and the row marked delivered in one transaction. A job redelivered after a
 * crash finds the row delivered and does nothing; a crash before COMMIT leaves no copy.
 */
export async function deliverToMailbox(
  pool: pg.Pool,
  input: LocalDeliveryInput,
): Promise<LocalDeliveryResult> {
  return withTransaction(pool, async (client) => {
    const held = await client.query(
      `SELECT 1 FROM deliveries WHERE id = $1 AND claimed_by = $2 AND status IN ('pending', 'deferred') FOR UPDATE`,
      [input.deliveryId, input.worker],
    );
    if (!held.rowCount) return { kind: 'not-held' } as const;
    if (input.mailbox.quotaBytes !== null) {
      const used = await client.query<{ used: string }>(
        `SELECT COALESCE(sum(m.size), 0) AS used FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
          WHERE b.account_id = $1`,
        [input.mailbox.accountId],
      );
      const usedBytes = Number(used.rows[0]!.used);
      if (usedBytes + input.raw.length > input.mailbox.quotaBytes)
        return { kind: 'over-quota', usedBytes } as const;
    }
    const sha256 = await putBlob(client, input.raw);
    const appended = await insertMessage(
      client,
      {
        mailboxId: input.mailbox.inboxId,
        raw: input.raw,
        internalDate: input.internalDate,
        metadata: input.metadata,
        ...(input.searchText === undefined ? {} : { searchText: input.searchText }),
      },
      sha256,
    );
    await client.query(
      `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_attempt_at = now(),
              last_reply = $2, status_code = '2.0.0', finished_at = now(), next_attempt_at = NULL,
              mailbox_id = $3, uid = $4, claimed_by = NULL, claimed_until = NULL
        WHERE id = $1`,
      [input.deliveryId, input.reply, input.mailbox.inboxId, appended.uid],
    );
    await client.query(
      `INSERT INTO delivery_attempts (delivery_id, outcome, reply) VALUES ($1, 'delivered', $2)`,
      [input.deliveryId, input.reply],
    );
    return { kind: 'delivered', uid: appended.uid, modseq: appended.modseq } as const;
  });
}
