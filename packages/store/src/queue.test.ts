import { startTcpProxy } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobId } from './blobs.js';
import { openStore } from './db.js';
import { claimQueuedMessage, settleDeliveries } from './deliveries.js';
import {
  awaitAcceptance,
  findQueuedMessage,
  newQueueId,
  queueAcceptedMessage,
  recordAcceptedMessage,
  sweepAbandoned,
} from './queue.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store.close());

/** Sessions of this database waiting for an advisory lock. */
async function lockWaiters(): Promise<number> {
  const result = await store.pool.query(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()`,
  );
  return result.rows[0].n;
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const message = (queueId: string) => ({
  queueId,
  raw: Buffer.from('Received: from x\r\nSubject: hi\r\n\r\nbody\r\n'),
  sender: 'alice@example.org',
  recipients: [
    { address: 'bob@example.org', notify: ['SUCCESS', 'FAILURE'] as const, orcpt: 'rfc822;Bob@Example.org' },
    { address: 'carol@remote.test', notify: 'NEVER' as const },
    { address: 'dave@remote.test' },
  ],
  dsnEnvid: 'env-1',
  dsnRet: 'HDRS' as const,
  listener: 'submission',
});

describe('queue', () => {
  it('makes unambiguous 16-character queue ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, newQueueId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
  });

  it('records the message, its recipients and DSN parameters already queued, in one statement', async () => {
    const id = newQueueId();
    await recordAcceptedMessage(store.pool, message(id));
    const queued = await findQueuedMessage(store.pool, id);
    expect(queued).toMatchObject({
      state: 'queued',
      sender: 'alice@example.org',
      dsnEnvid: 'env-1',
      dsnRet: 'HDRS',
    });
    expect(queued?.raw.toString()).toContain('Subject: hi');
    expect(queued?.recipients).toEqual([
      {
        address: 'bob@example.org',
        notify: ['SUCCESS', 'FAILURE'],
        orcpt: 'rfc822;Bob@Example.org',
        status: 'pending',
      },
      { address: 'carol@remote.test', notify: ['NEVER'], orcpt: null, status: 'pending' },
      { address: 'dave@remote.test', notify: null, orcpt: null, status: 'pending' },
    ]);
  });

  it('shows the row only once the job is published and the transaction committed', async () => {
    const id = newQueueId();
    let seenDuringPublish: unknown = 'not called';
    await queueAcceptedMessage(store.pool, message(id), async () => {
      seenDuringPublish = await findQueuedMessage(store.pool, id);
    });
    expect(seenDuringPublish).toBeUndefined();
    expect((await findQueuedMessage(store.pool, id))?.state).toBe('queued');
  });

  it('answers 250 (resolves) when the COMMIT was applied but its answer lost with the connection', async () => {
    // Postgres behind a proxy that holds its answers once the job is published: the COMMIT
    // goes through, its answer does not, and then the connection is cut.
    const url = new URL(store.database.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const proxied = openStore({ url: url.toString(), poolSize: 2, onIdleError: () => undefined });
    try {
      const id = newQueueId();
      const acceptance = queueAcceptedMessage(proxied.pool, message(id), async () => {
        proxy.hold('downstream');
      });
      // The row is committed (seen from a connection of the test's own), unanswered.
      await until(async () => (await findQueuedMessage(store.pool, id))?.state === 'queued');
      proxy.cut();
      setTimeout(() => {
        proxy.release();
        proxy.restore();
      }, 300);
      await expect(acceptance).resolves.toBeUndefined();
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('leaves no row, no recipient and no blob when the publish fails', async () => {
    const id = newQueueId();
    const unique = { ...message(id), raw: Buffer.from(`Subject: ${id}\r\n\r\nbody\r\n`) };
    const blobs = async () =>
      (await store.pool.query(`SELECT count(*)::int AS n FROM blobs WHERE sha256 = $1`, [blobId(unique.raw)]))
        .rows[0].n;
    await expect(
      queueAcceptedMessage(store.pool, unique, async () => {
        throw new Error('no PubAck');
      }),
    ).rejects.toThrow('no PubAck');
    expect(await findQueuedMessage(store.pool, id)).toBeUndefined();
    const recipients = await store.pool.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE queue_id = $1`,
      [id],
    );
    expect(recipients.rows[0].n).toBe(0);
    expect(await blobs()).toBe(0);
  });

  it("makes a worker holding the job wait for the acceptance's commit or rollback, not longer", async () => {
    // Nothing open for this id: the wait is over at once.
    expect(await awaitAcceptance(store.pool, newQueueId(), 5_000)).toBe(true);

    for (const ending of ['commit', 'rollback'] as const) {
      const id = newQueueId();
      let publishDone!: () => void;
      const published = new Promise<void>((resolve) => {
        publishDone = resolve;
      });
      let inPublish!: () => void;
      const publishing = new Promise<void>((resolve) => {
        inPublish = resolve;
      });
      const acceptance = queueAcceptedMessage(store.pool, message(id), async () => {
        inPublish();
        await published;
        if (ending === 'rollback') throw new Error('ingress gone');
      }).catch((err: Error) => err.message);
      await publishing;
      // Still publishing: a short wait runs out, and says so.
      expect(await awaitAcceptance(store.pool, id, 50)).toBe(false);
      // A longer one is still waiting when the acceptance ends, and ends with it.
      let waited = false;
      const waiting = awaitAcceptance(store.pool, id, 10_000).then((settled) => {
        waited = true;
        return settled;
      });
      await until(async () => (await lockWaiters()) > 0);
      expect(waited).toBe(false);
      publishDone();
      expect(await waiting).toBe(true);
      // What the worker reads next is the last word.
      const row = await findQueuedMessage(store.pool, id);
      if (ending === 'commit') {
        expect(await acceptance).toBeUndefined();
        expect(row?.state).toBe('queued');
      } else {
        expect(await acceptance).toBe('ingress gone');
        expect(row).toBeUndefined();
      }
    }
  });

  it("sweeps old 'accepting' rows (an older ingress's) and leaves queued ones", async () => {
    const orphan = newQueueId();
    const queued = newQueueId();
    await recordAcceptedMessage(store.pool, message(orphan));
    await recordAcceptedMessage(store.pool, message(queued));
    await store.pool.query(`UPDATE queue SET state = 'accepting' WHERE id = $1`, [orphan]);
    expect(await sweepAbandoned(store.pool, 60_000)).toBe(0);
    await store.pool.query(
      `UPDATE queue SET received_at = now() - interval '10 minutes' WHERE id = ANY($1)`,
      [[orphan, queued]],
    );
    expect(await sweepAbandoned(store.pool, 60_000)).toBe(1);
    expect(await findQueuedMessage(store.pool, orphan)).toBeUndefined();
    expect((await findQueuedMessage(store.pool, queued))?.state).toBe('queued');
  });

  it('keeps REQUIRETLS and TLS-Required: No with the message, and REQUIRETLS on its notices (RFC 8689)', async () => {
    const plain = newQueueId();
    await recordAcceptedMessage(store.pool, message(plain));
    expect(await findQueuedMessage(store.pool, plain)).toMatchObject({
      requireTls: false,
      tlsRequiredNo: false,
    });
    const optional = newQueueId();
    await recordAcceptedMessage(store.pool, { ...message(optional), tlsRequiredNo: true });
    expect(await findQueuedMessage(store.pool, optional)).toMatchObject({
      requireTls: false,
      tlsRequiredNo: true,
    });

    const required = newQueueId();
    await recordAcceptedMessage(store.pool, { ...message(required), requireTls: true });
    const claimed = await claimQueuedMessage(store.pool, required, 'w1', 60_000);
    expect(claimed?.entry).toMatchObject({ requireTls: true, tlsRequiredNo: false });
    const first = claimed!.due[0]!;
    const report = newQueueId();
    await settleDeliveries(
      store.pool,
      'w1',
      [{ deliveryId: first.id, outcome: 'bounced', reply: 'no', statusCode: '5.7.30' }],
      {
        queueId: report,
        raw: Buffer.from('Subject: bounce\r\n\r\nx\r\n'),
        recipient: 'alice@example.org',
        reportsOn: required,
        messageId: '<r@x>',
        requireTls: true,
      },
    );
    expect(await findQueuedMessage(store.pool, report)).toMatchObject({ sender: '', requireTls: true });

    // Both at once is a contradiction the ingress never writes (§4.1: REQUIRETLS wins).
    await expect(
      recordAcceptedMessage(store.pool, { ...message(newQueueId()), requireTls: true, tlsRequiredNo: true }),
    ).rejects.toThrow(/queue_requiretls_or_tls_optional/);
  });
});
