import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArchiveEntry,
  archiveFolder,
  checkAccountArchive,
  exportAccountArchive,
  maildirFileName,
  restoreAccountArchive,
} from './account-archive.js';
import { quotaUsage } from './account-usage.js';
import { createAccount } from './accounts.js';
import { addDomain } from './domains.js';
import { appendMessagesByName } from './imap-append.js';
import { putSieveScript } from './sieve-scripts.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let archive: ArchiveEntry[];

const message = (i: number) =>
  Buffer.from(`From: a@archive.test\r\nSubject: message ${i}\r\n\r\nbody ${i}\r\n`);

async function* entries(list: readonly ArchiveEntry[], failAfterMessages = Infinity) {
  let messages = 0;
  for (const entry of list) {
    if (entry.path.includes('/cur/') && messages++ === failAfterMessages)
      throw new Error('the archive could not be read on');
    yield entry;
  }
}

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'archive.test');
  const owner = await createAccount(store.pool, 'owner@archive.test', 'pw');
  await appendMessagesByName(
    store.pool,
    owner.id,
    'INBOX',
    Array.from({ length: 7 }, (_, i) => ({ raw: message(i), flags: i % 2 ? ['\\Seen'] : [] })),
  );
  await putSieveScript(store.pool, owner.id, 'main', 'keep;\n', { maxScripts: 5, maxBytes: 1000 });
  archive = [];
  await exportAccountArchive(store.pool, 'Owner@archive.test', async (path, data) => {
    archive.push({ path, data });
  });
});
afterAll(() => store.close());

describe('account archives', () => {
  it('names folders and Maildir files so no extraction leaves its directory', () => {
    expect(archiveFolder('Lists/../100%')).toBe('Lists/%2E%2E/100%25');
    expect(maildirFileName(12, new Date(1_700_000_000_999), ['\\Seen', '\\Answered', 'x', '\\Flagged'])).toBe(
      '12.1700000000:2,FRS',
    );
  });

  it('checks an archive through: each message described before it, the counts as the manifest says', async () => {
    expect((await checkAccountArchive(entries(archive))).address).toBe('owner@archive.test');
    await expect(checkAccountArchive(entries(archive.slice(1)))).rejects.toThrow(/no manifest.json first/);
    await expect(checkAccountArchive(entries(archive.slice(0, -1)))).rejects.toThrow(/the archive lacks/);
  });

  it('takes back what it stored when the restore fails half way, batches committed or not', async () => {
    const target = await createAccount(store.pool, 'target@archive.test', 'pw');
    await expect(
      restoreAccountArchive(store.pool, 'target@archive.test', entries(archive, 5), { batchMessages: 2 }),
    ).rejects.toThrow('the archive could not be read on');
    const held = await store.pool.query<{ messages: string; scripts: string }>(
      `SELECT (SELECT count(*) FROM messages x JOIN mailboxes m ON m.id = x.mailbox_id WHERE m.account_id = $1) AS messages,
              (SELECT count(*) FROM sieve_scripts WHERE account_id = $1) AS scripts`,
      [target.id],
    );
    expect(held.rows[0]).toEqual({ messages: '0', scripts: '0' });
    expect(await quotaUsage(store.pool, target.id)).toMatchObject({ usedBytes: 0, messages: 0 });

    // Then, whole, it restores into the same account.
    const totals = await restoreAccountArchive(store.pool, 'target@archive.test', entries(archive), {
      batchMessages: 2,
    });
    expect(totals).toMatchObject({ messages: 7, sieveScripts: 1 });
    const usage = await quotaUsage(store.pool, target.id);
    const owner = await store.pool.query<{ id: string }>(
      "SELECT id FROM accounts WHERE address = 'owner@archive.test'",
    );
    expect(usage).toMatchObject({
      usedBytes: (await quotaUsage(store.pool, owner.rows[0]!.id))!.usedBytes,
      messages: 7,
    });
  });
});
