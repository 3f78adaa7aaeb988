import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { blobId } from './blobs.js';
import { claimQueuedMessages, findDueMessages } from './deliveries.js';
import { addDomain } from './domains.js';
import { deliverToMailbox, type LocalMailbox, routeLocalRecipients } from './local-delivery.js';
import { newQueueId, recordAcceptedMessage } from './queue.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let inbox: LocalMailbox;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'claims.test');
  await createAccount(store.pool, 'cleo@claims.test', 'cleo-password');
  const [route] = await routeLocalRecipients(store.pool, ['cleo@claims.test']);
  if (route?.kind !== 'account') throw new Error('no account');
  inbox = route.mailbox;
});
afterAll(() => store.close());

async function queued(recipients: readonly string[]): Promise<{ queueId: string; raw: Buffer }> {
  const queueId = newQueueId();
  const raw = Buffer.from(`Subject: ${queueId}\r\n\r\nbody\r\n`);
  await recordAcceptedMessage(store.pool, {
    queueId,
    raw,
    sender: 'x@remote.test',
    recipients: recipients.map((address) => ({ address })),
  });
  return { queueId, raw };
}

describe('claims of several jobs in one statement', () => {
  it('answers each request in order: its queue row, its recipients and the bytes; nothing for an unknown id', async () => {
    const one = await queued(['cleo@claims.test']);
    const two = await queued(['cleo@claims.test', 'nobody@claims.test']);
    const answers = await claimQueuedMessages(
      store.pool,
      [
        { queueId: two.queueId, worker: 'w/2' },
        { queueId: 'no-such-queue-id', worker: 'w/x' },
        { queueId: one.queueId, worker: 'w/1' },
      ],
      60_000,
    );
    expect(answers[1]).toBeUndefined();
    expect(answers[0]?.entry.queueId).toBe(two.queueId);
    expect(answers[0]?.due.map((d) => d.recipient)).toEqual(['cleo@claims.test', 'nobody@claims.test']);
    expect(answers[0]?.message?.equals(two.raw)).toBe(true);
    expect(answers[2]?.entry.queueId).toBe(one.queueId);
    expect(answers[2]?.due.map((d) => d.recipient)).toEqual(['cleo@claims.test']);
    const holders = await store.pool.query<{ claimed_by: string }>(
      'SELECT claimed_by FROM deliveries WHERE queue_id = ANY($1::text[]) ORDER BY id', // one's first
      [[one.queueId, two.queueId]],
    );
    expect(holders.rows.map((r) => r.claimed_by)).toEqual(['w/1', 'w/2', 'w/2']);
  });

  it('gives the recipients of a message asked for twice in one batch to one of the two claimants', async () => {
    const { queueId } = await queued(['cleo@claims.test']);
    const [a, b] = await claimQueuedMessages(
      store.pool,
      [
        { queueId, worker: 'w/a' },
        { queueId, worker: 'w/b' },
      ],
      60_000,
    );
    expect(a?.entry.queueId).toBe(queueId);
    expect(b?.entry.queueId).toBe(queueId);
    expect([...a!.due, ...b!.due]).toHaveLength(1);
    expect([a!.message, b!.message].filter((m) => m !== undefined)).toHaveLength(1);
  });

  it('finds a message delivered before a crash (committed, job not acked) done, with nothing left to claim', async () => {
    const { queueId, raw } = await queued(['cleo@claims.test']);
    const [first] = await claimQueuedMessages(store.pool, [{ queueId, worker: 'w/first' }], 60_000);
    const result = await deliverToMailbox(store.pool, {
      deliveryId: first!.due[0]!.id,
      worker: 'w/first',
      mailbox: inbox,
      blob: { sha256: blobId(raw), size: raw.length },
      headerPrefix: Buffer.alloc(0),
      internalDate: new Date(),
      reply: '250 2.0.0 delivered',
    });
    expect(result).toMatchObject({ kind: 'delivered', queueDone: true });
    // The job comes back (its ack was lost with the process): the claim finds it done.
    const [again] = await claimQueuedMessages(store.pool, [{ queueId, worker: 'w/again' }], 60_000);
    expect(again?.entry.state).toBe('done');
    expect(again?.due).toEqual([]);
    expect(again?.message).toBeUndefined();
    const copies = await store.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM messages WHERE mailbox_id = $1 AND blob_sha256 = $2',
      [inbox.inboxId, blobId(raw)],
    );
    expect(copies.rows[0]!.n).toBe('1');
  });
});

describe('the due scan', () => {
  it('finds a recipient never tried whose claim ran out (its worker died holding it) at once, not one still held', async () => {
    const expired = await queued(['cleo@claims.test']);
    const held = await queued(['cleo@claims.test']);
    const fresh = await queued(['cleo@claims.test']);
    await claimQueuedMessages(
      store.pool,
      [
        { queueId: expired.queueId, worker: 'w/dead' },
        { queueId: held.queueId, worker: 'w/alive' },
      ],
      60_000,
    );
    await store.pool.query(
      `UPDATE deliveries SET claimed_until = now() - interval '1 second' WHERE queue_id = $1`,
      [expired.queueId],
    );
    // Strandedness by age alone would take five minutes here.
    const due = (await findDueMessages(store.pool, 5 * 60_000, 1000)).map((m) => m.queueId);
    expect(due).toContain(expired.queueId);
    expect(due).not.toContain(held.queueId);
    // Never claimed, just accepted: its own job is on the way; the scan leaves it alone.
    expect(due).not.toContain(fresh.queueId);
  });
});

describe('routes of several addresses in one statement', () => {
  it('answers each address in order, whatever its case', async () => {
    const routes = await routeLocalRecipients(store.pool, ['nobody@claims.test', 'Cleo@Claims.test']);
    expect(routes[0]).toEqual({ kind: 'unknown' });
    expect(routes[1]).toMatchObject({ kind: 'account', mailbox: { inboxId: inbox.inboxId } });
  });
});
