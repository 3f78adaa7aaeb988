import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNatsBus, type MailboxChanged } from '@tegami/bus';
import {
  addDomain,
  createAccount,
  findMailbox,
  listMailboxEntries,
  listMessages,
  migrate,
  openStore,
  readMessageBytes,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withCrlf } from './maildir-source.js';
import { runCliInProcess } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;
let aliceId: string;
const tegami = (args: readonly string[]) => runCliInProcess(args, { databaseUrl: database.url });
const dir = mkdtempSync(join(tmpdir(), 'tegami-import-cli-'));
const corpus = (name: string) => readFileSync(join('/work/shared/corpus', name));

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.org');
  aliceId = (await createAccount(store.pool, 'alice@example.org', 'pw')).id;
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

/** A file of a Maildir folder, its mtime set (the internal date Dovecot uses). */
function put(folder: string, sub: 'cur' | 'new', file: string, content: Buffer, mtime: Date) {
  mkdirSync(join(folder, sub), { recursive: true });
  writeFileSync(join(folder, sub, file), content);
  utimesSync(join(folder, sub, file), mtime, mtime);
}

async function bytesOf(name: string): Promise<Map<number, Buffer>> {
  const mailbox = await findMailbox(store.pool, aliceId, name);
  return readMessageBytes(store.pool, mailbox!.id);
}

describe('tegami import maildir', () => {
  const root = join(dir, 'Maildir');
  const lists = join(root, '.Lists.dev');
  const raeume = join(root, '.R&AOQ-ume');
  const day = new Date('2020-01-02T03:04:05Z');

  beforeAll(() => {
    put(root, 'cur', '1577836800.M1P1.host,S=241:2,S', corpus('plain-rfc822.eml'), day);
    put(root, 'new', '1577836801.M2P1.host', corpus('utf8-headers.eml'), day);
    writeFileSync(
      join(root, 'dovecot-uidlist'),
      '3 V1577836800 N10 G0123456789abcdef\n5 :1577836800.M1P1.host,S=241\n8 W300 :1577836801.M2P1.host\n',
    );
    put(lists, 'cur', '1577836900.M3P1.host:2,FRab', corpus('nested-alternative-rfc822.eml'), day);
    writeFileSync(join(lists, 'dovecot-keywords'), '0 $Label1\n1 Junk-ish\n');
    writeFileSync(join(lists, 'dovecot-uidlist'), '3 V1577836900 N5\n4 :1577836900.M3P1.host\n');
    mkdirSync(join(root, '.Lists', 'cur'), { recursive: true });
    // No dovecot-uidlist: new UIDs, and on a second run the same bytes are skipped.
    put(raeume, 'cur', '1577837000.M4P1.host:2,DT', corpus('shift-jis-body.eml'), day);
    put(raeume, 'cur', '1577837001.M5P1.host:2,', corpus('malformed.eml'), day);
    writeFileSync(join(root, 'subscriptions'), 'V\t2\nINBOX\nLists\tdev\nR&AOQ-ume\n');
  });

  it('imports the folders, flags, keywords, UIDs, dates and subscriptions, byte for byte', async () => {
    const run = await tegami(['import', 'maildir', root, '--user', 'alice@example.org']);
    // Not a terminal: no bar, only progress.ts's summary.
    expect(run.stderr).toMatch(/^imported 5 messages \(\S+\) in [\d.]+s(: .*\/s)?\n$/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^FOLDER\s+MESSAGES\s+SIZE\s+SKIPPED\s+UIDS\n/);
    expect(run.stdout).toMatch(/\nINBOX\s+2\s+\S+\s+0\s+kept \(UIDVALIDITY 1577836800\)\n/);
    expect(run.stdout).toContain('imported 5 messages');
    expect(run.stdout).toContain('into 4 folders of alice@example.org; skipped 0 present already');

    const entries = await listMailboxEntries(store.pool, aliceId);
    const subscribed = (name: string) => entries.find((e) => e.name === name)?.subscribed;
    expect(subscribed('Lists/dev')).toBe(true);
    expect(subscribed('Räume')).toBe(true);
    // Made by the import, not in the subscriptions file.
    expect(subscribed('Lists')).toBe(false);

    const inbox = (await findMailbox(store.pool, aliceId, 'INBOX'))!;
    expect(inbox).toMatchObject({ uidValidity: 1577836800, uidNext: 10 });
    expect((await listMessages(store.pool, inbox.id)).map((m) => [m.uid, m.flags, m.internalDate])).toEqual([
      [5, ['\\Seen'], day],
      [8, [], day],
    ]);
    const inboxBytes = await bytesOf('INBOX');
    expect(inboxBytes.get(5)).toEqual(corpus('plain-rfc822.eml'));
    expect(inboxBytes.get(8)).toEqual(corpus('utf8-headers.eml'));

    const dev = (await findMailbox(store.pool, aliceId, 'Lists/dev'))!;
    expect(dev).toMatchObject({ uidValidity: 1577836900, uidNext: 5 });
    expect((await listMessages(store.pool, dev.id)).map((m) => [m.uid, m.flags])).toEqual([
      [4, ['$Label1', 'Junk-ish', '\\Answered', '\\Flagged']],
    ]);
    expect((await bytesOf('Lists/dev')).get(4)).toEqual(corpus('nested-alternative-rfc822.eml'));

    const raeumeBox = (await findMailbox(store.pool, aliceId, 'Räume'))!;
    expect((await listMessages(store.pool, raeumeBox.id)).map((m) => [m.uid, m.flags])).toEqual([
      [1, ['\\Deleted', '\\Draft']],
      [2, []],
    ]);
    // malformed.eml has a bare LF: stored CRLF, as IMAP must serve it (maildir-source.ts withCrlf).
    expect((await bytesOf('Räume')).get(2)).toEqual(withCrlf(corpus('malformed.eml')));
    expect(corpus('malformed.eml').equals(withCrlf(corpus('malformed.eml')))).toBe(false);
  });

  it('does not duplicate anything when run again, and imports what is new', async () => {
    put(root, 'new', '1577836802.M6P1.host', corpus('iso2022jp-attachments.eml'), day);
    const run = await tegami(['import', 'maildir', root, '--user=alice@example.org']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('imported 1 message (');
    expect(run.stdout).toContain('skipped 5 present already');
    const inbox = (await findMailbox(store.pool, aliceId, 'INBOX'))!;
    // Not in dovecot-uidlist: the next UID after the source's N10.
    expect((await listMessages(store.pool, inbox.id)).map((m) => m.uid)).toEqual([5, 8, 10]);
    const raeumeBox = (await findMailbox(store.pool, aliceId, 'Räume'))!;
    expect(await listMessages(store.pool, raeumeBox.id)).toHaveLength(2);
  });

  it('gives new UIDs in a mailbox that holds other messages, and says so', async () => {
    const other = join(dir, 'Other');
    put(other, 'cur', '1.M1P1.host:2,S', corpus('plain-rfc822.eml'), day);
    writeFileSync(join(other, 'dovecot-uidlist'), '3 V777 N3\n2 :1.M1P1.host\n');
    const run = await tegami(['import', 'maildir', other, '--user', 'alice@example.org']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\nINBOX\s+0\s+\S+\s+1\s+new \(the mailbox was not empty\)\n/);
    expect(run.stderr).toContain('INBOX held other messages: its messages got new UIDs');
  });

  it('imports copies with the same bytes under other unique names, and skips them when run again', async () => {
    const copies = join(dir, 'Copies');
    const kept = join(copies, '.Kept');
    const raw = corpus('plain-rfc822.eml');
    mkdirSync(join(copies, 'cur'), { recursive: true });
    // Two copies a user kept, and the first again under its unique name, moved to new/ meanwhile.
    put(kept, 'cur', '1600000000.M1P1.host,S=241:2,S', raw, day);
    put(kept, 'cur', '1600000001.M2P1.host,S=241:2,', raw, day);
    put(kept, 'new', '1600000000.M1P1.host,S=241', raw, day);
    const args = ['import', 'maildir', copies, '--user', 'alice@example.org'];
    const first = await tegami(args);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/\nKept\s+2\s+\S+\s+0\s+new\n/);
    const box = (await findMailbox(store.pool, aliceId, 'Kept'))!;
    expect((await listMessages(store.pool, box.id)).map((m) => [m.uid, m.flags])).toEqual([
      [1, ['\\Seen']],
      [2, []],
    ]);
    expect([...(await bytesOf('Kept')).values()]).toEqual([raw, raw]);

    const again = await tegami(args);
    expect(again.stdout).toMatch(/\nKept\s+0\s+\S+\s+2\s+new\n/);
    expect(await listMessages(store.pool, box.id)).toHaveLength(2);
  });

  it('says what is wrong with the user or the path', async () => {
    expect(await tegami(['import', 'maildir', root, '--user', 'nobody@example.org'])).toMatchObject({
      code: 1,
      stderr: 'tegami: no user nobody@example.org (tegami user add first)\n',
    });
    const notMaildir = await tegami(['import', 'maildir', dir, '--user', 'alice@example.org']);
    expect(notMaildir.code).toBe(1);
    expect(notMaildir.stderr).toContain('is not a Maildir: it has no cur/ or new/');
  });
});

describe('tegami import mbox', () => {
  const lf = (buffer: Buffer) => Buffer.from(buffer.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  const quoted = [
    'From: bob@example.org',
    'Subject: quoting',
    'Status: RO',
    'X-Status: AF',
    '',
    '>From the start',
    '>>From two',
    'not From here',
    '',
  ].join('\n');
  const mbox = Buffer.concat([
    Buffer.from('From bob@example.org Thu Jan  2 03:04:05 2020\n'),
    lf(corpus('plain-rfc822.eml')),
    Buffer.from('\nFrom MAILER-DAEMON Fri Feb 14 10:00:00 2020\n'),
    Buffer.from(quoted),
    Buffer.from('\nFrom carol@example.org Sat Mar  7 12:30:00 2020\n'),
    lf(corpus('utf8-headers.eml')),
    Buffer.from('\n'),
  ]);

  it('imports the messages into the folder, CRLF, unquoted, with Status flags and dates', async () => {
    writeFileSync(join(dir, 'alice.mbox'), mbox);
    const run = await tegami([
      'import',
      'mbox',
      join(dir, 'alice.mbox'),
      '--user',
      'alice@example.org',
      '--folder',
      'Archive/2020',
    ]);
    expect(run.stderr).toMatch(/^imported 3 messages \(\S+\) in [\d.]+s(: .*\/s)?\n$/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\nArchive\/2020\s+3\s+\S+\s+0\s+new\n/);
    const box = (await findMailbox(store.pool, aliceId, 'Archive/2020'))!;
    expect(box.subscribed).toBe(true);
    expect((await listMessages(store.pool, box.id)).map((m) => [m.uid, m.flags, m.internalDate])).toEqual([
      [1, [], new Date('2020-01-02T03:04:05Z')],
      [2, ['\\Answered', '\\Flagged', '\\Seen'], new Date('2020-02-14T10:00:00Z')],
      [3, [], new Date('2020-03-07T12:30:00Z')],
    ]);
    const bytes = await bytesOf('Archive/2020');
    expect(bytes.get(1)).toEqual(corpus('plain-rfc822.eml'));
    expect(bytes.get(2)?.toString()).toBe(
      'From: bob@example.org\r\nSubject: quoting\r\nStatus: RO\r\nX-Status: AF\r\n\r\nFrom the start\r\n>From two\r\nnot From here\r\n',
    );
    expect(bytes.get(3)).toEqual(corpus('utf8-headers.eml'));
  });

  it('tells open IMAP sessions of the new mailbox and messages over NATS', async () => {
    const prefix = `import-events-${process.pid}`;
    const bus = await connectNatsBus({ servers: 'nats://127.0.0.1:4222', prefix });
    try {
      const events: MailboxChanged[] = [];
      bus.subscribeMailboxChanged(aliceId, (event) => events.push(event));
      await bus.ping();
      const run = await runCliInProcess(
        ['import', 'mbox', join(dir, 'alice.mbox'), '--user=alice@example.org', '--folder=Archive/Events'],
        { databaseUrl: database.url, natsPrefix: prefix },
      );
      expect(run.code).toBe(0);
      await bus.ping();
      const box = (await findMailbox(store.pool, aliceId, 'Archive/Events'))!;
      expect(events.map(({ kind, mailboxId, name, uids }) => ({ kind, mailboxId, name, uids }))).toEqual([
        { kind: 'created', mailboxId: box.id, name: 'Archive/Events', uids: undefined },
        { kind: 'exists', mailboxId: box.id, name: undefined, uids: [1, 2, 3] },
      ]);
      expect(BigInt(events[1]!.modseq!)).toBe(box.highestModseq);
    } finally {
      await bus.close();
    }
  });

  it('skips the messages the folder holds already when run again; INBOX without --folder', async () => {
    const again = await tegami([
      'import',
      'mbox',
      join(dir, 'alice.mbox'),
      '--user=alice@example.org',
      '--folder=Archive/2020',
    ]);
    expect(again.stdout).toContain(
      'imported 0 messages (0 bytes) into 1 folder of alice@example.org; skipped 3',
    );
    const missing = await tegami(['import', 'mbox', join(dir, 'none.mbox'), '--user', 'alice@example.org']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('none.mbox');
  });
});
