import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotaUsage } from './account-usage.js';
import { createAccount } from './accounts.js';
import { addDomain } from './domains.js';
import {
  finishImportMailbox,
  ImportCopies,
  type ImportMessage,
  importMessages,
  prepareImportMailbox,
} from './mailbox-import.js';
import { findMailbox, listMailboxEntries } from './mailboxes.js';
import { readMessageBytes } from './message-bytes.js';
import { appendMessage, expungeMessages, listMessages } from './messages.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let accountId: string;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'import.test');
  accountId = (await createAccount(store.pool, 'alice@import.test', 'pw')).id;
});
afterAll(() => store.close());

const message = (label: string, uid?: number, flags: string[] = []): ImportMessage => ({
  raw: Buffer.from(`Subject: ${label}\n\n${label}\n`),
  flags,
  internalDate: new Date('2020-01-02T03:04:05Z'),
  ...(uid !== undefined && { uid }),
});

describe('prepareImportMailbox and importMessages', () => {
  it('makes a mailbox with the source UIDVALIDITY, keeps UIDs and flags, and UIDNEXT past them', async () => {
    const target = await prepareImportMailbox(store.pool, accountId, 'Lists/dev', {
      uidValidity: 1234567,
      subscribe: false,
    });
    expect(target).toMatchObject({ uidValidity: 1234567, keepUids: true, created: true });
    const before = await findMailbox(store.pool, accountId, 'Lists/dev');
    const batch = await importMessages(store.pool, target, [
      message('one', 3, ['\\seen', '$Label1']),
      message('two', 7),
    ]);
    expect(batch).toMatchObject({ imported: 2, bytes: 36, skipped: 0, uids: [3, 7] });
    expect(batch.modseq).toBeGreaterThan(before!.highestModseq);
    await finishImportMailbox(store.pool, target.mailboxId, 20);
    const mailbox = (await findMailbox(store.pool, accountId, 'Lists/dev'))!;
    expect(mailbox).toMatchObject({ uidValidity: 1234567, uidNext: 20, subscribed: false });
    expect(mailbox.highestModseq).toBeGreaterThan(before!.highestModseq);
    const listed = await listMessages(store.pool, mailbox.id);
    expect(listed.map((m) => [m.uid, m.flags])).toEqual([
      [3, ['$Label1', '\\Seen']],
      [7, []],
    ]);
    expect((await readMessageBytes(store.pool, mailbox.id)).get(3)).toEqual(message('one').raw);
    expect(await quotaUsage(store.pool, accountId)).toMatchObject({ messages: 2, usedBytes: 36 });
  });

  it('skips UIDs below UIDNEXT when run again, and imports the new ones', async () => {
    const target = await prepareImportMailbox(store.pool, accountId, 'Lists/dev', {
      uidValidity: 1234567,
      subscribe: true,
    });
    expect(target).toMatchObject({ keepUids: true, created: false });
    expect(
      await importMessages(store.pool, target, [message('one', 3), message('two', 7), message('three', 21)]),
    ).toMatchObject({ imported: 1, bytes: 22, skipped: 2, uids: [21] });
    const mailbox = (await findMailbox(store.pool, accountId, 'Lists/dev'))!;
    expect((await listMessages(store.pool, mailbox.id)).map((m) => m.uid)).toEqual([3, 7, 21]);
    expect(mailbox).toMatchObject({ uidNext: 22, subscribed: true });
  });

  it('gives new UIDs in a mailbox holding other messages, and skips the copies stored before', async () => {
    const inbox = (await findMailbox(store.pool, accountId, 'INBOX'))!;
    await appendMessage(store.pool, { mailboxId: inbox.id, raw: Buffer.from('Subject: old\r\n\r\nold\r\n') });
    const target = await prepareImportMailbox(store.pool, accountId, 'INBOX', {
      uidValidity: 99,
      subscribe: true,
    });
    expect(target).toMatchObject({ keepUids: false, uidValidity: inbox.uidValidity });
    // Two copies of a: both are the user's, both come in; across batches of one run as well.
    const run = new ImportCopies();
    expect(await importMessages(store.pool, target, [message('a', 1), message('b', 2)], run)).toMatchObject({
      imported: 2,
      bytes: 28,
      skipped: 0,
      uids: [2, 3],
    });
    expect(await importMessages(store.pool, target, [message('a', 3)], run)).toMatchObject({
      imported: 1,
      skipped: 0,
    });
    // Run again, with one more message and one more copy of b: only those are new.
    const again = new ImportCopies();
    expect(
      await importMessages(store.pool, target, [message('a'), message('b'), message('a')], again),
    ).toMatchObject({ imported: 0, skipped: 3 });
    expect(await importMessages(store.pool, target, [message('c'), message('b')], again)).toMatchObject({
      imported: 2,
      skipped: 0,
    });
    expect((await listMessages(store.pool, inbox.id)).map((m) => m.uid)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('gives an empty existing mailbox the source UIDVALIDITY, its expunge history gone', async () => {
    const sent = (await findMailbox(store.pool, accountId, 'Sent'))!;
    const appended = await appendMessage(store.pool, {
      mailboxId: sent.id,
      raw: Buffer.from('Subject: x\r\n\r\n'),
    });
    await expungeMessages(store.pool, sent.id, [appended.uid]);
    const target = await prepareImportMailbox(store.pool, accountId, 'Sent', {
      uidValidity: 42,
      subscribe: true,
    });
    expect(target).toMatchObject({ keepUids: true, uidValidity: 42, created: false });
    await importMessages(store.pool, target, [message('sent', 1)]);
    const after = (await findMailbox(store.pool, accountId, 'Sent'))!;
    expect(after).toMatchObject({ uidValidity: 42, uidNext: 2 });
    const expunged = await store.pool.query('SELECT 1 FROM expunged_messages WHERE mailbox_id = $1', [
      sent.id,
    ]);
    expect(expunged.rowCount).toBe(0);
    expect((await listMailboxEntries(store.pool, accountId)).map((e) => e.name)).toContain('Lists/dev');
  });
});
