import { isStoreOutage } from '@tegami/protocol';
import type pg from 'pg';

// A COMMIT whose answer never came (the connection died: a Postgres restart, a partition)
// may have committed or not. smtp-ingress must then answer its client, and a 451 for a
// message that was in fact queued makes the client send it again: a second copy (the
// chaos run saw it). So it looks, on another connection, waiting out a short outage: rows
// that are there were committed, and their messages get their 250.

const PATIENCE_MS = 15_000;

/** Which of these queue ids have a committed row (after a COMMIT whose answer was lost). */
export async function committedQueueIds(
  pool: pg.Pool,
  queueIds: readonly string[],
  options: { patienceMs?: number } = {},
): Promise<Set<string>> {
  if (queueIds.length === 0) return new Set();
  const patience = options.patienceMs ?? PATIENCE_MS;
  const started = Date.now();
  let pause = 100;
  for (;;) {
    try {
      const result = await pool.query<{ id: string }>(
        `SELECT id FROM queue WHERE id = ANY($1::text[]) AND state = 'queued'`,
        [queueIds],
      );
      return new Set(result.rows.map((r) => r.id));
    } catch (err) {
      // Not knowing is answered as before: not committed (451, and perhaps a duplicate).
      if (!isStoreOutage(err) || Date.now() - started + pause > patience) return new Set();
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 2_000);
    }
  }
}

/**
 * After an expunge whose answer was lost: true when none of these messages is in the
 * mailbox any more (the expunge happened, or another session's did: either way they are
 * gone, which is what the client asked). False when some are there or the store stays away.
 */
export async function messagesGone(
  pool: pg.Pool,
  mailboxId: string,
  uids: readonly number[],
  options: { patienceMs?: number } = {},
): Promise<boolean> {
  const patience = options.patienceMs ?? PATIENCE_MS;
  const started = Date.now();
  let pause = 100;
  for (;;) {
    try {
      const result = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])',
        [mailboxId, uids],
      );
      return result.rows[0]!.n === 0;
    } catch (err) {
      if (!isStoreOutage(err) || Date.now() - started + pause > patience) return false;
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 2_000);
    }
  }
}
