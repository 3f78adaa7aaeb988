import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { addDomain } from './domains.js';
import {
  beginImapImportFolder,
  claimSpecialUse,
  type ImapImportMessage,
  importImapBatch,
  readImapImportProgress,
} from './imap-import-progress.js';
import { deleteMailbox } from './mailbox-deletion.js';
import { prepareImportMailbox } from './mailbox-import.js';
import { findMailbox } from './mailboxes.js';
import { readMessageBytes } from './message-bytes.js';
import { listMessages } from './messages.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let accountId: string;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'imap-import.test');
  accountId = (await createAccount(store.pool, 'alice@imap-import.test', 'pw')).id;
});
afterAll(() => store.close());

const SOURCE = 'alice@old.example:993';
const message = (
  sourceUid: number,
  label = `message ${sourceUid}`,
  flags: string[] = [],
): ImapImportMessage => ({
  sourceUid,
  raw: Buffer.from(`Subject: ${label}\r\n\r\n${label}\r\n`),
  flags,
  internalDate: new Date('2019-05-06T07:08:09Z'),
});

async function target(name: string) {
  const mailbox = await prepareImportMailbox(store.pool, accountId, name, { subscribe: true });
  return mailbox;
}

describe('the progress of tegami import imap', () => {
  it('stores a batch with the folder’s advance, and a second run skips what the first stored', async () => {
    const box = await target('Work');
    const key = { accountId, source: SOURCE, sourceFolder: 'Work' };
    expect(await beginImapImportFolder(store.pool, key, 77, box.mailboxId)).toEqual({
      lastUid: 0,
      dedupe: false,
    });
    const first = await importImapBatch(
      store.pool,
      key,
      { mailboxId: box.mailboxId, uidValidity: 77 },
      [message(3, 'a', ['\\Seen', '$Work']), message(5, 'b')],
      5,
    );
    expect(first).toMatchObject({ imported: 2, skipped: 0, uids: [1, 2] });
    // Run again (the same batch, as after a crash before the reply): nothing more.
    expect(await beginImapImportFolder(store.pool, key, 77, box.mailboxId)).toEqual({
      lastUid: 5,
      dedupe: false,
    });
    const again = await importImapBatch(
      store.pool,
      key,
      { mailboxId: box.mailboxId, uidValidity: 77 },
      [message(3, 'a'), message(5, 'b'), message(6, 'c')],
      6,
    );
    expect(again).toMatchObject({ imported: 1, skipped: 2, uids: [3] });
    const rows = await listMessages(store.pool, box.mailboxId);
    expect(rows.map((m) => [m.uid, m.flags])).toEqual([
      [1, ['$Work', '\\Seen']],
      [2, []],
      [3, []],
    ]);
    expect((await readImapImportProgress(store.pool, accountId, SOURCE)).get('Work')).toMatchObject({
      uidValidity: 77,
      lastUid: 6,
      messages: 3,
    });
  });

  it('starts a folder over when its UIDVALIDITY changed, storing no message twice', async () => {
    const box = await target('Work');
    const key = { accountId, source: SOURCE, sourceFolder: 'Work' };
    expect(await beginImapImportFolder(store.pool, key, 78, box.mailboxId)).toEqual({
      lastUid: 0,
      dedupe: true,
      restarted: 'uidvalidity',
    });
    const batch = [message(1, 'a'), message(2, 'b'), message(3, 'c'), message(4, 'new')];
    const stored = await importImapBatch(
      store.pool,
      key,
      { mailboxId: box.mailboxId, uidValidity: 78 },
      batch,
      4,
    );
    expect(stored).toMatchObject({ imported: 1, skipped: 3 });
    expect((await readMessageBytes(store.pool, box.mailboxId)).size).toBe(4);
  });

  it('copies identical messages twice into an empty mailbox, once into one that held them', async () => {
    const copy = (uid: number) => message(uid, 'the same bytes');
    const empty = await target('Twins');
    const key = { accountId, source: SOURCE, sourceFolder: 'Twins' };
    await beginImapImportFolder(store.pool, key, 1, empty.mailboxId);
    const into = { mailboxId: empty.mailboxId, uidValidity: 1 };
    expect(await importImapBatch(store.pool, key, into, [copy(1), copy(2)], 2)).toMatchObject({
      imported: 2,
    });
    // Another source's folder into the mailbox that holds those bytes now.
    const other = { accountId, source: 'alice@elsewhere.example:993', sourceFolder: 'Twins' };
    expect(await beginImapImportFolder(store.pool, other, 1, empty.mailboxId)).toEqual({
      lastUid: 0,
      dedupe: true,
    });
    expect(await importImapBatch(store.pool, other, into, [copy(1), copy(2), message(3)], 3)).toMatchObject({
      imported: 1,
      skipped: 2,
    });
  });

  it('refuses a batch of a run whose folder another run began again meanwhile', async () => {
    const box = await target('Other');
    const key = { accountId, source: SOURCE, sourceFolder: 'Other' };
    await beginImapImportFolder(store.pool, key, 5, box.mailboxId);
    await beginImapImportFolder(store.pool, key, 6, box.mailboxId);
    await expect(
      importImapBatch(store.pool, key, { mailboxId: box.mailboxId, uidValidity: 5 }, [message(1)], 1),
    ).rejects.toMatchObject({ code: 'conflict' });
  });

  it('starts over when the mailbox it filled was deleted', async () => {
    const box = await target('Gone');
    const key = { accountId, source: SOURCE, sourceFolder: 'Gone' };
    await beginImapImportFolder(store.pool, key, 9, box.mailboxId);
    await importImapBatch(store.pool, key, { mailboxId: box.mailboxId, uidValidity: 9 }, [message(1)], 1);
    await deleteMailbox(store.pool, accountId, 'Gone');
    expect((await readImapImportProgress(store.pool, accountId, SOURCE)).has('Gone')).toBe(false);
    const again = await target('Gone');
    expect(await beginImapImportFolder(store.pool, key, 9, again.mailboxId)).toEqual({
      lastUid: 0,
      dedupe: false,
    });
  });

  it('gives a special use only to a mailbox when the account has none of it', async () => {
    // A new account has Sent, Drafts, Trash, Junk and Archive: none is free to take.
    const box = await target('Gesendet');
    expect(await claimSpecialUse(store.pool, accountId, box.mailboxId, '\\Sent')).toBe(false);
    await deleteMailbox(store.pool, accountId, 'Sent');
    expect(await claimSpecialUse(store.pool, accountId, box.mailboxId, '\\Sent')).toBe(true);
    expect((await findMailbox(store.pool, accountId, 'Gesendet'))?.specialUse).toBe('\\Sent');
  });
});
