import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { collectBlobs } from './blob-collection.js';
import { blobId, putBlob } from './blobs.js';
import { openStore, type StorePool } from './db.js';
import { addDomain } from './domains.js';
import { createMailbox } from './mailboxes.js';
import { appendMessage } from './messages.js';
import { newQueueId, recordAcceptedMessage } from './queue.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
// Enough connections for every racer at once.
let wide: StorePool;
let mailboxId: string;

beforeAll(async () => {
  store = await openTestStore();
  wide = openStore({ url: store.database.url, poolSize: 40 });
  await addDomain(store.pool, 'gc.test');
  const account = await createAccount(store.pool, 'gc@gc.test', 'pw');
  mailboxId = (await createMailbox(store.pool, account.id, 'Racing')).id;
});
afterAll(async () => {
  await wide.close();
  await store.close();
});

const content = (n: number) => Buffer.from(`Subject: shared ${n}\r\n\r\nthe same bytes, stored once\r\n`);

async function blobExists(sha256: Buffer): Promise<boolean> {
  return (await store.pool.query('SELECT 1 FROM blobs WHERE sha256 = $1', [sha256])).rowCount === 1;
}

describe('collectBlobs', () => {
  it('deletes a blob nothing references once it is older than the grace, and keeps referenced ones', async () => {
    const kept = await appendMessage(store.pool, { mailboxId, raw: content(100) });
    const orphan = await putBlob(store.pool, content(101));
    expect(kept.uid).toBeGreaterThan(0);
    // Younger than the grace: stays.
    expect(await collectBlobs(store.pool, { graceMs: 3_600_000 })).toEqual({ blobs: 0, bytes: 0 });
    expect(await blobExists(orphan)).toBe(true);
    const collected = await collectBlobs(store.pool, { graceMs: 0 });
    expect(collected).toEqual({ blobs: 1, bytes: content(101).length });
    expect(await blobExists(orphan)).toBe(false);
    expect(await blobExists(blobId(content(100)))).toBe(true);
  });

  it('walks every candidate in batches', async () => {
    for (let i = 0; i < 25; i++) await putBlob(store.pool, content(1000 + i));
    expect((await collectBlobs(store.pool, { graceMs: 0, batchSize: 4 })).blobs).toBe(25);
  });

  it('storing an existing blob pins it: a collector waits for the writer and finds it referenced', async () => {
    const raw = content(200);
    await putBlob(store.pool, raw);
    const writer = await store.pool.connect();
    try {
      await writer.query('BEGIN');
      // The INSERT finds the row and takes FOR KEY SHARE on it (the trigger) …
      await putBlob(writer, raw);
      // … so the collector skips it while the writer has not yet referenced it.
      expect((await collectBlobs(store.pool, { graceMs: 0 })).blobs).toBe(0);
      await writer.query(
        `INSERT INTO messages (mailbox_id, uid, blob_sha256, size, internal_date, modseq)
         SELECT $1, uidnext, $2, $3, now(), highestmodseq FROM mailboxes WHERE id = $1`,
        [mailboxId, blobId(raw), raw.length],
      );
      await writer.query('UPDATE mailboxes SET uidnext = uidnext + 1 WHERE id = $1', [mailboxId]);
      await writer.query('COMMIT');
    } finally {
      writer.release();
    }
    expect((await collectBlobs(store.pool, { graceMs: 0 })).blobs).toBe(0);
    expect(await blobExists(blobId(raw))).toBe(true);
  });

  it('races 24 writers of the same few messages (APPEND and queue) against collectors and removers: no reference dangles, no orphan survives', async () => {
    const contents = [0, 1, 2].map(content);
    const rounds = 40;
    let collected = 0;
    let stored = 0;
    let racing = true;
    const appender = async (w: number) => {
      for (let i = 0; i < rounds; i++) {
        await appendMessage(wide.pool, { mailboxId, raw: contents[(w + i) % contents.length]! });
        stored++;
      }
    };
    const acceptor = async (w: number) => {
      for (let i = 0; i < rounds; i++) {
        await recordAcceptedMessage(wide.pool, {
          queueId: newQueueId(),
          raw: contents[(w + i) % contents.length]!,
          sender: 'a@remote.test',
          recipients: [{ address: 'gc@gc.test' }],
        });
        stored++;
      }
    };
    // Removers drop every reference again and again, so the shared blobs keep falling to
    // zero references while writers are storing them anew.
    const remover = async () => {
      while (racing) {
        await wide.pool.query('DELETE FROM messages WHERE mailbox_id = $1', [mailboxId]);
        await wide.pool.query('DELETE FROM queue');
      }
    };
    const collector = async () => {
      while (racing) collected += (await collectBlobs(wide.pool, { graceMs: 0, batchSize: 2 })).blobs;
    };
    const others = [remover(), remover(), collector(), collector(), collector()];
    const writers = Promise.all([
      ...Array.from({ length: 12 }, (_, w) => appender(w)),
      ...Array.from({ length: 12 }, (_, w) => acceptor(w)),
    ]);
    try {
      // Every write must succeed: a blob deleted under a writer would fail its foreign key.
      await writers;
    } finally {
      racing = false;
      await Promise.all(others);
    }
    expect(stored).toBe(24 * rounds);
    // The race did happen: blobs went to zero references and were collected while stored again.
    expect(collected).toBeGreaterThan(0);

    // Whatever rows survived the last removal point at blobs that exist …
    const dangling = await store.pool.query(
      `SELECT count(*)::int AS n FROM (
         SELECT blob_sha256 FROM messages UNION ALL SELECT blob_sha256 FROM queue) r
        WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = r.blob_sha256)`,
    );
    expect(dangling.rows[0].n).toBe(0);
    // … and after one more collection no unreferenced blob older than the grace (0) is left.
    await collectBlobs(store.pool, { graceMs: 0 });
    const orphans = await store.pool.query(
      `SELECT count(*)::int AS n FROM blobs b
        WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_sha256 = b.sha256)
          AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.blob_sha256 = b.sha256)`,
    );
    expect(orphans.rows[0].n).toBe(0);
  }, 120_000);
});
