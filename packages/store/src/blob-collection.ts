import type pg from 'pg';
import { withTransaction } from './db.js';

export interface CollectedBlobs {
  readonly blobs: number;
  readonly bytes: number;
}

export interface BlobCollectionOptions {
  /**
   * A blob younger than this stays even when nothing references it: room for a writer that
   * stores a blob in one transaction and references it in a later one. No path does today
   * (each stores and references in one transaction), so the lock protocol below is what
   * makes collection safe; the grace is a margin, not the argument.
   */
  readonly graceMs: number;
  /** Blobs deleted per transaction, so no lock is held long. */
  readonly batchSize?: number;
}

// Why collection cannot delete a blob a concurrent delivery or APPEND is about to reference:
//
// 1. Every INSERT INTO blobs goes through the blobs_store_or_pin trigger (migration 0017):
//    the writer either inserts the row or holds FOR KEY SHARE on the existing one until it
//    commits. The foreign keys of messages and queue take the same lock when the reference
//    is written. So from the moment a writer decides to reference a blob until its commit,
//    it holds KEY SHARE on the row (or the row is its own, invisible to us).
// 2. We lock candidates FOR UPDATE SKIP LOCKED: a blob a writer holds is skipped; a writer
//    arriving after our lock waits for our commit, then finds the row gone and inserts it
//    again (the trigger loops), so its reference never dangles.
// 3. We re-check "unreferenced" in the DELETE, a new statement whose snapshot is taken after
//    every candidate is locked: a reference committed before our lock is visible to it, and
//    none can commit after (point 1 and 2). The first check only picks candidates.
//
// The foreign keys stay as the last word: were a writer ever to bypass the trigger, its
// statement or our DELETE would fail, and no message would point at a missing blob.
const UNREFERENCED = `NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_sha256 = b.sha256)
                  AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.blob_sha256 = b.sha256)`;

/**
 * Deletes every blob that no message and no queue entry references and that is older than
 * the grace, in batches walked in hash order (one pass over the blobs, however many go).
 */
export async function collectBlobs(pool: pg.Pool, options: BlobCollectionOptions): Promise<CollectedBlobs> {
  const batchSize = options.batchSize ?? 500;
  let after: Buffer = Buffer.alloc(0);
  let blobs = 0;
  let bytes = 0;
  for (;;) {
    const batch = await withTransaction(pool, async (client) => {
      const candidates = await client.query<{ sha256: Buffer }>(
        `SELECT b.sha256 FROM blobs b
          WHERE b.sha256 > $1 AND b.created_at < now() - make_interval(secs => $2::double precision / 1000)
            AND ${UNREFERENCED}
          ORDER BY b.sha256 LIMIT $3
          FOR UPDATE OF b SKIP LOCKED`,
        [after, options.graceMs, batchSize],
      );
      const locked = candidates.rows.map((r) => r.sha256);
      if (locked.length === 0) return { locked, deleted: [] };
      const deleted = await deleteUnreferenced(client, locked);
      return { locked, deleted };
    });
    blobs += batch.deleted.length;
    bytes += batch.deleted.reduce((n, size) => n + size, 0);
    if (batch.locked.length < batchSize) return { blobs, bytes };
    after = batch.locked[batch.locked.length - 1]!;
  }
}

/**
 * Deletes those of the given blobs nothing references any more, right after their messages
 * went (`tegami user remove`): the same locks and re-check as collectBlobs, with no grace
 * but the one given (the blobs of a removed user are usually long stored).
 */
export async function collectBlobsOf(
  client: pg.PoolClient,
  sha256s: readonly Buffer[],
  graceMs: number,
): Promise<CollectedBlobs> {
  if (sha256s.length === 0) return { blobs: 0, bytes: 0 };
  const candidates = await client.query<{ sha256: Buffer }>(
    `SELECT b.sha256 FROM blobs b
      WHERE b.sha256 = ANY($1::bytea[]) AND b.created_at < now() - make_interval(secs => $2::double precision / 1000)
        AND ${UNREFERENCED}
      ORDER BY b.sha256
      FOR UPDATE OF b SKIP LOCKED`,
    [sha256s, graceMs],
  );
  const deleted = await deleteUnreferenced(
    client,
    candidates.rows.map((r) => r.sha256),
  );
  return { blobs: deleted.length, bytes: deleted.reduce((n, size) => n + size, 0) };
}

/** Point 3: runs after the candidates are locked, so its snapshot sees every reference. */
async function deleteUnreferenced(client: pg.PoolClient, locked: readonly Buffer[]): Promise<number[]> {
  if (locked.length === 0) return [];
  const result = await client.query<{ size: string }>(
    `DELETE FROM blobs b WHERE b.sha256 = ANY($1::bytea[]) AND ${UNREFERENCED} RETURNING b.size`,
    [locked],
  );
  return result.rows.map((r) => Number(r.size));
}
