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
