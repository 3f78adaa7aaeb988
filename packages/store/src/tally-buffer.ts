import type pg from 'pg';
import {
  boundedDmarcTally,
  boundedTlsTally,
  type Counted,
  type DmarcResultTally,
  dmarcTallyKey,
  recordDmarcResults,
  recordTlsResults,
  type TlsResultTally,
  tlsTallyKey,
} from './report-tallies.js';

// Counting for the reports on the path of every delivery and every received message costs one
// Map update: the counts are added up in memory and written every few seconds in one upsert.
// They are statistics: a crash loses what was counted since the last write (a few seconds),
// and while Postgres is down the counts wait in memory up to a bound, past which new distinct
// rows are dropped (and counted as dropped) rather than growing without end.

export interface TallyBufferOptions {
  /** How often the counts are written (default 5 s). */
  readonly flushIntervalMs?: number;
  /** Most distinct rows held between writes (default 10,000). */
  readonly maxEntries?: number;
  /** A write failed: the counts stay for the next one. */
  readonly onError?: (err: unknown) => void;
}

export interface TallyBuffer<T> {
  /** Counts one occurrence. Never throws, never waits. */
  add(tally: T): void;
  /** Writes what is held now (the timer does it on its own). */
  flush(): Promise<void>;
  /** Distinct rows held, and occurrences dropped because the bound was reached. */
  stats(): { readonly held: number; readonly dropped: number };
  /** Stops the timer and writes what is left. */
  stop(): Promise<void>;
}

export function createTallyBuffer<T>(
  keyOf: (tally: T) => string,
  write: (counts: readonly Counted<T>[]) => Promise<void>,
  options: TallyBufferOptions = {},
): TallyBuffer<T> {
  const maxEntries = options.maxEntries ?? 10_000;
  let held = new Map<string, { tally: T; count: number }>();
  let dropped = 0;
  let writing: Promise<void> | undefined;

  const flush = async (): Promise<void> => {
    // One write at a time; a flush asked for meanwhile waits for it and then writes the rest.
    while (writing) await writing;
    if (held.size === 0) return;
    const batch = held;
    held = new Map();
    writing = write([...batch.values()])
      .catch((err) => {
        // Put the counts back, merged with those added meanwhile, within the bound.
        for (const [key, entry] of batch) {
          const current = held.get(key);
          if (current) current.count += entry.count;
          else if (held.size < maxEntries) held.set(key, entry);
          else dropped += entry.count;
        }
        options.onError?.(err);
      })
      .finally(() => {
        writing = undefined;
      });
    await writing;
  };

  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 5_000);
  timer.unref();

  return {
    add(tally) {
      const key = keyOf(tally);
      const current = held.get(key);
      if (current) {
        current.count++;
        // The latest wins for what the key leaves out (a DMARC record's rua).
        current.tally = tally;
      } else if (held.size < maxEntries) {
        held.set(key, { tally, count: 1 });
      } else {
        dropped++;
      }
    },
    flush,
    stats: () => ({ held: held.size, dropped }),
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}

/** The delivery-worker's count of outbound TLS sessions, for TLS-RPT. */
export function createTlsResultBuffer(
  pool: pg.Pool,
  options: TallyBufferOptions = {},
): TallyBuffer<TlsResultTally> {
  return createTallyBuffer(
    (t: TlsResultTally) => `${t.day}/${tlsTallyKey(boundedTlsTally(t))}`,
    (counts) => recordTlsResults(pool, counts),
    options,
  );
}

/** smtp-ingress's count of DMARC results, for DMARC aggregate reports. */
export function createDmarcResultBuffer(
  pool: pg.Pool,
  options: TallyBufferOptions = {},
): TallyBuffer<DmarcResultTally> {
  return createTallyBuffer(
    (t: DmarcResultTally) => `${t.day}/${dmarcTallyKey(boundedDmarcTally(t))}`,
    (counts) => recordDmarcResults(pool, counts),
    options,
  );
}
