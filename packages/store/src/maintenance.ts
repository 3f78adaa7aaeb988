import type pg from 'pg';
import { ACTIVITY_TALLY_RETENTION_MS, pruneActivityTallies } from './activity-tallies.js';
import { type CollectedBlobs, collectBlobs } from './blob-collection.js';
import {
  type PrunedQueue,
  pruneDeliveryAttempts,
  pruneExpungeHistory,
  pruneFinishedQueue,
  type RetentionPolicy,
} from './retention.js';

export interface MaintenancePolicy extends RetentionPolicy {
  /** See BlobCollectionOptions.graceMs. */
  readonly blobGraceMs: number;
}

/** What one maintenance run removed. */
export interface MaintenanceReport extends PrunedQueue {
  /** Attempts removed by their own retention (those of removed entries are in `attempts`). */
  readonly oldAttempts: number;
  readonly expungeRecords: number;
  /** Hourly login and spam counts older than ACTIVITY_TALLY_RETENTION_MS. */
  readonly activityTallies: number;
  readonly blobs: CollectedBlobs;
}

// Every delivery-worker replica runs maintenance; this session-level advisory lock (any
// constant distinct from the migration's) makes one run at a time across all of them.
const MAINTENANCE_LOCK_KEY = 0x746567616d6902n; // "tegami" + 2

/**
 * Retention first (it unreferences the blobs of finished queue entries), then blob
 * collection. `wait: false` (the periodic loop) returns undefined when another process is
 * running it; `wait: true` (`tegami gc`) queues behind that run.
 */
export async function runMaintenance(
  pool: pg.Pool,
  policy: MaintenancePolicy,
  options: { readonly wait: boolean },
): Promise<MaintenanceReport | undefined> {
  const lockHolder = await pool.connect();
  try {
    if (options.wait) {
      await lockHolder.query('SELECT pg_advisory_lock($1)', [MAINTENANCE_LOCK_KEY.toString()]);
    } else {
      const got = await lockHolder.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [
        MAINTENANCE_LOCK_KEY.toString(),
      ]);
      if (!got.rows[0]!.got) return undefined;
    }
    try {
      const queue = await pruneFinishedQueue(pool, policy.finishedQueueMs);
      const oldAttempts = await pruneDeliveryAttempts(pool, policy.attemptsMs);
      const expungeRecords = await pruneExpungeHistory(pool, policy.expungedMs);
      const activityTallies = await pruneActivityTallies(pool, ACTIVITY_TALLY_RETENTION_MS);
      const blobs = await collectBlobs(pool, { graceMs: policy.blobGraceMs });
      return { ...queue, oldAttempts, expungeRecords, activityTallies, blobs };
    } finally {
      await lockHolder.query('SELECT pg_advisory_unlock($1)', [MAINTENANCE_LOCK_KEY.toString()]);
    }
  } finally {
    lockHolder.release();
  }
}
