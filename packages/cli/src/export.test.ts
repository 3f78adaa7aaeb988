import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMessage } from '@tegami/protocol';
import {
  activateSieveScript,
  addDomain,
  appendMessagesByName,
  createAccount,
  createMailbox,
  expungeMessages,
  findAccount,
  findMailbox,
  listMailboxEntries,
  listMailboxes,
  migrate,
  openStore,
  putSieveScript,
  quotaUsage,
  readMessageBytes,
  type StorePool,
  saslCredentialLookup,
  setAccountDisabled,
  setQuota,
  setSubscribed,
} from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';
import { readTar, TarWriter } from './ustar.js';

let database: TestDatabase;
let store: StorePool;
const tegami = (args: readonly string[], stdin?: string) =>
  runCliInProcess(args, { databaseUrl: database.url }, stdin);
const dir = mkdtempSync(join(tmpdir(), 'tegami-export-cli-'));
const CORPUS = '/work/shared/corpus';
const corpus = readdirSync(CORPUS)
  .filter((name) => name.endsWith('.eml'))
  .sort()
  .map((name) => readFileSync(join(CORPUS, name)));
const LIMITS = { maxScripts: 10, maxBytes: 65536 };

const described = (raw: Buffer, flags: string[], internalDate: Date) => {
  const description = describeMessage(raw);
  return { raw, flags, internalDate, metadata: description.metadata, searchText: description.searchText };
};

/** Everything a restore must bring back, as IMAP and ManageSieve see it. */
async function accountState(address: string) {
  const account = (await findAccount(store.pool, address))!;
  const mailboxes = [];
  for (const mailbox of await listMailboxes(store.pool, account.id)) {
    const rows = await store.pool.query<{
      uid: string;
      flags: string[];
      internal_date: Date;
      metadata: unknown;
      search_text: string | null;
      size: string;
    }>(
      'SELECT uid, flags, internal_date, metadata, search_text, size FROM messages WHERE mailbox_id = $1 ORDER BY uid',
      [mailbox.id],
    );
    const bytes = await readMessageBytes(store.pool, mailbox.id);
    mailboxes.push({
      name: mailbox.name,
      uidValidity: mailbox.uidValidity,
      uidNext: mailbox.uidNext,
      specialUse: mailbox.specialUse,
      subscribed: mailbox.subscribed,
      messages: rows.rows.map((row) => ({
        uid: Number(row.uid),
        flags: row.flags,
        internalDate: row.internal_date.toISOString(),
        metadata: row.metadata,
        searchText: row.search_text,
        size: Number(row.size),
        sha: bytes.get(Number(row.uid))!.toString('base64'),
      })),
    });
  }
  const scripts = await store.pool.query(
    'SELECT name, content, active FROM sieve_scripts WHERE account_id = $1 ORDER BY name',
    [account.id],
  );
  const usage = (await quotaUsage(store.pool, account.id))!;
  return {
    mailboxes,
    entries: await listMailboxEntries(store.pool, account.id),
    scripts: scripts.rows,
    usage: { usedBytes: usage.usedBytes, messages: usage.messages, quotaBytes: usage.quotaBytes },
  };
}

/** Whether the user logs in with this password (PLAIN's check) and SCRAM has its keys. */
async function logsIn(address: string, password: string): Promise<boolean> {
  const credentials = await saslCredentialLookup(store.pool)(address);
  return (await credentials?.verifyPassword?.(password)) ?? false;
}

let before: Awaited<ReturnType<typeof accountState>>;
const archive = join(dir, 'alice.tar');

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 4 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.org');
  const alice = await createAccount(store.pool, 'alice@example.org', 'pw');
  await setQuota(store.pool, 'alice@example.org', 50_000_000);
  const date = (i: number) => new Date(Date.UTC(2024, 0, 1 + i, 8, 30, 15, 123));
  await appendMessagesByName(
    store.pool,
    alice.id,
    'INBOX',
    corpus.map((raw, i) => described(raw, i % 2 ? ['\\Seen', '$Label1'] : ['\\Flagged'], date(i))),
  );
  // A gap in the UIDs, and an expunge record the restore must not carry.
  const inbox = (await findMailbox(store.pool, alice.id, 'INBOX'))!;
  await expungeMessages(store.pool, inbox.id, [2]);
  await createMailbox(store.pool, alice.id, 'Lists/Tegami');
  await appendMessagesByName(store.pool, alice.id, 'Lists/Tegami', [
    described(corpus[0]!, ['\\Answered', '\\Seen', 'project-x'], date(10)),
    described(corpus[1]!, ['\\Draft', '\\Deleted'], date(11)),
  ]);
  await setSubscribed(store.pool, alice.id, 'Junk', false);
  await putSieveScript(
    store.pool,
    alice.id,
    'lists',
    'require "fileinto";\nfileinto "Lists/Tegami";\n',
    LIMITS,
  );
  await putSieveScript(store.pool, alice.id, 'keep', 'keep;\n', LIMITS);
  await activateSieveScript(store.pool, alice.id, 'lists');
  before = await accountState('alice@example.org');
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

describe('tegami export and restore', () => {
  it('writes a tar with the manifest first and each message as a Maildir file', async () => {
    const run = await tegami(['export', 'alice@example.org', archive]);
    expect(run.code).toBe(0);
    // Not a terminal: no bar, only progress.ts's summary line.
    expect(run.stderr).toMatch(/^exported 7 messages \(\S+\) in [\d.]+s(: .*\/s)?\n$/);
    expect(run.stdout).toMatch(
      new RegExp(
        `^exported alice@example.org to ${archive}: 7 mailboxes, 7 messages \\(.+\\), 2 Sieve scripts\\n$`,
      ),
    );
    const entries = [];
    for await (const entry of readTar(createReadStream(archive))) entries.push(entry);
    expect(entries[0]!.path).toBe('manifest.json');
    const manifest = JSON.parse(entries[0]!.data.toString('utf8'));
    expect(manifest).toMatchObject({
      format: 'tegami-account-archive',
      version: 1,
      address: 'alice@example.org',
      quotaBytes: 50_000_000,
      sieveScripts: [
        { name: 'keep', active: false },
        { name: 'lists', active: true },
      ],
    });
    expect(manifest.mailboxes.find((m: { name: string }) => m.name === 'Lists/Tegami')).toMatchObject({
      folder: 'Lists/Tegami',
      uidNext: 3,
      subscribed: true,
      messages: 2,
    });
    const paths = entries.map((e) => e.path);
    expect(paths).toContain('maildir/INBOX/tegami-messages.000001.jsonl');
    // The Maildir info letters for \Flagged; \Answered \Seen; \Draft \Deleted (keywords only in the JSON lines).
    expect(paths).toContain(`maildir/INBOX/cur/1.${Date.UTC(2024, 0, 1, 8, 30, 15) / 1000}:2,F`);
    expect(paths).toContain(`maildir/Lists/Tegami/cur/1.${Date.UTC(2024, 0, 11, 8, 30, 15) / 1000}:2,RS`);
    expect(paths).toContain(`maildir/Lists/Tegami/cur/2.${Date.UTC(2024, 0, 12, 8, 30, 15) / 1000}:2,DT`);
    const inboxFile = entries.find((e) => e.path.startsWith('maildir/INBOX/cur/1.'))!;
    expect(inboxFile.data.equals(corpus[0]!)).toBe(true);
    const page = entries.find((e) => e.path === 'maildir/Lists/Tegami/tegami-messages.000001.jsonl')!;
    expect(JSON.parse(page.data.toString('utf8').split('\n')[0]!)).toEqual({
      uid: 1,
      flags: ['\\Answered', '\\Seen', 'project-x'],
      internalDate: '2024-01-11T08:30:15.123Z',
      file: `maildir/Lists/Tegami/cur/1.${Date.UTC(2024, 0, 11, 8, 30, 15) / 1000}:2,RS`,
    });
  });

  it('refuses to overwrite a file, and to export a user that does not exist', async () => {
    expect(await tegami(['export', 'alice@example.org', archive])).toMatchObject({ code: 1 });
    const missing = await tegami(['export', 'nobody@example.org', join(dir, 'nobody.tar')]);
    expect(missing).toMatchObject({ code: 1, stderr: 'tegami: no user nobody@example.org\n' });
    expect(existsSync(join(dir, 'nobody.tar'))).toBe(false);
  });

  it('restores into another, new account exactly: mailboxes, UIDs, flags, dates, bytes, scripts, quota', async () => {
    await createAccount(store.pool, 'bob@example.org', 'pw');
    const run = await tegami(['restore', archive, '--user', 'bob@example.org']);
    expect(run).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        /^restored alice@example.org into bob@example.org: 7 mailboxes, 7 messages \(.+\), 2 Sieve scripts\n$/,
      ),
    });
    expect(await accountState('bob@example.org')).toEqual(before);
  });

  it('restores the same address after the user was removed and added again', async () => {
    expect((await tegami(['user', 'remove', 'alice@example.org'])).code).toBe(0);
    await createAccount(store.pool, 'alice@example.org', 'pw');
    expect((await tegami(['restore', archive])).code).toBe(0);
    expect(await accountState('alice@example.org')).toEqual(before);
  });

  it('makes a removed user again with the archived password, so they log in as before', async () => {
    await setAccountDisabled(store.pool, 'alice@example.org', true);
    const disabled = join(dir, 'alice-disabled.tar');
    expect((await tegami(['export', 'alice@example.org', disabled])).code).toBe(0);
    expect((await tegami(['user', 'remove', 'alice@example.org'])).code).toBe(0);
    expect((await tegami(['restore', archive])).code).toBe(0);
    expect(await accountState('alice@example.org')).toEqual(before);
    expect(await logsIn('alice@example.org', 'pw')).toBe(true);
    expect(await logsIn('alice@example.org', 'other')).toBe(false);
    // A disabled user comes back disabled.
    expect((await tegami(['user', 'remove', 'alice@example.org'])).code).toBe(0);
    expect((await tegami(['restore', disabled])).code).toBe(0);
    expect((await findAccount(store.pool, 'alice@example.org'))!.disabled).toBe(true);
    expect(await logsIn('alice@example.org', 'pw')).toBe(false);
    await setAccountDisabled(store.pool, 'alice@example.org', false);
    expect(await logsIn('alice@example.org', 'pw')).toBe(true);
  });

  it('refuses an account that holds messages, and changes nothing', async () => {
    const run = await tegami(['restore', archive, '--user', 'bob@example.org']);
    expect(run.code).toBe(1);
    // The check of the file passed (its progress summary), then the account refused it.
    expect(run.stderr).toMatch(
      /^checked 7 messages \(\S+\) in .*\ntegami: user bob@example.org is not empty \(7 messages, 2 Sieve scripts\)/,
    );
    expect(await accountState('bob@example.org')).toEqual(before);
  });

  it('refuses a truncated or foreign archive before storing anything', async () => {
    const carol = await createAccount(store.pool, 'carol@example.org', 'pw');
    const empty = await accountState('carol@example.org');
    const whole = readFileSync(archive);
    const truncated = join(dir, 'truncated.tar');
    // Cut inside a message, and (the harder case) at a block boundary between entries.
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2) + 100));
    const cut = await tegami(['restore', truncated, '--user', 'carol@example.org']);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(
      /^checked \d+ of 7 messages .* \(stopped\)\ntegami: .*truncated\.tar: the archive is cut short/,
    );
    writeFileSync(truncated, whole.subarray(0, whole.length - 1024));
    const cutAtEnd = await tegami(['restore', truncated, '--user', 'carol@example.org']);
    expect(cutAtEnd.stderr).toMatch(/the archive is cut short: no end-of-archive marker/);
    expect(await accountState('carol@example.org')).toEqual(empty);

    // A tar that is whole but lacks a message its page describes.
    const partial = join(dir, 'partial.tar');
    const { createWriteStream } = await import('node:fs');
    const writer = new TarWriter(createWriteStream(partial));
    let dropped = false;
    for await (const entry of readTar(createReadStream(archive))) {
      if (!dropped && entry.path.includes('/cur/')) {
        dropped = true;
        continue;
      }
      await writer.add(entry.path, entry.data);
    }
    await writer.finish();
    const lacking = await tegami(['restore', partial, '--user', 'carol@example.org']);
    expect(lacking.code).toBe(1);
    expect(lacking.stderr).toMatch(/the archive lacks maildir\/INBOX\/cur\/1\./);
    expect(await accountState('carol@example.org')).toEqual(empty);
    expect((await findAccount(store.pool, 'carol@example.org'))!.id).toBe(carol.id);
  });

  it('exports a whole domain, and `tegami import <file>` brings it back exactly after its removal', async () => {
    await addDomain(store.pool, 'example.net');
    const dave = await createAccount(store.pool, 'dave@example.net', 'pw');
    const erin = await createAccount(store.pool, 'erin@example.net', 'pw');
    const date = (i: number) => new Date(Date.UTC(2023, 5, 1 + i, 12, 0, 0, 7));
    await appendMessagesByName(
      store.pool,
      dave.id,
      'INBOX',
      corpus.map((raw, i) => described(raw, i % 3 ? ['\\Seen'] : ['\\Answered', 'todo'], date(i))),
    );
    await expungeMessages(store.pool, (await findMailbox(store.pool, dave.id, 'INBOX'))!.id, [3]);
    await createMailbox(store.pool, erin.id, 'Archive/2023');
    await appendMessagesByName(store.pool, erin.id, 'Archive/2023', [
      described(corpus[2]!, ['\\Flagged'], date(20)),
      // The same bytes twice, as a user may keep them.
      described(corpus[2]!, [], date(21)),
    ]);
    await putSieveScript(store.pool, erin.id, 'keep', 'keep;\n', LIMITS);
    expect(
      (await tegami(['alias', 'add', 'sales@example.net', 'dave@example.net', 'erin@example.net'])).code,
    ).toBe(0);
    expect((await tegami(['alias', 'add', 'team@example.net', 'sales@example.net'])).code).toBe(0);
    expect((await tegami(['domain', 'set', 'example.net', '--plus-addressing', 'off'])).code).toBe(0);
    // Not the first user, whom making the users again would make postmaster.
    expect((await tegami(['alias', 'add', 'postmaster@example.net', 'erin@example.net'])).code).toBe(0);
    expect((await tegami(['alias', 'remove', 'postmaster@example.net', 'dave@example.net'])).code).toBe(0);
    const states = async () => ({
      dave: await accountState('dave@example.net'),
      erin: await accountState('erin@example.net'),
      aliases: (await tegami(['alias', 'list', 'example.net'])).stdout,
      domains: (await tegami(['domain', 'list'])).stdout,
      plus: (await store.pool.query("SELECT plus_addressing FROM domains WHERE name = 'example.net'")).rows,
    });
    const original = await states();

    const file = join(dir, 'example.net.tar');
    const exported = await tegami(['export', 'example.net', file]);
    expect(exported).toMatchObject({ code: 0 });
    expect(exported.stdout).toMatch(
      /^exported example.net to .*: 2 users, 3 aliases, \d+ mailboxes, 7 messages /,
    );
    expect(exported.stderr).toMatch(/^exported 7 messages \(\S+\) in /);
    const paths = [];
    for await (const entry of readTar(createReadStream(file))) paths.push(entry.path);
    expect(paths[0]).toBe('manifest.json');
    expect(paths).toContain('users/dave@example.net/manifest.json');
    expect(
      paths.filter((p) => p.startsWith('users/erin@example.net/maildir/Archive/2023/cur/')),
    ).toHaveLength(2);

    expect((await tegami(['domain', 'remove', 'example.net', '--with-users'])).code).toBe(0);
    expect(await findAccount(store.pool, 'dave@example.net')).toBeUndefined();
    const restored = await tegami(['import', file]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/^restored example.net \(created\): 2 users, 3 aliases, /);
    expect(restored.stderr).toContain(
      'made dave@example.net, erin@example.net again, with their archived passwords',
    );
    expect(await states()).toEqual(original);
    expect(await logsIn('dave@example.net', 'pw')).toBe(true);
    expect(await logsIn('erin@example.net', 'pw')).toBe(true);

    // A second restore finds the users full, and changes nothing.
    const again = await tegami(['restore', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/dave@example.net \(5 messages, 0 Sieve scripts\).* not empty/);
    expect(await tegami(['restore', file, '--user', 'x@example.net'])).toMatchObject({ code: 2 });
  });

  it('keeps long mailbox names through a pax header', async () => {
    const long = join(dir, 'long.tar');
    const { createWriteStream } = await import('node:fs');
    const writer = new TarWriter(createWriteStream(long));
    const path = `maildir/${'Ünïcödé-folder/'.repeat(12)}cur/1.1700000000:2,S`;
    await writer.add(path, Buffer.from('x'));
    await writer.add('short', Buffer.alloc(0));
    await writer.finish();
    const read = [];
    for await (const entry of readTar(createReadStream(long))) read.push([entry.path, entry.data.toString()]);
    expect(read).toEqual([
      [path, 'x'],
      ['short', ''],
    ]);
  });
});
