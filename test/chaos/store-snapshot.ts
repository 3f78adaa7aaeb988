// What the store holds once a chaos run is over and quiet: every mailbox of every
// account in the run, its messages (UID, flags, X-Chaos-Id) and its counters.

import { mailboxRawMessages, type StorePool } from '@tegami/store';
import { chaosIdOf } from './accounts.js';

export interface SnapshotMessage {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly id: string | undefined;
  /** The raw message, kept only for the sender's mailbox (the DSNs are read from it). */
  readonly raw?: string;
}

export interface SnapshotMailbox {
  readonly user: string;
  readonly name: string;
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly highestModseq: bigint;
  readonly messages: readonly SnapshotMessage[];
}

export interface StoreSnapshot {
  mailbox(user: string, name: string): SnapshotMailbox | undefined;
  readonly mailboxes: readonly SnapshotMailbox[];
  /** Queue rows not done, by state. */
  readonly unfinishedQueue: Readonly<Record<string, number>>;
  /** The first few of them, with their recipients' state, for the report. */
  readonly unfinishedDetail: readonly string[];
}

export async function snapshotStore(
  store: StorePool,
  users: readonly string[],
  keepRawOf: string,
): Promise<StoreSnapshot> {
  const mailboxes: SnapshotMailbox[] = [];
  const { rows } = await store.pool.query<{
    id: string;
    address: string;
    name: string;
    uidvalidity: string;
    uidnext: string;
    highestmodseq: string;
  }>(
    `SELECT b.id, a.address, b.name, b.uidvalidity, b.uidnext, b.highestmodseq
       FROM mailboxes b JOIN accounts a ON a.id = b.account_id
      WHERE a.address = ANY($1) ORDER BY a.address, b.name`,
    [users],
  );
  for (const row of rows) {
    const flags = new Map<number, string[]>();
    const flagRows = await store.pool.query<{ uid: string; flags: string[] }>(
      'SELECT uid, flags FROM messages WHERE mailbox_id = $1',
      [row.id],
    );
    for (const f of flagRows.rows) flags.set(Number(f.uid), [...f.flags].sort());
    const raws = await mailboxRawMessages(store.pool, row.id);
    const keepRaw = row.address === keepRawOf;
    mailboxes.push({
      user: row.address,
      name: row.name,
      uidValidity: Number(row.uidvalidity),
      uidNext: Number(row.uidnext),
      highestModseq: BigInt(row.highestmodseq),
      messages: raws
        .map(({ uid, raw }) => ({
          uid,
          flags: flags.get(uid) ?? [],
          id: chaosIdOf(raw),
          ...(keepRaw ? { raw: raw.toString('latin1') } : {}),
        }))
        .sort((a, b) => a.uid - b.uid),
    });
  }
  const queue = await store.pool.query<{ state: string; n: number }>(
    `SELECT state, count(*)::int AS n FROM queue WHERE state <> 'done' GROUP BY state`,
  );
  const detail = await store.pool.query<{ line: string }>(
    `SELECT format('%s (%s, received %s): %s', q.id, q.message_id, q.received_at,
              string_agg(format('%s %s attempts %s next %s claimed %s until %s', d.recipient, d.status,
                                d.attempts, d.next_attempt_at, d.claimed_by, d.claimed_until), '; ')) AS line
       FROM queue q JOIN deliveries d ON d.queue_id = q.id
      WHERE q.state <> 'done' GROUP BY q.id ORDER BY q.received_at LIMIT 10`,
  );
  const byKey = new Map(mailboxes.map((m) => [`${m.user}\n${m.name}`, m]));
  return {
    mailboxes,
    mailbox: (user, name) => byKey.get(`${user}\n${name}`),
    unfinishedQueue: Object.fromEntries(queue.rows.map((r) => [r.state, r.n])),
    unfinishedDetail: detail.rows.map((r) => r.line),
  };
}
