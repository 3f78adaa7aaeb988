import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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
import {
  cleanEnv,
  createTestCa,
  createTestDatabase,
  freePort,
  type ProgramRun,
  runProgram,
  type TestDatabase,
  type TestNats,
  testNats,
} from '@tegami/testing';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dovecotInstalled, greeting, idOf, run } from './support/dovecot-imap.js';
import { generateMessages } from './support/generated-messages.js';
import { REPO_ROOT } from './support/processes.js';

// `tegami import imap` against a real Dovecot 2.3 with TLS on both of its doors (imaps and
// STARTTLS), started here with folders a migrating user has: a \Sent folder under another
// name, a nested folder, one with a space, "&" and non-ASCII letters (modified UTF-7 on the
// wire), an unsubscribed one, and a folder big enough that a run killed with SIGKILL stops
// between batches. The CLI runs as the operator runs it: a process, the password in its
// environment, the test CA in NODE_EXTRA_CA_CERTS.

const CLI = join(REPO_ROOT, 'packages/cli/src/main.ts');
const USER = 'mover';
const PASSWORD = 'old-server-password';
const BULK = 2_400;

let dir: string;
let conf: string;
let imapPort: number;
let imapsPort: number;
let caFile: string;
let database: TestDatabase;
let nats: TestNats;
let store: StorePool;
let aliceId: string;
let bobId: string;

const corpus = (name: string) => withCrlf(readFileSync(join('/work/shared/corpus', name)));
const withCrlf = (raw: Buffer) => Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

/** What the test put on the source: folder → messages with their flags and dates. */
const SOURCE: Record<string, { raw: Buffer; flags: string[]; date: Date }[]> = {
  INBOX: [
    {
      raw: corpus('plain-rfc822.eml'),
      flags: ['\\Seen', '$Forwarded'],
      date: new Date('2019-03-04T05:06:07Z'),
    },
    {
      raw: corpus('utf8-headers.eml'),
      flags: ['\\Flagged', 'Project-X'],
      date: new Date('2020-11-12T13:14:15Z'),
    },
    { raw: corpus('malformed.eml'), flags: [], date: new Date('2021-01-01T00:00:00Z') },
  ],
  'Sent Messages': [
    {
      raw: corpus('iso2022jp-attachments.eml'),
      flags: ['\\Seen', '\\Answered'],
      date: new Date('2018-07-08T09:10:11Z'),
    },
  ],
  // The same bytes twice (a message kept twice): two messages in Tegami too.
  Work: [
    { raw: corpus('shift-jis-body.eml'), flags: ['\\Seen'], date: new Date('2017-02-03T04:05:06Z') },
    { raw: corpus('shift-jis-body.eml'), flags: [], date: new Date('2017-02-04T04:05:06Z') },
  ],
  'Work.Projects': [
    {
      raw: corpus('nested-alternative-rfc822.eml'),
      flags: ['\\Draft', '$Label1'],
      date: new Date('2016-05-06T07:08:09Z'),
    },
  ],
  'Räume & Pläne': [
    {
      raw: corpus('utf8-headers.eml'),
      flags: ['\\Deleted', '\\Seen'],
      date: new Date('2015-10-11T12:13:14Z'),
    },
  ],
};
/** Where each source folder should land in Tegami. */
const TARGET: Record<string, string> = {
  INBOX: 'INBOX',
  'Sent Messages': 'Sent',
  Work: 'Work',
  'Work.Projects': 'Work/Projects',
  'Räume & Pläne': 'Räume & Pläne',
};

function tegami(args: readonly string[], env: Record<string, string> = {}): Promise<ProgramRun> {
  return runProgram(process.execPath, ['--conditions=tegami-source', '--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    env: cleanEnv({ ...tegamiEnv(), ...env }),
  });
}

function tegamiEnv(): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    NATS_URL: nats.url,
    TEGAMI_NATS_PREFIX: nats.prefix,
    NODE_EXTRA_CA_CERTS: caFile,
  };
}

async function source(port = imapsPort): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: port === imapsPort,
    auth: { user: USER, pass: PASSWORD },
    tls: { ca: readFileSync(caFile, 'utf8') },
    logger: false,
    disableAutoIdle: true,
  });
  await client.connect();
  return client;
}

const available = dovecotInstalled();

describe.skipIf(!available)('tegami import imap, from a live Dovecot', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tegami-import-imap-'));
    chmodSync(dir, 0o755);
    for (const d of ['run', 'state', 'mail']) mkdirSync(join(dir, d));
    chownSync(join(dir, 'mail'), await idOf('-u', 'nobody'), await idOf('-g', 'nobody'));
    const ca = await createTestCa();
    const leaf = await ca.issue(['127.0.0.1', 'localhost']);
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.cert);
    writeFileSync(join(dir, 'cert.pem'), leaf.cert);
    writeFileSync(join(dir, 'key.pem'), leaf.key, { mode: 0o600 });
    conf = join(dir, 'dovecot.conf');
    let started = false;
    for (let attempt = 0; attempt < 3 && !started; attempt++) {
      imapPort = await freePort();
      imapsPort = await freePort();
      writeFileSync(
        conf,
        [
          `base_dir = ${join(dir, 'run')}`,
          `state_dir = ${join(dir, 'state')}`,
          `instance_name = ${basename(dir)}`,
          `log_path = ${join(dir, 'dovecot.log')}`,
          'protocols = imap',
          'listen = 127.0.0.1',
          'ssl = required',
          `ssl_cert = <${join(dir, 'cert.pem')}`,
          `ssl_key = <${join(dir, 'key.pem')}`,
          'auth_mechanisms = plain login',
          `passdb {\n  driver = static\n  args = password=${PASSWORD}\n}`,
          `userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=${join(dir, 'mail')}/%u\n}`,
          `mail_location = maildir:${join(dir, 'mail')}/%u`,
          'mail_fsync = never',
          // The \Sent folder under a name Tegami does not use; "." between levels, as
          // Maildir++ stores them.
          'namespace inbox {\n  inbox = yes\n  separator = .\n  mailbox "Sent Messages" {\n    special_use = \\Sent\n  }\n}',
          `service imap-login {\n  inet_listener imap {\n    port = ${imapPort}\n  }\n  inet_listener imaps {\n    port = ${imapsPort}\n    ssl = yes\n  }\n}`,
          '',
        ].join('\n'),
      );
      const result = await run(['-c', conf], join(dir, 'dovecot.out'));
      if (result.code === 0) started = true;
      else if (!/Address already in use/.test(result.output)) throw new Error(`dovecot: ${result.output}`);
    }
    // imap-login serves both listeners: the plain one greeting means the TLS one is up too.
    await greeting(imapPort, 10_000);

    // The source account, over STARTTLS (as a mail client would have filled it).
    const client = await source(imapPort);
    try {
      for (const [folder, messages] of Object.entries(SOURCE)) {
        if (folder !== 'INBOX') await client.mailboxCreate(folder);
        for (const m of messages) await client.append(folder, m.raw, m.flags, m.date);
      }
      await client.mailboxUnsubscribe('Work.Projects');
      await client.mailboxCreate('Bulk');
      for (const raw of generateMessages(BULK, 20)) await client.append('Bulk', raw, ['\\Seen']);
    } finally {
      await client.logout();
    }

    nats = await testNats();
    database = await createTestDatabase();
    store = openStore({ url: database.url, poolSize: 4 });
    await migrate(store.pool);
    await addDomain(store.pool, 'example.org');
    aliceId = (await createAccount(store.pool, 'alice@example.org', 'pw')).id;
    bobId = (await createAccount(store.pool, 'bob@example.org', 'pw')).id;
  }, 180_000);

  afterAll(async () => {
    await store?.close();
    await database?.drop();
    if (conf) await run(['-c', conf, 'stop'], join(dir, 'dovecot.out'));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a wrong password with one clear line, and copies nothing', async () => {
    const result = await tegami(
      ['import', 'imap', `imaps://${USER}@127.0.0.1:${imapsPort}`, '--user', 'alice@example.org'],
      { TEGAMI_IMPORT_PASSWORD: 'wrong' },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refused the login of mover/);
    expect(await findMailbox(store.pool, aliceId, 'Work')).toBeUndefined();
  });

  it('copies every folder with its subscription, flags, keywords, dates and exact bytes', async () => {
    // What IMAP sessions of alice's anywhere would hear of it.
    const bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
    const events: MailboxChanged[] = [];
    bus.subscribeMailboxChanged(aliceId, (event) => events.push(event));
    await bus.ping();
    const result = await tegami(
      [
        'import',
        'imap',
        `imaps://${USER}@127.0.0.1:${imapsPort}`,
        '--user',
        'alice@example.org',
        '--exclude=Bulk',
      ],
      { TEGAMI_IMPORT_PASSWORD: PASSWORD },
    );
    expect(result.stderr).not.toMatch(/clear text/);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/copied 8 messages .* from 5 folders of imaps:\/\/mover@127\.0\.0\.1/);
    expect(result.stderr).toMatch(/skipped Bulk: excluded/);

    const entries = new Map((await listMailboxEntries(store.pool, aliceId)).map((e) => [e.name, e]));
    for (const [folder, messages] of Object.entries(SOURCE)) {
      const mailbox = await findMailbox(store.pool, aliceId, TARGET[folder]!);
      expect(mailbox, folder).toBeDefined();
      expect(entries.get(TARGET[folder]!)?.subscribed, folder).toBe(folder !== 'Work.Projects');
      const rows = await listMessages(store.pool, mailbox!.id);
      const bytes = await readMessageBytes(store.pool, mailbox!.id);
      expect(
        rows.map((r) => ({
          raw: bytes.get(r.uid),
          flags: [...r.flags].sort(),
          date: r.internalDate.getTime(),
        })),
        folder,
      ).toEqual(messages.map((m) => ({ raw: m.raw, flags: [...m.flags].sort(), date: m.date.getTime() })));
    }
    expect((await findMailbox(store.pool, aliceId, 'Sent'))?.specialUse).toBe('\\Sent');
    expect(await findMailbox(store.pool, aliceId, 'Sent Messages')).toBeUndefined();

    // One event per new mailbox and per stored batch, as APPEND and delivery publish them.
    const inbox = await findMailbox(store.pool, aliceId, 'INBOX');
    for (let i = 0; i < 100 && events.filter((e) => e.kind === 'exists').length < 5; i++)
      await new Promise((r) => setTimeout(r, 50));
    await bus.close();
    expect(events).toContainEqual(expect.objectContaining({ kind: 'created', name: 'Work/Projects' }));
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'exists', mailboxId: inbox!.id, uids: [1, 2, 3] }),
    );
  });

  it('copies nothing when run again with everything copied, and says so', async () => {
    const result = await tegami(
      [
        'import',
        'imap',
        `imaps://${USER}@127.0.0.1:${imapsPort}`,
        '--user',
        'alice@example.org',
        '--exclude=Bulk',
      ],
      { TEGAMI_IMPORT_PASSWORD: PASSWORD },
    );
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(
      /nothing to copy: the 5 folders of imaps:\/\/mover@127\.0\.0\.1:\d+ are in alice@example\.org's mailboxes already/,
    );
    const inbox = await findMailbox(store.pool, aliceId, 'INBOX');
    expect((await listMessages(store.pool, inbox!.id)).length).toBe(SOURCE.INBOX!.length);
  });

  it('copies a folder whose UIDVALIDITY changed again, storing only the messages not there yet', async () => {
    // The folder made anew on the source (a restore there, a rebuilt index): new UIDVALIDITY.
    const folder = 'Räume & Pläne';
    const fresh = {
      raw: corpus('plain-rfc822.eml'),
      flags: ['$Label2'],
      date: new Date('2022-02-02T02:02:02Z'),
    };
    const client = await source();
    try {
      await client.mailboxDelete(folder);
      await client.mailboxCreate(folder);
      for (const m of [...SOURCE[folder]!, fresh]) await client.append(folder, m.raw, m.flags, m.date);
    } finally {
      await client.logout();
    }
    const result = await tegami(
      [
        'import',
        'imap',
        `imaps://${USER}@127.0.0.1:${imapsPort}`,
        '--user=alice@example.org',
        `--folder=${folder}`,
      ],
      { TEGAMI_IMPORT_PASSWORD: PASSWORD },
    );
    expect(result).toMatchObject({ code: 0 });
    expect(result.stderr).toMatch(/Räume & Pläne: its UIDVALIDITY changed/);
    expect(result.stdout).toMatch(/copied 1 message .*; skipped 1 present already/);
    const mailbox = await findMailbox(store.pool, aliceId, folder);
    const bytes = await readMessageBytes(store.pool, mailbox!.id);
    expect([...bytes.values()]).toEqual([SOURCE[folder]![0]!.raw, fresh.raw]);
  });

  it('continues a run killed with SIGKILL mid-folder, over STARTTLS: all copied, none twice', async () => {
    const password = join(dir, 'password');
    writeFileSync(password, `${PASSWORD}\n`, { mode: 0o600 });
    const args = [
      'import',
      'imap',
      `imap://${USER}@127.0.0.1:${imapPort}`,
      '--user=bob@example.org',
      `--password-file=${password}`,
      '--folder=Bulk',
    ];
    const child: ChildProcess = spawn(
      process.execPath,
      ['--conditions=tegami-source', '--import', 'tsx', CLI, ...args],
      {
        cwd: REPO_ROOT,
        env: cleanEnv(tegamiEnv()),
        stdio: 'ignore',
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    // Killed as soon as its first batch is committed.
    const copied = async () => {
      const bulk = await findMailbox(store.pool, bobId, 'Bulk');
      return bulk ? (await listMessages(store.pool, bulk.id)).length : 0;
    };
    let before = 0;
    for (let i = 0; i < 1200 && before === 0; i++) {
      before = await copied();
      if (before === 0) await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const afterKill = await copied();
    expect(afterKill).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(BULK);

    const rerun = await tegami(args);
    expect(rerun).toMatchObject({ code: 0 });
    expect(rerun.stdout).toMatch(new RegExp(`copied ${BULK - afterKill} messages`));

    const bulk = await findMailbox(store.pool, bobId, 'Bulk');
    const bytes = [...(await readMessageBytes(store.pool, bulk!.id)).values()];
    const client = await source();
    const expected: Buffer[] = [];
    try {
      await client.mailboxOpen('Bulk', { readOnly: true });
      for await (const m of client.fetch('1:*', { uid: true, source: true }, { uid: true }))
        expected.push(m.source!);
    } finally {
      await client.logout();
    }
    expect(bytes.length).toBe(BULK);
    expect(bytes.map((b) => b.toString('base64')).sort()).toEqual(
      expected.map((b) => b.toString('base64')).sort(),
    );
    expect(
      await findMailbox(store.pool, bobId, 'INBOX').then((m) => listMessages(store.pool, m!.id)),
    ).toEqual([]);
  });
});
