import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { blobId, getBlob, getBlobs } from './blobs.js';
import { addDomain } from './domains.js';
import { createMailbox, findMailbox, renameMailbox, setSubscribed } from './mailboxes.js';
import { appendMessage, expungeMessages, listMessages, updateFlags } from './messages.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let accountId: string;

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'example.org');
  accountId = (await createAccount(store.pool, 'alice@example.org', 'pw')).id;
});
afterAll(() => store.close());

const message = (n: number) => Buffer.from(`Subject: message ${n}\r\n\r\nbody ${n}\r\n`);

describe('appendMessage', () => {
  it('gives UIDs 1..1600 exactly once to 8 concurrent appenders × 200 messages, and UIDNEXT 1601', async () => {
    const mailbox = await createMailbox(store.pool, accountId, 'Concurrent');
    const appender = async (worker: number) => {
      const uids: number[] = [];
      for (let i = 0; i < 200; i++) {
        uids.push(
          (await appendMessage(store.pool, { mailboxId: mailbox.id, raw: message(worker * 1000 + i) })).uid,
        );
      }
      return uids;
    };
    const perWorker = await Promise.all(Array.from({ length: 8 }, (_, worker) => appender(worker)));
    for (const uids of perWorker) {
      // Each appender sees its own UIDs strictly increase.
      expect(uids).toEqual([...uids].sort((a, b) => a - b));
    }
    const all = perWorker.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1600 }, (_, i) => i + 1));
    const after = await findMailbox(store.pool, accountId, 'Concurrent');
    expect(after?.uidNext).toBe(1601);
    expect(after?.highestModseq).toBe(1601n);
    expect((await listMessages(store.pool, mailbox.id)).map((m) => m.uid)).toEqual(all);
  }, 120_000);

  it('stores the same bytes once however many mailboxes hold them', async () => {
    const raw = Buffer.from('Subject: shared\r\n\r\nsame bytes\r\n');
    const inbox = await findMailbox(store.pool, accountId, 'inbox');
    const archive = await findMailbox(store.pool, accountId, 'Archive');
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw });
    await appendMessage(store.pool, { mailboxId: archive!.id, raw });
    const count = await store.pool.query('SELECT count(*)::int AS n FROM blobs WHERE sha256 = $1', [
      blobId(raw),
    ]);
    expect(count.rows[0].n).toBe(1);
    expect((await getBlob(store.pool, blobId(raw)))?.equals(raw)).toBe(true);
  });

  it('reads several blobs in one query and leaves out the ones it does not hold', async () => {
    const inbox = await findMailbox(store.pool, accountId, 'inbox');
    const one = Buffer.from('Subject: one\r\n\r\n1\r\n');
    const two = Buffer.from('Subject: two\r\n\r\n2\r\n');
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw: one });
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw: two });
    const absent = blobId(Buffer.from('never stored'));
    const found = await getBlobs(store.pool, [blobId(one), absent, blobId(two), blobId(one)]);
    expect(found.size).toBe(2);
    expect(found.get(blobId(one).toString('hex'))?.equals(one)).toBe(true);
    expect(found.get(blobId(two).toString('hex'))?.equals(two)).toBe(true);
    expect(found.has(absent.toString('hex'))).toBe(false);
    expect((await getBlobs(store.pool, [])).size).toBe(0);
  });

  it('never reuses a UID after the newest message is expunged', async () => {
    const mailbox = await createMailbox(store.pool, accountId, 'Reuse');
    await appendMessage(store.pool, { mailboxId: mailbox.id, raw: message(1) });
    const second = await appendMessage(store.pool, { mailboxId: mailbox.id, raw: message(2) });
    expect(await expungeMessages(store.pool, mailbox.id, [second.uid])).toEqual([2]);
    const third = await appendMessage(store.pool, { mailboxId: mailbox.id, raw: message(3) });
    expect(third.uid).toBe(3);
  });
});

describe('MODSEQ', () => {
  it('rises with every change to a message or mailbox, and not for a change that changes nothing', async () => {
    const mailbox = await createMailbox(store.pool, accountId, 'Modseq');
    const a = await appendMessage(store.pool, { mailboxId: mailbox.id, raw: message(10), flags: ['\\seen'] });
    const b = await appendMessage(store.pool, { mailboxId: mailbox.id, raw: message(11) });
    expect(b.modseq).toBeGreaterThan(a.modseq);

    const flagged = await updateFlags(store.pool, mailbox.id, [a.uid, b.uid], 'add', ['\\Flagged', '$Work']);
    expect(flagged.map((c) => [c.uid, c.flags])).toEqual([
      [a.uid, ['$Work', '\\Flagged', '\\Seen']],
      [b.uid, ['$Work', '\\Flagged']],
    ]);
    expect(flagged[0]!.modseq).toBeGreaterThan(b.modseq);

    const noop = await updateFlags(store.pool, mailbox.id, [a.uid], 'add', ['\\Flagged']);
    expect(noop).toEqual([]);
    const unchanged = await findMailbox(store.pool, accountId, 'Modseq');
    expect(unchanged?.highestModseq).toBe(flagged[0]!.modseq);

    const removed = await updateFlags(store.pool, mailbox.id, [a.uid], 'remove', ['\\SEEN']);
    expect(removed).toEqual([{ uid: a.uid, flags: ['$Work', '\\Flagged'], modseq: flagged[0]!.modseq + 1n }]);

    await expungeMessages(store.pool, mailbox.id, [b.uid]);
    const expunged = await store.pool.query(
      'SELECT uid, modseq FROM expunged_messages WHERE mailbox_id = $1',
      [mailbox.id],
    );
    expect(expunged.rows).toEqual([{ uid: String(b.uid), modseq: String(flagged[0]!.modseq + 2n) }]);

    await setSubscribed(store.pool, accountId, 'Modseq', false);
    await renameMailbox(store.pool, accountId, 'Modseq', 'Modseq2');
    const renamed = await findMailbox(store.pool, accountId, 'Modseq2');
    expect(renamed?.highestModseq).toBe(flagged[0]!.modseq + 3n);
    expect(renamed?.subscribed).toBe(false);
  });

  it('moves children with their parent on rename', async () => {
    await createMailbox(store.pool, accountId, 'Work');
    await createMailbox(store.pool, accountId, 'Work/2026');
    await createMailbox(store.pool, accountId, 'Workshop');
    await renameMailbox(store.pool, accountId, 'Work', 'Jobs');
    expect(await findMailbox(store.pool, accountId, 'Jobs/2026')).toBeDefined();
    expect(await findMailbox(store.pool, accountId, 'Workshop')).toBeDefined();
    await expect(renameMailbox(store.pool, accountId, 'Jobs', 'Workshop')).rejects.toMatchObject({
      code: 'duplicate',
    });
  });
});
