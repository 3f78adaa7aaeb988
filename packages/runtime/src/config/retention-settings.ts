import { durationMs, type Reader } from './read.js';

// How long Tegami keeps what it no longer needs (docs/architecture/lifecycle.md): read by the
// delivery-worker (whose maintenance loop applies it every TEGAMI_RETENTION_INTERVAL), the
// standalone and `tegami gc`.

export interface RetentionSettings {
  /** TEGAMI_RETENTION_QUEUE: a finished queue entry, with its deliveries and attempts. */
  readonly finishedQueueMs: number;
  /** TEGAMI_RETENTION_ATTEMPTS: a delivery attempt. */
  readonly attemptsMs: number;
  /** TEGAMI_RETENTION_EXPUNGED: an expunge record (IMAP VANISHED history). */
  readonly expungedMs: number;
  /** TEGAMI_RETENTION_BLOB_GRACE: an unreferenced blob younger than this stays. */
  readonly blobGraceMs: number;
}

const DAY = 86_400_000;

export function retentionSettings(): Reader<RetentionSettings> {
  const readers = {
    finishedQueueMs: durationMs('TEGAMI_RETENTION_QUEUE', { min: 0 }),
    attemptsMs: durationMs('TEGAMI_RETENTION_ATTEMPTS', { min: 0 }),
    // A live IMAP session holds a MODSEQ at most TEGAMI_IMAP_IDLE_TIMEOUT old (retention.ts):
    // a day is far above any idle timeout, so no live session ever misses an expunge.
    expungedMs: durationMs('TEGAMI_RETENTION_EXPUNGED', { min: DAY }),
    blobGraceMs: durationMs('TEGAMI_RETENTION_BLOB_GRACE', { min: 0 }),
  };
  return {
    variables: Object.values(readers).flatMap((r) => r.variables),
    read: (lookup) => ({
      finishedQueueMs: readers.finishedQueueMs.read(lookup),
      attemptsMs: readers.attemptsMs.read(lookup),
      expungedMs: readers.expungedMs.read(lookup),
      blobGraceMs: readers.blobGraceMs.read(lookup),
    }),
  };
}
