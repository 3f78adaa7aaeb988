import { createTestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotaUsage } from './account-usage.js';
import { createAccount, listAccountUsage, removeAccount, setQuota } from './accounts.js';
import { blobId } from './blobs.js';
import { openStore } from './db.js';
import { claimDueDeliveries } from './deliveries.js';
import { addDomain } from './domains.js';
import { deliverToMailbox, type LocalMailbox, routeLocalRecipient } from './local-delivery.js';
import { deleteMailbox } from './mailbox-deletion.js';
import { createMailbox, findMailbox } from './mailboxes.js';
import { appendMessage, copyMessages, expungeMessages, listMessages, updateFlags } from './messages.js';
import { loadMigrations, migrate } from './migrate.js';
import { newQueueId, recordAcceptedMessage } from './queue.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'usage.test');
});
afterAll(() => store.close());

/** What the counters must equal: the sums over the account's messages, as a scan finds them. */
async function scanned(accountId: string) {
  const result = await store.pool.query<{ bytes: string; messages: string }>(
    `SELECT COALESCE(sum(m.size), 0) AS bytes, count(m.uid) AS messages
       FROM mailboxes b JOIN messages m ON m.mailbox_id = b.id WHERE b.account_id = $1`,
    [accountId],
  );
  return { usedBytes: Number(result.rows[0]!.bytes), messages: Number(result.rows[0]!.messages) };
}

async function counted(accountId: string) {
  const usage = await quotaUsage(store.pool, accountId);
  return { usedBytes: usage!.usedBytes, messages: usage!.messages };
}

const message = (label: string, size = 0) =>
  Buffer.from(`Subject: ${label}\r\n\r\n${'x'.repeat(size)}${label}\r\n`);

async function route(address: string): Promise<LocalMailbox> {
  const found = await routeLocalRecipient(store.pool, address);
  if (found.kind !== 'account') throw new Error(`no account ${address}`);
  return found.mailbox;
}

/** A delivery of `raw` to `address`, queued and claimed by `worker`. */
async function claimedDelivery(address: string, worker: string, raw: Buffer) {
  const queueId = newQueueId();
  await recordAcceptedMessage(store.pool, {
    queueId,
    raw,
    sender: 'x@remote.test',
    recipients: [{ address }],
  });
  const [delivery] = await claimDueDeliveries(store.pool, queueId, worker, 60_000);
  return delivery!.id;
}

/** A local copy of a queued message: the queue's blob, no header prefix of its own. */
const queued = (raw: Buffer) => ({
  blob: { sha256: blobId(raw), size: raw.length },
  headerPrefix: Buffer.alloc(0),
});

describe('quota counters', () => {
  it('equal the real sums after many concurrent deliveries, APPENDs, COPYs, MOVEs and expunges to one account', async () => {
    const account = await createAccount(store.pool, 'busy@usage.test', 'pw');
    const inbox = await route('busy@usage.test');
    const archive = await findMailbox(store.pool, account.id, 'Archive');
    const work = await createMailbox(store.pool, account.id, 'Work');
    const deliveries = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        claimedDelivery('busy@usage.test', `w${i}`, message(`delivered ${i}`, i * 7)),
      ),
    );
    const deliver = (i: number) =>
      deliverToMailbox(store.pool, {
        deliveryId: deliveries[i]!,
        worker: `w${i}`,
        mailbox: inbox,
        ...queued(message(`delivered ${i}`, i * 7)),
        internalDate: new Date(),
        reply: '250 2.0.0 delivered',
      });
    const append = (i: number) =>
      appendMessage(store.pool, { mailboxId: work.id, raw: message(`appended ${i}`, i * 13) });
    const expungeSome = async (round: number) => {
      const uids = (await listMessages(store.pool, inbox.inboxId)).map((m) => m.uid);
      const some = uids.filter((_, i) => i % 3 === round % 3);
      await updateFlags(store.pool, inbox.inboxId, some, 'add', ['\\Deleted']);
      await expungeMessages(store.pool, inbox.inboxId, some, { deletedOnly: true });
    };
    const copySome = async (move: boolean) => {
      const uids = (await listMessages(store.pool, work.id)).map((m) => m.uid).slice(0, 5);
      await copyMessages(store.pool, account.id, work.id, uids, 'Archive', move);
    };
    await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => deliver(i)),
      ...Array.from({ length: 40 }, (_, i) => append(i)),
      ...Array.from({ length: 6 }, (_, round) => expungeSome(round)),
      ...Array.from({ length: 6 }, (_, round) => copySome(round % 2 === 1)),
    ]);
    const real = await scanned(account.id);
    expect(real.messages).toBeGreaterThan(0);
    expect(await counted(account.id)).toEqual(real);
    expect((await listMessages(store.pool, archive!.id)).length).toBeGreaterThan(0);
  }, 120_000);

  it('follow a mailbox DELETE, a \\Noselect DELETE and a removed account', async () => {
    const account = await createAccount(store.pool, 'mover@usage.test', 'pw');
    const parent = await createMailbox(store.pool, account.id, 'Projects');
    const child = await createMailbox(store.pool, account.id, 'Projects/Old');
    const inbox = await findMailbox(store.pool, account.id, 'INBOX');
    for (const [mailbox, n] of [
      [parent.id, 3],
      [child.id, 4],
      [inbox!.id, 2],
    ] as const) {
      for (let i = 0; i < n; i++)
        await appendMessage(store.pool, { mailboxId: mailbox, raw: message(`${mailbox}-${i}`, 100) });
    }
    expect((await counted(account.id)).messages).toBe(9);
    expect(await deleteMailbox(store.pool, account.id, 'Projects')).toMatchObject({ outcome: 'noselect' });
    expect(await counted(account.id)).toEqual(await scanned(account.id));
    expect(await deleteMailbox(store.pool, account.id, 'Projects/Old')).toMatchObject({ outcome: 'deleted' });
    const left = await counted(account.id);
    expect(left).toEqual(await scanned(account.id));
    expect(left.messages).toBe(2);
    // Mail in more than one mailbox: the counter row is updated twice as the account goes.
    const archive = await findMailbox(store.pool, account.id, 'Archive');
    await appendMessage(store.pool, { mailboxId: archive!.id, raw: message('kept', 10) });
    await removeAccount(store.pool, 'mover@usage.test');
    const rows = await store.pool.query('SELECT 1 FROM account_usage WHERE account_id = $1', [account.id]);
    expect(rows.rowCount).toBe(0);
  });

  it('refuse a delivery that would pass the quota, and say how much is used', async () => {
    const account = await createAccount(store.pool, 'full@usage.test', 'pw');
    await setQuota(store.pool, 'full@usage.test', 300);
    const inbox = await route('full@usage.test');
    await appendMessage(store.pool, { mailboxId: inbox.inboxId, raw: message('first', 200) });
    const used = (await counted(account.id)).usedBytes;
    const raw = message('second', 200);
    const deliveryId = await claimedDelivery('full@usage.test', 'q', raw);
    const result = await deliverToMailbox(store.pool, {
      deliveryId,
      worker: 'q',
      mailbox: inbox,
      ...queued(raw),
      internalDate: new Date(),
      reply: '250 2.0.0 delivered',
    });
    expect(result).toEqual({ kind: 'over-quota', usedBytes: used });
    expect(await counted(account.id)).toEqual({ usedBytes: used, messages: 1 });
    const inboxBox = await findMailbox(store.pool, account.id, 'INBOX');
    const copied = await copyMessages(store.pool, account.id, inboxBox!.id, [1], 'Archive', false);
    expect(copied).toBe('over-quota');
    // A MOVE adds nothing to what the account holds.
    const moved = await copyMessages(store.pool, account.id, inboxBox!.id, [1], 'Archive', true);
    expect(moved).toMatchObject({ source: [1], target: [1] });
    expect(await counted(account.id)).toEqual({ usedBytes: used, messages: 1 });
    const listed = await listAccountUsage(store.pool, 'usage.test');
    expect(listed.find((a) => a.address === 'full@usage.test')).toMatchObject({
      usedBytes: used,
      messages: 1,
      quotaBytes: 300,
    });
  });

  it('refuse to change a stored message size behind their back', async () => {
    const account = await createAccount(store.pool, 'fixed@usage.test', 'pw');
    const inbox = await findMailbox(store.pool, account.id, 'INBOX');
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw: message('fixed') });
    await expect(
      store.pool.query('UPDATE messages SET size = size + 1 WHERE mailbox_id = $1', [inbox!.id]),
    ).rejects.toThrow(/keeps its mailbox and size/);
    expect(await counted(account.id)).toEqual(await scanned(account.id));
  });
});

describe('migration 0015', () => {
  it('counts the mail stored before it', async () => {
    const database = await createTestDatabase();
    const old = openStore({ url: database.url, poolSize: 2 });
    try {
      await migrate(
        old.pool,
        // 0019 too: today's createAccount subscribes the new mailboxes.
        loadMigrations().filter((m) => m.version < 15 || m.version === 19),
      );
      await addDomain(old.pool, 'before.test');
      const full = await createAccount(old.pool, 'full@before.test', 'pw');
      const empty = await createAccount(old.pool, 'empty@before.test', 'pw');
      const inbox = await findMailbox(old.pool, full.id, 'INBOX');
      const sent = await findMailbox(old.pool, full.id, 'Sent');
      // In the schema of version 14, which today's appendMessage no longer writes.
      for (const [box, raw] of [
        [inbox!.id, message('one', 10)],
        [sent!.id, message('two', 20)],
      ] as const) {
        await old.pool.query('INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3)', [
          blobId(raw),
          raw.length,
          raw,
        ]);
        await old.pool.query(
          `INSERT INTO messages (mailbox_id, uid, blob_sha256, size, internal_date, modseq)
           VALUES ($1, 1, $2, $3, now(), 1)`,
          [box, blobId(raw), raw.length],
        );
      }
      await migrate(old.pool);
      const expected = await old.pool.query<{ bytes: string }>(
        'SELECT sum(size) AS bytes FROM messages WHERE mailbox_id = ANY($1::bigint[])',
        [[inbox!.id, sent!.id]],
      );
      expect(await quotaUsage(old.pool, full.id)).toMatchObject({
        usedBytes: Number(expected.rows[0]!.bytes),
        messages: 2,
      });
      expect(await quotaUsage(old.pool, empty.id)).toMatchObject({ usedBytes: 0, messages: 0 });
    } finally {
      await old.close();
      await database.drop();
    }
  });
});
