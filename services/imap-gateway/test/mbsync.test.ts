import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNatsBus, type MailBus } from '@tegami/bus';
import { describeMessage } from '@tegami/protocol';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import {
  addDomain,
  appendMessage,
  createAccount,
  createMailbox,
  findMailbox,
  listMessages,
  mailboxRawMessages,
  migrate,
  openStore,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, runProgram, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImapGateway, startImapGateway } from '../src/imap-gateway.js';

// mbsync (Debian isync) keeping a local maildir and the server in step, both ways: the
// second run after a change has nothing left to do, and neither side changes.

let store: StorePool;
let bus: MailBus;
let gateway: ImapGateway;
let accountId: string;
const work = mkdtempSync(join(tmpdir(), 'tegami-mbsync-'));
const maildir = join(work, 'mail');

beforeAll(async () => {
  const database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 6 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  accountId = (await createAccount(store.pool, 'sync@example.test', 'sync-password')).id;
  const projects = await createMailbox(store.pool, accountId, 'Projects');
  const inbox = await findMailbox(store.pool, accountId, 'INBOX');
  for (let i = 1; i <= 5; i++) {
    const raw = Buffer.from(
      `From: a@example.test\r\nSubject: server ${i}\r\nMessage-ID: <s${i}@example.test>\r\n\r\nbody ${i}\r\n`,
    );
    const d = describeMessage(raw);
    await appendMessage(store.pool, {
      mailboxId: i <= 3 ? inbox!.id : projects.id,
      raw,
      flags: i === 1 ? ['\\Seen'] : [],
      metadata: d.metadata,
      searchText: d.searchText,
    });
  }
  const nats = await testNats();
  bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
  gateway = await startImapGateway({
    pool: store.pool,
    bus,
    logger: createLogger({ service: 'imap-test', level: 'warn' }),
    metrics: createMetricsRegistry('imap-test'),
    hostname: 'imap.example.test',
    host: '127.0.0.1',
    imapPort: 0,
    imapsPort: undefined,
    tls: undefined,
    idleTimeoutMs: 60_000,
    maxConnections: 100,
    maxConnectionsPerIp: 50,
    maxConnectionsPerUser: 20,
    allowPlaintextAuth: false,
    maxMessageSize: 10 * 1024 * 1024,
  });
  mkdirSync(maildir, { recursive: true });
  writeFileSync(
    join(work, 'mbsyncrc'),
    `IMAPAccount tegami
Host 127.0.0.1
Port ${gateway.ports.imap}
User sync@example.test
Pass sync-password
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account tegami

MaildirStore local
Path ${maildir}/
Inbox ${maildir}/INBOX
SubFolders Verbatim

Channel everything
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
`,
  );
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await bus?.close();
  await store?.close();
});

const mbsync = () =>
  runProgram('mbsync', ['-c', join(work, 'mbsyncrc'), '-a'], { cwd: work, env: process.env, stdin: '' });

function localFiles(box: string): string[] {
  const dir = join(maildir, box);
  return ['cur', 'new'].flatMap((sub) => {
    try {
      return readdirSync(join(dir, sub)).map((f) => join(sub, f));
    } catch {
      return [];
    }
  });
}

async function serverState() {
  const out: Record<string, string[]> = {};
  for (const name of ['INBOX', 'Projects']) {
    const box = await findMailbox(store.pool, accountId, name);
    out[name] = (await listMessages(store.pool, box!.id)).map((m) => `${m.uid}:${m.flags.join(',')}`);
  }
  return out;
}

describe('mbsync against the imap-gateway', () => {
  it('syncs both ways, and a second run changes nothing', async () => {
    const first = await mbsync();
    expect(first.stderr + first.stdout).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    expect(localFiles('INBOX')).toHaveLength(3);
    expect(localFiles('Projects')).toHaveLength(2);

    // A message written locally goes up; a flag set locally goes up too.
    const inboxNew = join(maildir, 'INBOX', 'new');
    writeFileSync(
      join(inboxNew, '1700000000.local.host'),
      'From: me@example.test\r\nSubject: written locally\r\nMessage-ID: <local@example.test>\r\n\r\nlocal\r\n',
    );
    const second = await mbsync();
    expect(second.code).toBe(0);
    const inbox = await findMailbox(store.pool, accountId, 'INBOX');
    const stored = await listMessages(store.pool, inbox!.id);
    expect(stored).toHaveLength(4);
    const raws = await mailboxRawMessages(store.pool, inbox!.id);
    expect(raws.find((m) => m.uid === stored.at(-1)!.uid)?.raw.toString()).toContain(
      'Subject: written locally',
    );

    // Twice more: nothing left to do, on either side.
    const before = { server: await serverState(), local: [localFiles('INBOX'), localFiles('Projects')] };
    const third = await mbsync();
    expect(third.code).toBe(0);
    const fourth = await mbsync();
    expect(fourth.code).toBe(0);
    expect(await serverState()).toEqual(before.server);
    expect([localFiles('INBOX'), localFiles('Projects')]).toEqual(before.local);
  }, 60_000);
});
