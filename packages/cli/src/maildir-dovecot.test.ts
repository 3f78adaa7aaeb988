import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
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
import { runCliInProcess } from './test-cli.js';

// The Maildir a real Dovecot 2.3 writes (doveadm against a private master with no
// listeners: folders, subscriptions, flags, keywords, dovecot-uidlist), imported as it is.

const execFileAsync = promisify(execFile);
const DOVECOT = '/usr/sbin/dovecot';
const available = existsSync(DOVECOT) && existsSync('/usr/bin/doveadm') && process.getuid?.() === 0;

let database: TestDatabase;
let store: StorePool;
let aliceId: string;
const dir = mkdtempSync(join(tmpdir(), 'tegami-import-dovecot-'));
const conf = join(dir, 'dovecot.conf');
const home = join(dir, 'home');
const doveadm = (...args: string[]) => execFileAsync('/usr/bin/doveadm', ['-c', conf, ...args]);
const corpus = (name: string) => readFileSync(join('/work/shared/corpus', name));

describe.skipIf(!available)('tegami import maildir, of a Maildir Dovecot wrote', () => {
  const status = new Map<string, { uidvalidity: number; uidnext: number }>();

  beforeAll(async () => {
    chmodSync(dir, 0o755);
    for (const d of ['run', 'state', 'home']) mkdirSync(join(dir, d));
    chownSync(
      home,
      Number((await execFileAsync('id', ['-u', 'nobody'])).stdout),
      Number((await execFileAsync('id', ['-g', 'nobody'])).stdout),
    );
    writeFileSync(
      conf,
      [
        `base_dir = ${join(dir, 'run')}`,
        `state_dir = ${join(dir, 'state')}`,
        `instance_name = ${basename(dir)}`,
        `log_path = ${join(dir, 'dovecot.log')}`,
        'protocols = imap',
        'ssl = no',
        `mail_location = maildir:${home}/Maildir`,
        'namespace inbox {\n  inbox = yes\n  separator = /\n}',
        `userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=${home}\n}`,
        'passdb {\n  driver = static\n  args = password=x\n}',
        'service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}',
        '',
      ].join('\n'),
    );
    // The master daemonises and its background process keeps inherited pipes open: no pipes.
    const master = spawn(DOVECOT, ['-c', conf], { stdio: 'ignore' });
    await new Promise((resolve, reject) =>
      master.once('exit', (code) =>
        code === 0 ? resolve(code) : reject(new Error(`dovecot: exit ${code}`)),
      ),
    );
    try {
      const u = ['-u', 'tester'];
      await doveadm('mailbox', 'create', ...u, 'Räume', 'Lists/dev');
      await doveadm('mailbox', 'subscribe', ...u, 'INBOX', 'Lists/dev');
      for (const [file, box] of [
        ['plain-rfc822.eml', 'INBOX'],
        ['utf8-headers.eml', 'INBOX'],
        ['nested-alternative-rfc822.eml', 'Lists/dev'],
        ['shift-jis-body.eml', 'Räume'],
      ] as const) {
        const save = execFile('/usr/bin/doveadm', ['-c', conf, 'save', ...u, '-m', box]);
        const done = new Promise((resolve, reject) =>
          save.once('exit', (code) =>
            code === 0 ? resolve(code) : reject(new Error(`doveadm save: ${code}`)),
          ),
        );
        save.stdin!.end(corpus(file));
        await done;
      }
      await doveadm('flags', 'add', ...u, '\\Seen $Label1', 'mailbox', 'Lists/dev', 'ALL');
      await doveadm('flags', 'add', ...u, '\\Answered', 'mailbox', 'INBOX', 'UID', '2');
      const lines = (await doveadm('-f', 'flow', 'mailbox', 'status', ...u, 'uidvalidity uidnext', '*'))
        .stdout;
      for (const line of lines.trim().split('\n')) {
        const name = /^(?:mailbox=)?(.+?) uid/.exec(line)?.[1];
        const uidvalidity = Number(/uidvalidity=(\d+)/.exec(line)?.[1]);
        const uidnext = Number(/uidnext=(\d+)/.exec(line)?.[1]);
        if (name !== undefined) status.set(name, { uidvalidity, uidnext });
      }
    } finally {
      await doveadm('stop');
    }
    database = await createTestDatabase();
    store = openStore({ url: database.url, poolSize: 2 });
    await migrate(store.pool);
    await addDomain(store.pool, 'example.org');
    aliceId = (await createAccount(store.pool, 'alice@example.org', 'pw')).id;
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('keeps its folders, UIDVALIDITY, UIDs, flags, keywords and subscriptions', async () => {
    const run = await runCliInProcess(
      ['import', 'maildir', join(home, 'Maildir'), '--user', 'alice@example.org'],
      {
        databaseUrl: database.url,
      },
    );
    // Only progress.ts's summary (not a terminal).
    expect(run.stderr).toMatch(/^imported 4 messages \(\S+\) in [\d.]+s(: .*\/s)?\n$/);
    expect(run.stdout).toContain('imported 4 messages');
    for (const name of ['INBOX', 'Lists/dev', 'Räume']) {
      const mailbox = (await findMailbox(store.pool, aliceId, name))!;
      expect(mailbox.uidValidity, name).toBe(status.get(name)!.uidvalidity);
      expect(mailbox.uidNext, name).toBeGreaterThanOrEqual(status.get(name)!.uidnext);
    }
    const inbox = (await findMailbox(store.pool, aliceId, 'INBOX'))!;
    expect((await listMessages(store.pool, inbox.id)).map((m) => [m.uid, m.flags])).toEqual([
      [1, []],
      [2, ['\\Answered']],
    ]);
    const dev = (await findMailbox(store.pool, aliceId, 'Lists/dev'))!;
    expect((await listMessages(store.pool, dev.id)).map((m) => [m.uid, m.flags])).toEqual([
      [1, ['$Label1', '\\Seen']],
    ]);
    // Dovecot stores the lines LF-terminated and serves them CRLF; the import stores them
    // CRLF: the message as it was appended, byte for byte.
    expect((await readMessageBytes(store.pool, dev.id)).get(1)).toEqual(
      corpus('nested-alternative-rfc822.eml'),
    );
    const subscribed = new Map(
      (await listMailboxEntries(store.pool, aliceId)).map((e) => [e.name, e.subscribed]),
    );
    expect([subscribed.get('INBOX'), subscribed.get('Lists/dev'), subscribed.get('Räume')]).toEqual([
      true,
      true,
      false,
    ]);
  });
});
