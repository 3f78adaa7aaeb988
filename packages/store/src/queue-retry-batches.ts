import type { Queryable } from './db.js';

// `tegami queue retry --all` on a large queue: the waiting recipients made due now in
// batches, each its own statement in id order, so a queue of a million deferred recipients
// neither holds one long lock on them all (delivery workers claim rows meanwhile) nor
// leaves the operator without progress. A recipient that turns due, delivered or bounced
// between two batches is simply what the workers would have made of it anyway.

/** How many recipients wait (pending or deferred, of queued messages): the total to show. */
export async function countWaitingRecipients(db: Queryable): Promise<number> {
  const result = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM deliveries d JOIN queue q ON q.id = d.queue_id
      WHERE q.state = 'queued' AND d.status IN ('pending', 'deferred')`,
  );
  return Number(result.rows[0]!.n);
}

/**
 * Makes every waiting recipient due now, `batchSize` at a time, calling `onBatch` with each
 * batch's count; returns the distinct queue ids whose jobs the workers' due scan publishes.
 */
export async function retryAllInBatches(
  db: Queryable,
  onBatch: (recipients: number) => void,
  batchSize = 1000,
): Promise<Set<string>> {
  const queueIds = new Set<string>();
  let afterId = '0';
  for (;;) {
    const result = await db.query<{ id: string; queue_id: string }>(
      `UPDATE deliveries d SET next_attempt_at = now()
        WHERE d.id IN (
          SELECT d2.id FROM deliveries d2 JOIN queue q ON q.id = d2.queue_id
           WHERE q.state = 'queued' AND d2.status IN ('pending', 'deferred') AND d2.id > $1
           ORDER BY d2.id LIMIT $2)
        RETURNING d.id, d.queue_id`,
      [afterId, batchSize],
    );
    if (result.rows.length === 0) return queueIds;
    for (const row of result.rows) {
      queueIds.add(row.queue_id);
      if (BigInt(row.id) > BigInt(afterId)) afterId = row.id;
    }
    onBatch(result.rows.length);
  }
}
