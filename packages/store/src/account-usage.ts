import type { Queryable } from './db.js';

// What an account stores, as the quota counts it: the bytes and messages of all its
// mailboxes. Read from account_usage, which migration 0015's triggers keep exact in the
// transaction of every insert and delete of a message, so a read is one row, not a sum.

export interface QuotaUsage {
  readonly usedBytes: number;
  readonly messages: number;
  /** The most bytes the account may hold; null: no limit. */
  readonly quotaBytes: number | null;
  /** Whether `adding` more bytes stay within the quota. */
  fits(adding: number): boolean;
}

/**
 * The counters as SQL, for statements that check the quota as they insert (local
 * delivery). `accountId` is an SQL expression.
 */
export function usedBytesSql(accountId: string): string {
  return `(SELECT bytes FROM account_usage WHERE account_id = ${accountId})`;
}

/**
 * The account's usage and quota now; undefined for an unknown account. Read without a
 * lock: two writers that check at once may both fit and together pass the quota by one
 * message each, as with any check-then-insert (the counters themselves stay exact).
 */
export async function quotaUsage(db: Queryable, accountId: string): Promise<QuotaUsage | undefined> {
  const result = await db.query<{ bytes: string | null; messages: string | null; quota: string | null }>(
    `SELECT u.bytes, u.messages, a.quota_bytes AS quota
       FROM accounts a LEFT JOIN account_usage u ON u.account_id = a.id
      WHERE a.id = $1`,
    [accountId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  const usedBytes = Number(row.bytes ?? 0);
  const quotaBytes = row.quota === null ? null : Number(row.quota);
  return {
    usedBytes,
    messages: Number(row.messages ?? 0),
    quotaBytes,
    fits: (adding) => quotaBytes === null || usedBytes + adding <= quotaBytes,
  };
}
