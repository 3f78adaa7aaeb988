import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, removeAccount } from './accounts.js';
import { collectBlobs } from './blob-collection.js';
import { addDomain } from './domains.js';
import { removeDomainWithUsers } from './mail-removal.js';
import { createMailbox } from './mailboxes.js';
import { runMaintenance } from './maintenance.js';
import { appendMessage, expungeMessages } from './messages.js';
import { newQueueId, recordAcceptedMessage } from './queue.js';
import { expungeHistoryFloor, pruneExpungeHistory, pruneFinishedQueue } from './retention.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store.close());

const DAY = 86_400_000;
const KEEP_NOTHING = { finishedQueueMs: 0, attemptsMs: 0, expungedMs: DAY, blobGraceMs: 0 };

// A message of about `bytes`, different for each n (so each is a blob of its own).
const message = (n: number, bytes = 2_000) =>
  Buffer.from(`Subject: message ${n}\r\n\r\n${`line ${n} `.repeat(Math.ceil(bytes / 10))}\r\n`);

/** A queue entry that was delivered long ago: done, its recipient settled, one attempt. */
async function finishedEntry(raw: Buffer, daysAgo: number): Promise<string> {
  const queueId = newQueueId();
  await recordAcceptedMessage(store.pool, {
    queueId,
    raw,
    sender: 's@remote.test',
    recipients: [{ address: 'r@x.test' }],
  });
  const at = `now() - make_interval(days => ${daysAgo})`;
  await store.pool.query(
    `UPDATE deliveries SET status = 'delivered', finished_at = ${at}, last_attempt_at = ${at} WHERE queue_id = $1`,
    [queueId],
  );
  await store.pool.query(
    `INSERT INTO delivery_attempts (delivery_id, outcome, reply, attempted_at)
     SELECT id, 'delivered', '250 ok', ${at} FROM deliveries WHERE queue_id = $1`,
    [queueId],
  );
  await store.pool.query(`UPDATE queue SET state = 'done', received_at = ${at} WHERE id = $1`, [queueId]);
  return queueId;
}

describe('retention', () => {
  it('removes finished queue entries settled longer ago than the retention, with their recipients and attempts', async () => {
    const old = await finishedEntry(message(1), 20);
    const recent = await finishedEntry(message(2), 1);
    const waiting = newQueueId();
    await recordAcceptedMessage(store.pool, {
      queueId: waiting,
      raw: message(3),
      sender: '',
      recipients: [{ address: 'r@x.test' }],
    });
    expect(await pruneFinishedQueue(store.pool, 14 * DAY)).toEqual({
      queueEntries: 1,
      deliveries: 1,
      attempts: 1,
    });
    const left = await store.pool.query<{ id: string }>('SELECT id FROM queue ORDER BY id');
    expect(left.rows.map((r) => r.id).sort()).toEqual([recent, waiting].sort());
    expect(left.rows.map((r) => r.id)).not.toContain(old);
    await store.pool.query('DELETE FROM queue');
    await collectBlobs(store.pool, { graceMs: 0 });
  });

  it('forgets old expunges and records, per mailbox, the MODSEQ below which VANISHED is no longer exact', async () => {
    await addDomain(store.pool, 'history.test');
    const account = await createAccount(store.pool, 'h@history.test', 'pw');
    const box = await createMailbox(store.pool, account.id, 'History');
    const a = await appendMessage(store.pool, { mailboxId: box.id, raw: message(10) });
    const b = await appendMessage(store.pool, { mailboxId: box.id, raw: message(11) });
    await expungeMessages(store.pool, box.id, [a.uid]);
    await store.pool.query(
      "UPDATE expunged_messages SET expunged_at = now() - interval '100 days' WHERE mailbox_id = $1",
      [box.id],
    );
    const forgotten = await store.pool.query<{ modseq: string }>(
      'SELECT modseq FROM expunged_messages WHERE mailbox_id = $1',
      [box.id],
    );
    await expungeMessages(store.pool, box.id, [b.uid]);
    expect(await expungeHistoryFloor(store.pool, box.id)).toBe(0n);
    expect(await pruneExpungeHistory(store.pool, 90 * DAY)).toBe(1);
    expect(await expungeHistoryFloor(store.pool, box.id)).toBe(BigInt(forgotten.rows[0]!.modseq));
    const kept = await store.pool.query('SELECT uid FROM expunged_messages WHERE mailbox_id = $1', [box.id]);
    expect(kept.rows.map((r) => Number(r.uid))).toEqual([b.uid]);
    // Both messages were expunged before the user went: their bytes are the collector's.
    expect((await removeAccount(store.pool, 'h@history.test')).mail).toMatchObject({ messages: 0, bytes: 0 });
    expect(await collectBlobs(store.pool, { graceMs: 0 })).toEqual({
      blobs: 2,
      bytes: message(10).length + message(11).length,
    });
  });
});

describe('removing users and domains', () => {
  it('removes a user with their mail and says how much; a blob another user holds stays', async () => {
    await addDomain(store.pool, 'remove.test');
    const ann = await createAccount(store.pool, 'ann@remove.test', 'pw');
    const bob = await createAccount(store.pool, 'bob@remove.test', 'pw');
    const annBox = await createMailbox(store.pool, ann.id, 'Kept');
    const bobBox = await createMailbox(store.pool, bob.id, 'Kept');
    await appendMessage(store.pool, { mailboxId: annBox.id, raw: message(20) });
    await appendMessage(store.pool, { mailboxId: annBox.id, raw: message(21) });
    await appendMessage(store.pool, { mailboxId: bobBox.id, raw: message(21) });
    const { mail } = await removeAccount(store.pool, 'ann@remove.test');
    expect(mail).toMatchObject({ messages: 2, bytes: message(20).length + message(21).length });
    expect(mail.mailboxes).toBeGreaterThanOrEqual(1);
    // message 21 is also bob's: only message 20's bytes are freed.
    expect(mail.blobs).toEqual({ blobs: 1, bytes: message(20).length });

    const domain = await removeDomainWithUsers(store.pool, 'remove.test');
    expect(domain).toMatchObject({ users: 1, messages: 1, blobs: { blobs: 1, bytes: message(21).length } });
    const blobs = await store.pool.query('SELECT count(*)::int AS n FROM blobs');
    expect(blobs.rows[0].n).toBe(0);
  });
});

const TABLES = [
  'blobs',
  'messages',
  'queue',
  'deliveries',
  'delivery_attempts',
  'expunged_messages',
] as const;

/**
 * `data`: the main fork of each table and of its TOAST table, what plain VACUUM truncates
 * (its free-space and visibility maps are a few fixed pages it creates); `total`:
 * pg_total_relation_size, indexes and maps included.
 */
async function sizes(kind: 'data' | 'total'): Promise<Record<string, number>> {
  const measure =
    kind === 'total'
      ? 'pg_total_relation_size(c.oid)'
      : 'pg_relation_size(c.oid) + COALESCE(pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0)';
  const result = await store.pool.query<{ name: string; bytes: string }>(
    `SELECT c.relname AS name, ${measure} AS bytes FROM pg_class c
      WHERE c.oid = ANY(SELECT t::regclass FROM unnest($1::text[]) AS t)`,
    [TABLES],
  );
  return Object.fromEntries(result.rows.map((r) => [r.name, Number(r.bytes)]));
}

const total = (s: Record<string, number>) => Object.values(s).reduce((n, b) => n + b, 0);

describe('the database after fill, expunge, remove and maintenance', () => {
  it('is back near its starting size (VACUUM returns the tables, VACUUM FULL the indexes too)', async () => {
    await store.pool.query(`VACUUM FULL ${TABLES.join(', ')}`);
    const startTables = await sizes('data');
    const startTotal = await sizes('total');

    // Fill: two users with 150 messages of 20 KB each (some stored in both: one blob),
    // and 150 queue entries, all delivered and finished.
    await addDomain(store.pool, 'fill.test');
    const users = await Promise.all(
      ['u1@fill.test', 'u2@fill.test'].map((a) => createAccount(store.pool, a, 'pw')),
    );
    const boxes = await Promise.all(users.map((u) => createMailbox(store.pool, u.id, 'Filled')));
    for (let i = 0; i < 150; i++) {
      const raw = message(1000 + i, 20_000);
      await appendMessage(store.pool, { mailboxId: boxes[i % 2]!.id, raw });
      if (i % 3 === 0) await appendMessage(store.pool, { mailboxId: boxes[(i + 1) % 2]!.id, raw });
      await finishedEntry(raw, 30);
    }
    const filled = await sizes('total');
    expect(total(filled) - total(startTotal)).toBeGreaterThan(150 * 20_000);

    // Expunge half of the first user's mail, then remove the users and their domain.
    const uids = await store.pool.query<{ uid: string }>('SELECT uid FROM messages WHERE mailbox_id = $1', [
      boxes[0]!.id,
    ]);
    await expungeMessages(
      store.pool,
      boxes[0]!.id,
      uids.rows.filter((_, i) => i % 2 === 0).map((r) => Number(r.uid)),
    );
    await store.pool.query("UPDATE expunged_messages SET expunged_at = now() - interval '2 days'");
    await removeDomainWithUsers(store.pool, 'fill.test');

    const report = await runMaintenance(store.pool, KEEP_NOTHING, { wait: true });
    expect(report).toMatchObject({ queueEntries: 150, deliveries: 150, attempts: 150 });
    // The queue held every blob after the users went: maintenance frees them all.
    expect(report!.blobs.blobs).toBe(150);
    const left = await store.pool.query(
      `SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM messages) + (SELECT count(*) FROM queue)
            + (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM delivery_attempts)
            + (SELECT count(*) FROM expunged_messages) AS n`,
    );
    expect(Number(left.rows[0].n)).toBe(0);

    await store.pool.query(`VACUUM ${TABLES.join(', ')}`);
    const vacuumed = await sizes('data');
    await store.pool.query(`VACUUM FULL ${TABLES.join(', ')}`);
    const full = await sizes('total');
    console.info(
      'table sizes (bytes), pg_total_relation_size:',
      Object.fromEntries(TABLES.map((t) => [t, { start: startTotal[t], filled: filled[t], end: full[t] }])),
      'tables and TOAST (main forks) after plain VACUUM:',
      vacuumed,
    );
    // Near: within a few pages per table (8 KB each) of where they started.
    const SLACK = 6 * 8192;
    for (const t of TABLES) {
      expect(vacuumed[t], `${t} after VACUUM`).toBeLessThanOrEqual(startTables[t]! + SLACK);
      expect(full[t], `${t} after VACUUM FULL`).toBeLessThanOrEqual(startTotal[t]! + SLACK);
    }
  }, 120_000);
});
