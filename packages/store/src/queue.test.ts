import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimQueuedMessage, settleDeliveries } from './deliveries.js';
import {
  discardAccepting,
  findQueuedMessage,
  markQueued,
  newQueueId,
  recordAcceptedMessage,
  sweepAbandoned,
} from './queue.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store.close());

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

  it('records the message, its recipients and DSN parameters as accepting, then queued', async () => {
    const id = newQueueId();
    await recordAcceptedMessage(store.pool, message(id));
    const accepting = await findQueuedMessage(store.pool, id);
    expect(accepting).toMatchObject({
      state: 'accepting',
      sender: 'alice@example.org',
      dsnEnvid: 'env-1',
      dsnRet: 'HDRS',
    });
    expect(accepting?.raw.toString()).toContain('Subject: hi');
    expect(accepting?.recipients).toEqual([
      {
        address: 'bob@example.org',
        notify: ['SUCCESS', 'FAILURE'],
        orcpt: 'rfc822;Bob@Example.org',
        status: 'pending',
      },
      { address: 'carol@remote.test', notify: ['NEVER'], orcpt: null, status: 'pending' },
      { address: 'dave@remote.test', notify: null, orcpt: null, status: 'pending' },
    ]);
    await markQueued(store.pool, id);
    expect((await findQueuedMessage(store.pool, id))?.state).toBe('queued');
    // A queued message is never discarded as abandoned.
    await discardAccepting(store.pool, id);
    expect((await findQueuedMessage(store.pool, id))?.state).toBe('queued');
  });

  it('discards an accepting message whose job was not published, and sweeps old ones', async () => {
    const discarded = newQueueId();
    await recordAcceptedMessage(store.pool, message(discarded));
    await discardAccepting(store.pool, discarded);
    expect(await findQueuedMessage(store.pool, discarded)).toBeUndefined();
    const orphan = newQueueId();
    await recordAcceptedMessage(store.pool, message(orphan));
    expect(await sweepAbandoned(store.pool, 60_000)).toBe(0);
    await store.pool.query(`UPDATE queue SET received_at = now() - interval '10 minutes' WHERE id = $1`, [
      orphan,
    ]);
    expect(await sweepAbandoned(store.pool, 60_000)).toBe(1);
    expect(await findQueuedMessage(store.pool, orphan)).toBeUndefined();
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
    await markQueued(store.pool, required);
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
