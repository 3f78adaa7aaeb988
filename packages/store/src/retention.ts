import type pg from 'pg';
import type { Queryable } from './db.js';

/** How long each kind of history is kept (TEGAMI_RETENTION_*), in milliseconds. */
export interface RetentionPolicy {
  /** A finished queue entry (state 'done') with its deliveries and their attempts. */
  readonly finishedQueueMs: number;
  /** A delivery attempt (what `tegami trace` lists), even of an entry kept longer. */
  readonly attemptsMs: number;
  /** An expunge record (what sessions and QRESYNC learn VANISHED UIDs from). */
  readonly expungedMs: number;
}

export interface PrunedQueue {
  readonly queueEntries: number;
  readonly deliveries: number;
  readonly attempts: number;
}

const BATCH = 1000;
const interval = 'make_interval(secs => $1::double precision / 1000)';

/**
 * Deletes finished queue entries whose last recipient was settled longer ago than
 * `olderThanMs`, with their deliveries and attempts (ON DELETE CASCADE). Their blobs are
 * then unreferenced unless a mailbox holds the message: the blob collector's business.
 */
export async function pruneFinishedQueue(pool: pg.Pool, olderThanMs: number): Promise<PrunedQueue> {
  let total = { queueEntries: 0, deliveries: 0, attempts: 0 };
  for (;;) {
    // One statement: the entries are locked by `doomed`, and what the cascade takes with
    // them is counted from the same snapshot first.
    const result = await pool.query<{ entries: string; deliveries: string; attempts: string }>(
      `WITH doomed AS (
         SELECT q.id FROM queue q
          WHERE q.state = 'done' AND q.received_at < now() - ${interval}
            AND NOT EXISTS (
              SELECT 1 FROM deliveries d
               WHERE d.queue_id = q.id
                 AND (d.status IN ('pending', 'deferred')
                      OR COALESCE(d.finished_at, d.last_attempt_at, q.received_at) >= now() - ${interval}))
          ORDER BY q.received_at LIMIT $2
          FOR UPDATE OF q SKIP LOCKED
       ), counted AS (
         SELECT count(*) AS deliveries,
                (SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
                  WHERE d.queue_id IN (SELECT id FROM doomed)) AS attempts
           FROM deliveries WHERE queue_id IN (SELECT id FROM doomed)
       ), gone AS (
         DELETE FROM queue WHERE id IN (SELECT id FROM doomed) RETURNING 1
       )
       SELECT (SELECT count(*) FROM gone) AS entries, deliveries, attempts FROM counted`,
      [olderThanMs, BATCH],
    );
    const row = result.rows[0]!;
    const entries = Number(row.entries);
    total = {
      queueEntries: total.queueEntries + entries,
      deliveries: total.deliveries + Number(row.deliveries),
      attempts: total.attempts + Number(row.attempts),
    };
    if (entries < BATCH) return total;
  }
}

/** Deletes delivery attempts older than `olderThanMs`, oldest first, in batches. */
export async function pruneDeliveryAttempts(db: Queryable, olderThanMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db.query(
      `DELETE FROM delivery_attempts WHERE id IN (
         SELECT id FROM delivery_attempts WHERE attempted_at < now() - ${interval}
          ORDER BY attempted_at LIMIT $2)`,
      [olderThanMs, BATCH],
    );
    total += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < BATCH) return total;
  }
}

/**
 * Deletes expunge records older than `olderThanMs` and raises each mailbox's floor
 * (expunge_history_floors) to the highest MODSEQ forgotten, in the same statement: whoever
 * reads the history (a session catching up, QRESYNC's VANISHED) learns from expungeHistoryFloor
 * whether it is complete for the MODSEQ it asks about.
 *
 * A live IMAP session catches up at every command and every change it is told of, and
 * is logged out after TEGAMI_IMAP_IDLE_TIMEOUT of silence, so the MODSEQ it holds is never
 * older than that: any retention longer than the idle timeout (the setting's minimum is a
 * day) never takes a record a live session still needs. Only a client coming back with a
 * cached MODSEQ (QRESYNC) can be older, and the floor tells the server so.
 */
export async function pruneExpungeHistory(db: Queryable, olderThanMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db.query<{ pruned: string }>(
      `WITH gone AS (
         DELETE FROM expunged_messages WHERE ctid IN (
           SELECT ctid FROM expunged_messages WHERE expunged_at < now() - ${interval}
            ORDER BY expunged_at LIMIT $2)
         RETURNING mailbox_id, modseq
       ), floor AS (
         INSERT INTO expunge_history_floors (mailbox_id, modseq)
         SELECT mailbox_id, max(modseq) FROM gone GROUP BY mailbox_id
         ON CONFLICT (mailbox_id) DO UPDATE
           SET modseq = GREATEST(expunge_history_floors.modseq, EXCLUDED.modseq)
       )
       SELECT count(*) AS pruned FROM gone`,
      [olderThanMs, BATCH],
    );
    const pruned = Number(result.rows[0]!.pruned);
    total += pruned;
    if (pruned < BATCH) break;
  }
  await db.query(
    'DELETE FROM expunge_history_floors f WHERE NOT EXISTS (SELECT 1 FROM mailboxes b WHERE b.id = f.mailbox_id)',
  );
  return total;
}

/**
 * The MODSEQ at or below which the mailbox's expunge history may be incomplete (0: it is
 * whole). A client whose last known MODSEQ is below it gets, instead of the exact VANISHED
 * list, every UID it may know of that no longer exists (RFC 7162 §3.2.5.2 allows that).
 */
export async function expungeHistoryFloor(db: Queryable, mailboxId: string): Promise<bigint> {
  const result = await db.query<{ modseq: string }>(
    'SELECT modseq FROM expunge_history_floors WHERE mailbox_id = $1',
    [mailboxId],
  );
  return BigInt(result.rows[0]?.modseq ?? 0);
}
