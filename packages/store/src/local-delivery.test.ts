import { describeMessage } from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { blobId } from './blobs.js';
import { claimDueDeliveries } from './deliveries.js';
import { addDomain } from './domains.js';
import {
  deliverManyToMailbox,
  deliverToMailbox,
  type LocalMailbox,
  routeLocalRecipient,
} from './local-delivery.js';
import { readMessageBytes } from './message-bytes.js';
import { newQueueId, recordAcceptedMessage } from './queue.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let inbox: LocalMailbox;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'local.test');
  await createAccount(store.pool, 'lena@local.test', 'lena-password');
  const route = await routeLocalRecipient(store.pool, 'Lena@local.test');
  if (route.kind !== 'account') throw new Error('no account');
  inbox = route.mailbox;
});
afterAll(() => store.close());

/** A queued message to lena with its delivery claimed by `claimant`. */
async function claimed(claimant: string, body: string) {
  const queueId = newQueueId();
  const message = Buffer.from(`Subject: ${body}\r\n\r\n${body}\r\n`);
  await recordAcceptedMessage(store.pool, {
    queueId,
    raw: message,
    sender: 'x@remote.test',
    recipients: [{ address: 'lena@local.test' }],
  });
  const [delivery] = await claimDueDeliveries(store.pool, queueId, claimant, 60_000);
  const headerPrefix = Buffer.from('Delivered-To: lena@local.test\r\n');
  return {
    deliveryId: delivery!.id,
    blob: { sha256: blobId(message), size: message.length },
    headerPrefix,
    raw: Buffer.concat([headerPrefix, message]),
  };
}

type Claimed = Awaited<ReturnType<typeof claimed>>;

const input = (worker: string, d: Claimed) => ({
  deliveryId: d.deliveryId,
  worker,
  blob: d.blob,
  headerPrefix: d.headerPrefix,
  metadata: describeMessage(d.raw).metadata,
  searchText: `text ${d.deliveryId}`,
  internalDate: new Date(),
  reply: '250 2.0.0 delivered',
});

describe('local delivery', () => {
  it('routes accounts, aliases and unknown names', async () => {
    expect((await routeLocalRecipient(store.pool, 'nobody@local.test')).kind).toBe('unknown');
  });

  it('delivers once: a second try of the same delivery does nothing', async () => {
    const d = await claimed('w1', 'once');
    const first = await deliverToMailbox(store.pool, { ...input('w1', d), mailbox: inbox });
    expect(first.kind).toBe('delivered');
    expect(await deliverToMailbox(store.pool, { ...input('w1', d), mailbox: inbox })).toEqual({
      kind: 'not-held',
    });
  });

  it('delivers a batch in order with consecutive UIDs and one MODSEQ, skipping deliveries it does not hold', async () => {
    const a = await claimed('w2', 'batch-a');
    const b = await claimed('someone-else', 'batch-b');
    const c = await claimed('w2', 'batch-c');
    const results = await deliverManyToMailbox(store.pool, inbox, [
      input('w2', a),
      input('w2', b),
      input('w2', c),
    ]);
    expect(results[1]).toEqual({ kind: 'not-held' });
    const [ra, rc] = [results[0]!, results[2]!];
    if (ra.kind !== 'delivered' || rc.kind !== 'delivered') throw new Error(JSON.stringify(results));
    expect(rc.uid).toBe(ra.uid + 1);
    expect(rc.modseq).toBe(ra.modseq);
    const rows = await store.pool.query(
      `SELECT m.uid, m.metadata, m.search_text, m.size, d.status, d.uid AS delivered_uid
         FROM messages m JOIN deliveries d ON d.mailbox_id = m.mailbox_id AND d.uid = m.uid
        WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[]) ORDER BY m.uid`,
      [inbox.inboxId, [ra.uid, rc.uid]],
    );
    const bytes = await readMessageBytes(store.pool, inbox.inboxId, [ra.uid, rc.uid]);
    expect([bytes.get(ra.uid)?.toString(), bytes.get(rc.uid)?.toString()]).toEqual([
      a.raw.toString(),
      c.raw.toString(),
    ]);
    expect(rows.rows.map((r) => Number(r.size))).toEqual([a.raw.length, c.raw.length]);
    expect(rows.rows.map((r) => r.metadata.envelope.subject)).toEqual(['batch-a', 'batch-c']);
    expect(rows.rows.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    const mailbox = await store.pool.query('SELECT uidnext, highestmodseq FROM mailboxes WHERE id = $1', [
      inbox.inboxId,
    ]);
    expect(Number(mailbox.rows[0].uidnext)).toBe(rc.uid + 1);
    expect(BigInt(mailbox.rows[0].highestmodseq)).toBe(rc.modseq);
    // Again: all settled already.
    const again = await deliverManyToMailbox(store.pool, inbox, [input('w2', a), input('w2', c)]);
    expect(again).toEqual([{ kind: 'not-held' }, { kind: 'not-held' }]);
  });

  it('marks the message done with the delivery of its last waiting recipient, not before', async () => {
    await createAccount(store.pool, 'mo@local.test', 'mo-password');
    const route = await routeLocalRecipient(store.pool, 'mo@local.test');
    if (route.kind !== 'account') throw new Error('no account');
    const queueId = newQueueId();
    const message = Buffer.from(`Subject: two\r\n\r\ntwo\r\n`);
    await recordAcceptedMessage(store.pool, {
      queueId,
      raw: message,
      sender: 'x@remote.test',
      recipients: [{ address: 'lena@local.test' }, { address: 'mo@local.test' }],
    });
    const due = await claimDueDeliveries(store.pool, queueId, 'w-done', 60_000);
    const copy = (id: string) =>
      input('w-done', {
        deliveryId: id,
        blob: { sha256: blobId(message), size: message.length },
        headerPrefix: Buffer.alloc(0),
        raw: message,
      });
    const state = async () =>
      (await store.pool.query('SELECT state FROM queue WHERE id = $1', [queueId])).rows[0].state;
    const first = await deliverToMailbox(store.pool, { ...copy(due[0]!.id), mailbox: inbox });
    expect(first).toMatchObject({ kind: 'delivered', queueDone: false });
    expect(await state()).toBe('queued');
    const second = await deliverToMailbox(store.pool, { ...copy(due[1]!.id), mailbox: route.mailbox });
    expect(second).toMatchObject({ kind: 'delivered', queueDone: true });
    expect(await state()).toBe('done');
  });

  it('delivers the rest of a batch when one of its deliveries fails, and finishes only their messages', async () => {
    const a = await claimed('w3', 'fail-a');
    const b = await claimed('w3', 'fail-b');
    const c = await claimed('w3', 'fail-c');
    // b was settled meanwhile by another run (or taken over): its delivery is not ours.
    await store.pool.query(`UPDATE deliveries SET claimed_by = 'another' WHERE id = $1`, [b.deliveryId]);
    const results = await deliverManyToMailbox(store.pool, inbox, [
      input('w3', a),
      input('w3', b),
      input('w3', c),
    ]);
    expect(results.map((r) => r.kind)).toEqual(['delivered', 'not-held', 'delivered']);
    expect(results.map((r) => r.kind === 'delivered' && r.queueDone)).toEqual([true, false, true]);
    const states = await store.pool.query<{ id: string; state: string }>(
      `SELECT d.id, q.state FROM deliveries d JOIN queue q ON q.id = d.queue_id WHERE d.id = ANY($1::bigint[])
        ORDER BY d.id`,
      [[a.deliveryId, b.deliveryId, c.deliveryId]],
    );
    expect(states.rows.map((r) => r.state)).toEqual(['done', 'queued', 'done']);
    const copies = await store.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM deliveries WHERE id = ANY($1::bigint[]) AND status = $2',
      [[a.deliveryId, b.deliveryId, c.deliveryId], 'delivered'],
    );
    expect(copies.rows[0]!.n).toBe('2');
  });

  it('gives concurrent batches distinct, gapless UIDs', async () => {
    const batches = await Promise.all(
      [0, 1, 2, 3].map(async (k) => {
        const ds = [];
        for (let i = 0; i < 5; i++) ds.push(await claimed(`c${k}`, `conc-${k}-${i}`));
        return deliverManyToMailbox(
          store.pool,
          inbox,
          ds.map((d) => input(`c${k}`, d)),
        );
      }),
    );
    const uids = batches
      .flat()
      .map((r) => (r.kind === 'delivered' ? r.uid : -1))
      .sort((x, y) => x - y);
    expect(uids).not.toContain(-1);
    expect(new Set(uids).size).toBe(20);
    expect(uids.at(-1)! - uids[0]!).toBe(19);
  });

  it("stores a message to many recipients once: each copy is its prefix on the queue's blob", async () => {
    const names = Array.from({ length: 6 }, (_, i) => `r${i}`);
    for (const name of names) await createAccount(store.pool, `${name}@local.test`, 'r-password-r');
    const queueId = newQueueId();
    const message = Buffer.from(`Subject: many\r\nMessage-ID: <${queueId}@t>\r\n\r\nfor all\r\n`);
    await recordAcceptedMessage(store.pool, {
      queueId,
      raw: message,
      sender: 'x@remote.test',
      recipients: names.map((name) => ({ address: `${name}@local.test` })),
    });
    const due = await claimDueDeliveries(store.pool, queueId, 'wm', 60_000);
    const before = await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM blobs');
    for (const d of due) {
      const route = await routeLocalRecipient(store.pool, d.recipient);
      if (route.kind !== 'account') throw new Error(d.recipient);
      const headerPrefix = Buffer.from(`Delivered-To: ${d.recipient}\r\n`);
      const result = await deliverToMailbox(store.pool, {
        ...input('wm', {
          deliveryId: d.id,
          blob: { sha256: blobId(message), size: message.length },
          headerPrefix,
          raw: message,
        }),
        mailbox: route.mailbox,
      });
      expect(result.kind).toBe('delivered');
      const read = await readMessageBytes(store.pool, route.mailbox.inboxId);
      expect([...read.values()].map((b) => b.toString())).toEqual([
        `Delivered-To: ${d.recipient}\r\n${message}`,
      ]);
    }
    const after = await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM blobs');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    const copies = await store.pool.query<{ n: string; blobs: string }>(
      'SELECT count(*) AS n, count(DISTINCT blob_sha256) AS blobs FROM messages WHERE blob_sha256 = $1',
      [blobId(message)],
    );
    expect(copies.rows[0]).toEqual({ n: '6', blobs: '1' });
  });
});
