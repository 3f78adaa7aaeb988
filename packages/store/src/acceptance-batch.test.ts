import { startTcpProxy } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcceptanceBatcher } from './acceptance-batch.js';
import { openStore } from './db.js';
import { awaitAcceptance, findQueuedMessage, newQueueId } from './queue.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store.close());

const message = (queueId: string) => ({
  queueId,
  raw: Buffer.from(`Received: by x\r\nSubject: ${queueId}\r\n\r\nbody\r\n`),
  sender: 'alice@example.org',
  recipients: [{ address: 'bob@example.org' }, { address: 'carol@remote.test', notify: 'NEVER' as const }],
  listener: 'mx',
});

/** A gate the test opens: publishes wait on it, so the test can look inside the transaction. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

async function recipientsOf(id: string): Promise<number> {
  const result = await store.pool.query('SELECT count(*)::int AS n FROM deliveries WHERE queue_id = $1', [
    id,
  ]);
  return result.rows[0].n;
}

/** Advisory locks held (granted) by the backends of this database, per backend. */
async function acceptanceLockHolders(): Promise<number[]> {
  const result = await store.pool.query(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1952802657 AND a.datname = current_database()
      GROUP BY l.pid`,
  );
  return result.rows.map((row) => row.n);
}

describe('acceptance batches (group commit)', () => {
  it('answers 250 (resolves) for a batch whose COMMIT was applied but its answer lost with the connection', async () => {
    const url = new URL(store.database.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const proxied = openStore({ url: url.toString(), poolSize: 2, onIdleError: () => undefined });
    try {
      const batcher = createAcceptanceBatcher(proxied.pool);
      const ids = [newQueueId(), newQueueId()];
      let published = 0;
      const accepted = ids.map((id) =>
        batcher.accept(message(id), async () => {
          // The last PubAck: from here on Postgres's answers wait in the proxy.
          if (++published === ids.length) proxy.hold('downstream');
        }),
      );
      for (const id of ids) {
        for (let i = 0; i < 1000 && (await findQueuedMessage(store.pool, id))?.state !== 'queued'; i++)
          await new Promise((r) => setTimeout(r, 10));
      }
      proxy.cut();
      setTimeout(() => {
        proxy.release();
        proxy.restore();
      }, 300);
      await expect(Promise.all(accepted)).resolves.toEqual([undefined, undefined]);
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('writes concurrent messages in one transaction, publishes them together, and commits them after every PubAck', async () => {
    const batcher = createAcceptanceBatcher(store.pool);
    const ids = Array.from({ length: 5 }, newQueueId);
    const release = gate();
    const publishing: string[] = [];
    const allPublishing = gate();
    const accepted = ids.map((id) =>
      batcher.accept(message(id), async () => {
        publishing.push(id);
        if (publishing.length === ids.length) allPublishing.open();
        await release.opened;
      }),
    );
    // Every publish is under way at once, before any commit: one transaction holds all five
    // locks, and no row is visible yet.
    await allPublishing.opened;
    expect(await acceptanceLockHolders()).toEqual([5]);
    for (const id of ids) expect(await findQueuedMessage(store.pool, id)).toBeUndefined();
    // A worker with one of the jobs waits for that transaction.
    expect(await awaitAcceptance(store.pool, ids[2]!, 50)).toBe(false);
    release.open();
    await Promise.all(accepted);
    for (const id of ids) {
      expect((await findQueuedMessage(store.pool, id))?.state).toBe('queued');
      expect(await recipientsOf(id)).toBe(2);
    }
    expect(await awaitAcceptance(store.pool, ids[2]!, 5_000)).toBe(true);
  });

  it('commits the others when one publish fails, and leaves no row for the failed one', async () => {
    const batcher = createAcceptanceBatcher(store.pool);
    const ids = Array.from({ length: 4 }, newQueueId);
    const failing = ids[1]!;
    const outcomes = await Promise.allSettled(
      ids.map((id) =>
        batcher.accept(message(id), async () => {
          if (id === failing) throw new Error('no PubAck');
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('no PubAck');
    expect(await findQueuedMessage(store.pool, failing)).toBeUndefined();
    expect(await recipientsOf(failing)).toBe(0);
    for (const id of ids.filter((i) => i !== failing)) {
      expect((await findQueuedMessage(store.pool, id))?.state).toBe('queued');
    }
  });

  it('tries each message alone when the statement refuses one, never publishing the refused one', async () => {
    const batcher = createAcceptanceBatcher(store.pool);
    const ids = Array.from({ length: 4 }, newQueueId);
    const bad = ids[2]!;
    const published: string[] = [];
    const outcomes = await Promise.allSettled(
      ids.map((id) =>
        batcher.accept(
          // REQUIRETLS and TLS-Required: No together break a check constraint.
          id === bad ? { ...message(id), requireTls: true, tlsRequiredNo: true } : message(id),
          async () => {
            published.push(id);
          },
        ),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(published.sort()).toEqual(ids.filter((id) => id !== bad).sort());
    expect(await findQueuedMessage(store.pool, bad)).toBeUndefined();
    for (const id of ids.filter((i) => i !== bad)) {
      expect((await findQueuedMessage(store.pool, id))?.state).toBe('queued');
      expect(await recipientsOf(id)).toBe(2);
    }
  });

  it('fails the whole batch, committing none of it, when its connection dies during the publish', async () => {
    const batcher = createAcceptanceBatcher(store.pool);
    const ids = Array.from({ length: 3 }, newQueueId);
    const release = gate();
    const allPublishing = gate();
    let publishing = 0;
    const outcomes = Promise.allSettled(
      ids.map((id) =>
        batcher.accept(message(id), async () => {
          if (++publishing === ids.length) allPublishing.open();
          await release.opened;
        }),
      ),
    );
    await allPublishing.opened;
    // The ingress's end as Postgres sees it (a SIGKILL drops the connection): the backend
    // holding the batch's locks goes, and its transaction with it.
    const killed = await store.pool.query(
      `SELECT pg_terminate_backend(l.pid) AS done FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1952802657 AND a.datname = current_database()
        GROUP BY l.pid`,
    );
    expect(killed.rows).toEqual([{ done: true }]);
    release.open();
    // The PubAcks all came, but the commit cannot: nobody is told the message was accepted.
    expect((await outcomes).map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const id of ids) {
      expect(await findQueuedMessage(store.pool, id)).toBeUndefined();
      expect(await recipientsOf(id)).toBe(0);
      // A worker holding one of the jobs finds the lock free and no row: a stale job.
      expect(await awaitAcceptance(store.pool, id, 5_000)).toBe(true);
    }
    // The pool goes on with a fresh connection.
    const next = newQueueId();
    await batcher.accept(message(next), async () => undefined);
    expect((await findQueuedMessage(store.pool, next))?.state).toBe('queued');
  });

  it('takes a message that arrives during a batch into the next one', async () => {
    const batcher = createAcceptanceBatcher(store.pool);
    const first = newQueueId();
    const release = gate();
    const inPublish = gate();
    const firstAccepted = batcher.accept(message(first), async () => {
      inPublish.open();
      await release.opened;
    });
    await inPublish.opened;
    const later = [newQueueId(), newQueueId()];
    const laterPublished: string[] = [];
    const laterAccepted = later.map((id) =>
      batcher.accept(message(id), async () => {
        laterPublished.push(id);
      }),
    );
    // One batch in flight: the later ones wait for it rather than open a transaction each
    // (a turn of the event loop lets a wrongly started batch get as far as its statement).
    await new Promise((resolve) => setImmediate(resolve));
    expect(laterPublished).toEqual([]);
    expect(await acceptanceLockHolders()).toEqual([1]);
    release.open();
    await Promise.all([firstAccepted, ...laterAccepted]);
    expect(laterPublished.sort()).toEqual([...later].sort());
    for (const id of [first, ...later])
      expect((await findQueuedMessage(store.pool, id))?.state).toBe('queued');
  });
});
