import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNatsBus, type MailBus } from '@tegami/bus';
import { describeMessage } from '@tegami/protocol';
import { createLogger, createMetricsRegistry, ensureSelfSignedCertificate } from '@tegami/runtime';
import {
  addDomain,
  appendMessage,
  createAccount,
  createMailbox,
  createSecretsKeyring,
  findMailbox,
  legacySaslPolicy,
  migrate,
  openImapSnapshot,
  openStore,
  type StorePool,
  setQuota,
} from '@tegami/store';
import { createTestDatabase, LineClient, runProgram, testNats } from '@tegami/testing';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImapGateway, type ImapGatewayDeps, startImapGateway } from '../src/imap-gateway.js';

// The imap-gateway in-process against real Postgres and NATS, driven by real clients:
// python's imaplib, imapflow and curl.

const corpus = new URL('../../../../shared/corpus/', import.meta.url);
const corpusFiles = readdirSync(corpus)
  .filter((f) => f.endsWith('.eml'))
  .sort();
let store: StorePool;
let bus: MailBus;
let gateway: ImapGateway;
const gateways: ImapGateway[] = [];
let aliceId: string;
// CRAM-MD5 and DIGEST-MD5 on, their secrets sealed with a key of this test's own.
const legacySasl = legacySaslPolicy(createSecretsKeyring([randomBytes(32)]), true);

async function startGateway(extra: Partial<ImapGatewayDeps> = {}): Promise<ImapGateway> {
  const tls = await ensureSelfSignedCertificate(mkdtempSync(join(tmpdir(), 'tegami-imap-tls-')), 'localhost');
  const g = await startImapGateway({
    pool: store.pool,
    bus,
    logger: createLogger({ service: 'imap-test', level: 'warn' }),
    metrics: createMetricsRegistry('imap-test'),
    hostname: 'imap.example.test',
    host: '127.0.0.1',
    imapPort: 0,
    imapsPort: 0,
    tls: { cert: tls.cert, key: tls.key },
    idleTimeoutMs: 60_000,
    maxConnections: 100,
    maxConnectionsPerIp: 50,
    maxConnectionsPerUser: 20,
    allowPlaintextAuth: false,
    maxMessageSize: 10 * 1024 * 1024,
    legacySasl,
    ...extra,
  });
  gateways.push(g);
  return g;
}

async function store80(): Promise<void> {
  // The classic session: work holds 80 messages, 1–64 seen, 76–80 recent.
  const work = await createMailbox(store.pool, aliceId, 'work');
  await createMailbox(store.pool, aliceId, 'private');
  await createMailbox(store.pool, aliceId, 'temp');
  for (let i = 1; i <= 80; i++) {
    // 1–75 were seen by an earlier session (it claimed them as \Recent); 76–80 arrive after.
    if (i === 76) await openImapSnapshot(store.pool, work.id, false);
    const raw = Buffer.from(
      `From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: work item ${i}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nBody of work item ${i}.\r\n`,
    );
    const d = describeMessage(raw);
    await appendMessage(store.pool, {
      mailboxId: work.id,
      raw,
      flags: i < 65 ? ['\\Seen'] : [],
      metadata: d.metadata,
      searchText: d.searchText,
    });
  }
}

beforeAll(async () => {
  const database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 8 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  aliceId = (await createAccount(store.pool, 'alice@example.test', 'alice-password', legacySasl)).id;
  await createAccount(store.pool, 'mallory@example.test', 'mallory-password', legacySasl);
  await store80();
  const inbox = await findMailbox(store.pool, aliceId, 'INBOX');
  for (const file of corpusFiles) {
    const raw = readFileSync(new URL(file, corpus));
    const d = describeMessage(raw);
    await appendMessage(store.pool, {
      mailboxId: inbox!.id,
      raw,
      metadata: d.metadata,
      searchText: d.searchText,
    });
  }
  const nats = await testNats();
  bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
  gateway = await startGateway();
}, 60_000);

afterAll(async () => {
  for (const g of gateways) await g.stop();
  await bus?.close();
  await store?.close();
});

const python = (script: string, ...args: string[]) =>
  runProgram('python3', ['-c', script, ...args], { cwd: process.cwd(), env: process.env, stdin: '' });

function flow(port: number, user = 'alice@example.test', pass = 'alice-password', secure = false): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port,
    secure,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    logger: false,
    disableAutoIdle: true,
  });
}

describe('imap-gateway: the classic session', () => {
  it('LOGIN, LIST, SELECT work (80 EXISTS, 5 RECENT, UNSEEN 65), FETCH 75 BODY[TEXT], LOGOUT with imaplib', async () => {
    const CLASSIC = `
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
print('LOGIN', M.login('alice@example.test', 'alice-password')[0])
typ, boxes = M.list('""', '*')
for b in boxes: print('LIST', b.decode())
typ, data = M.select('work')
print('SELECT', typ, data[0].decode())
for key in ('EXISTS', 'RECENT', 'UNSEEN', 'UIDVALIDITY', 'FLAGS', 'READ-WRITE', 'PERMANENTFLAGS', 'UIDNEXT'):
    print(key, M.untagged_responses.get(key))
typ, data = M.fetch('75', '(BODY[TEXT])')
print('FETCH', typ, data[0][0].decode(), repr(data[0][1]))
print('LOGOUT', M.logout()[0])
`;
    const run = await python(CLASSIC, String(gateway.ports.imap));
    expect(run.stderr).toBe('');
    const out = run.stdout;
    expect(out).toContain('LOGIN OK');
    for (const name of ['work', 'private', 'temp', 'INBOX']) {
      expect(out).toMatch(new RegExp(`^LIST \\(\\\\HasNoChildren[^)]*\\) "/" "?${name}"?$`, 'm'));
    }
    expect(out).toContain('SELECT OK 80');
    expect(out).toContain("EXISTS [b'80']");
    expect(out).toContain("RECENT [b'5']");
    expect(out).toContain("UNSEEN [b'65']");
    expect(out).toMatch(/^UIDVALIDITY \[b'\d+'\]$/m);
    expect(out).toContain("FLAGS [b'(\\\\Answered \\\\Flagged \\\\Deleted \\\\Seen \\\\Draft)']");
    expect(out).toContain("READ-WRITE [b'']");
    expect(out).toContain("FETCH OK 75 (BODY[TEXT] {23} b'Body of work item 75.\\r\\n'");
    expect(out).toContain('LOGOUT BYE');
  });
});

describe('imap-gateway with imapflow', () => {
  it('answers imapflow getQuota from the account counters and the operator-set limit (RFC 9208)', async () => {
    await createAccount(store.pool, 'quota@example.test', 'quota-password');
    await setQuota(store.pool, 'quota@example.test', 2 * 1024 * 1024);
    const client = flow(gateway.ports.imap!, 'quota@example.test', 'quota-password');
    await client.connect();
    try {
      const raw = Buffer.from(`Subject: q\r\n\r\n${'x'.repeat(10_000)}\r\n`);
      await client.append('INBOX', raw);
      const quota = await client.getQuota('INBOX');
      expect(quota).toMatchObject({ path: 'INBOX', storage: { limit: 2 * 1024 * 1024 } });
      // Usage in whole KiB, as the wire has it.
      expect((quota as { storage: { usage: number } }).storage.usage).toBe(
        Math.floor(raw.length / 1024) * 1024,
      );
    } finally {
      await client.logout();
    }
  });

  it('serves every corpus message byte for byte, with ENVELOPE and BODYSTRUCTURE', async () => {
    const client = flow(gateway.ports.imap!);
    await client.connect();
    const lock = await client.getMailboxLock('INBOX');
    try {
      const seen: Buffer[] = [];
      for await (const message of client.fetch('1:*', {
        uid: true,
        envelope: true,
        bodyStructure: true,
        source: true,
      })) {
        expect(message.envelope).toBeDefined();
        expect(message.bodyStructure).toBeDefined();
        seen.push(message.source!);
      }
      expect(seen).toHaveLength(corpusFiles.length);
      corpusFiles.forEach((file, i) => {
        expect(seen[i]!.equals(readFileSync(new URL(file, corpus))), file).toBe(true);
      });
    } finally {
      lock.release();
      await client.logout();
    }
  });

  it('answers ENVELOPE and BODYSTRUCTURE the second time from the facts cache, the same as the first', async () => {
    const metrics = createMetricsRegistry('imap-cache-test');
    const cached = await startGateway({ metrics, messageCacheBytes: 1 << 20 });
    const client = flow(cached.ports.imap!);
    await client.connect();
    const lock = await client.getMailboxLock('INBOX');
    const lookups = async () =>
      Object.fromEntries(
        (await metrics.getSingleMetric('tegami_imap_message_cache_lookups')!.get()).values.map((v) => [
          v.labels.result,
          v.value,
        ]),
      );
    try {
      const round = async () => {
        const answers: unknown[] = [];
        for await (const m of client.fetch('1:*', {
          uid: true,
          envelope: true,
          bodyStructure: true,
          size: true,
        }))
          answers.push([m.uid, m.envelope, m.bodyStructure, m.size]);
        return answers;
      };
      const first = await round();
      expect(await lookups()).toEqual({ hit: 0, miss: corpusFiles.length });
      expect(await round()).toEqual(first);
      expect(await lookups()).toEqual({ hit: corpusFiles.length, miss: corpusFiles.length });
      const bytes = (await metrics.getSingleMetric('tegami_imap_message_cache_bytes')!.get()).values[0]!
        .value;
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThanOrEqual(1 << 20);
    } finally {
      lock.release();
      await client.logout();
    }
  });

  it('APPENDs, STOREs, SEARCHes, MOVEs and sees it all in a second session in IDLE', async () => {
    const a = flow(gateway.ports.imap!);
    const b = flow(gateway.ports.imap!);
    await a.connect();
    await b.connect();
    await a.mailboxCreate('idle-test');
    await b.mailboxOpen('idle-test');
    const events: string[] = [];
    b.on('exists', (e) => events.push(`exists ${e.count}`));
    b.on('flags', (e) => events.push(`flags ${e.uid} ${[...e.flags].join(',')}`));
    b.on('expunge', (e) => events.push(`expunge ${e.seq}`));
    const idle = b.idle();
    const raw = Buffer.from('From: a@example.test\r\nSubject: appended\r\n\r\nhello\r\n');
    const appended = await a.append('idle-test', raw, ['\\Flagged']);
    expect(appended).toMatchObject({ destination: 'idle-test', uid: 1 });
    await waitFor(() => events.includes('exists 1'));
    await a.mailboxOpen('idle-test');
    await a.messageFlagsAdd('1', ['\\Seen']);
    await waitFor(() => events.some((e) => e.startsWith('flags 1') && e.includes('\\Seen')));
    expect(await a.search({ seen: true, flagged: true })).toEqual([1]);
    expect(await a.search({ subject: 'APPENDED' })).toEqual([1]);
    await a.mailboxCreate('moved-here');
    const moved = await a.messageMove('1', 'moved-here');
    expect(moved).toMatchObject({ destination: 'moved-here' });
    await waitFor(() => events.includes('expunge 1'));
    await b.logout();
    await idle.catch(() => undefined);
    await a.logout();
  });
});

describe('imap-gateway: DELETE of a parent (RFC 3501 §6.3.4)', () => {
  it('expunges its messages for every session, keeps the name \\Noselect, and CREATE revives it', async () => {
    const a = flow(gateway.ports.imap!);
    const b = flow(gateway.ports.imap!);
    await a.connect();
    await b.connect();
    await a.mailboxCreate('projects/tegami');
    const raw = Buffer.from('From: a@example.test\r\nSubject: in the parent\r\n\r\nhello\r\n');
    await a.append('projects', raw);
    await a.append('projects', raw);
    await b.mailboxOpen('projects');
    const events: string[] = [];
    b.on('expunge', (e) => events.push(`expunge ${e.seq}`));
    const idle = b.idle();
    await a.mailboxDelete('projects');
    await waitFor(() => events.length === 2);
    const listed = await a.list({ statusQuery: { messages: true } });
    const parent = listed.find((m) => m.path === 'projects');
    expect([...(parent?.flags ?? [])]).toEqual(expect.arrayContaining(['\\Noselect', '\\HasChildren']));
    expect(parent?.status).toBeUndefined();
    expect(listed.find((m) => m.path === 'projects/tegami')?.status?.messages).toBe(0);
    await expect(a.mailboxOpen('projects')).rejects.toThrow();
    const raw2 = await LineClient.connect(gateway.ports.imap!);
    await raw2.readLine();
    raw2.write('r1 LOGIN alice@example.test alice-password\r\nr2 SELECT projects/tegami\r\n');
    raw2.write('r3 APPEND projects/tegami {5+}\r\nhello\r\nr4 COPY 1 projects\r\n');
    const lines: string[] = [];
    while (!lines.at(-1)?.startsWith('r4 ')) lines.push(await raw2.readLine());
    expect(lines.at(-1)).toBe('r4 NO [TRYCREATE] no such mailbox');
    raw2.close();
    // A second DELETE is refused while the child exists; CREATE makes it a mailbox again.
    await expect(a.mailboxDelete('projects')).rejects.toThrow();
    await a.mailboxCreate('projects');
    expect(await a.status('projects', { messages: true, uidNext: true })).toMatchObject({
      messages: 0,
      uidNext: 3,
    });
    expect(await a.append('projects', raw)).toMatchObject({ uid: 3 });
    await b.logout();
    await idle.catch(() => undefined);
    await a.logout();
  });
});

describe('imap-gateway with python imaplib over every transport, and curl', () => {
  const SESSION = `
import imaplib, ssl, sys
mode, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if mode == 'ssl':
    M = imaplib.IMAP4_SSL('127.0.0.1', port, ssl_context=ctx)
else:
    M = imaplib.IMAP4('127.0.0.1', port)
    if mode == 'starttls':
        print('BEFORE', 'STARTTLS' in M.capabilities, 'LOGINDISABLED' in M.capabilities)
        M.starttls(ssl_context=ctx)
print('CAPS', ' '.join(sorted(M.capabilities)))
M.login('alice@example.test', 'alice-password')
M.select('INBOX', readonly=True)
typ, data = M.uid('FETCH', '1:*', '(RFC822.SIZE BODY.PEEK[])')
print('COUNT', sum(1 for d in data if isinstance(d, tuple)))
typ, data = M.search('UTF-8', 'TEXT', '\u30c6\u30b9\u30c8'.encode('utf-8'))
print('JAPANESE', data[0].decode())
M.logout()
`;

  it('serves imaplib in plain (loopback), STARTTLS and IMAP4_SSL, with SEARCH CHARSET UTF-8 in Japanese', async () => {
    for (const mode of ['plain', 'starttls', 'ssl'] as const) {
      const port = mode === 'ssl' ? gateway.ports.imaps! : gateway.ports.imap!;
      const run = await python(SESSION, mode, String(port));
      expect(run.stderr, mode).toBe('');
      expect(run.stdout, mode).toContain(`COUNT ${corpusFiles.length}`);
      // One corpus message is ISO-2022-JP: found by its decoded text.
      expect(run.stdout, mode).toMatch(/^JAPANESE \d+$/m);
      if (mode === 'starttls') expect(run.stdout).toContain('BEFORE True False');
      if (mode !== 'plain') expect(run.stdout).not.toMatch(/CAPS .*STARTTLS/);
    }
  });

  it('serves curl over imap:// and imaps://: LIST, a message by UID, and a SEARCH', async () => {
    const curl = (url: string, ...extra: string[]) =>
      runProgram('curl', ['-s', '-k', '--user', 'alice@example.test:alice-password', ...extra, url], {
        cwd: process.cwd(),
        env: process.env,
        stdin: '',
      });
    const list = await curl(`imap://127.0.0.1:${gateway.ports.imap}/`);
    expect(list.stdout).toMatch(/^\* LIST \(\\HasNoChildren\) "\/" "?work"?\r?$/m);
    const first = corpusFiles[0]!;
    const message = await curl(`imaps://127.0.0.1:${gateway.ports.imaps}/INBOX;UID=1`);
    expect(Buffer.from(message.stdout, 'latin1').equals(readFileSync(new URL(first, corpus)))).toBe(true);
    const search = await curl(`imap://127.0.0.1:${gateway.ports.imap}/work`, '--request', 'SEARCH UNSEEN');
    // 65–80 were unseen; the classic session's FETCH 75 BODY[TEXT] (not PEEK) set \Seen on 75.
    const unseen = Array.from({ length: 16 }, (_, i) => 65 + i).filter((n) => n !== 75);
    expect(search.stdout.trim()).toBe(`* SEARCH ${unseen.join(' ')}`);
  });

  it('authenticates with every SASL mechanism, with and without an initial response', async () => {
    const AUTH = `
import imaplib, sys, hmac, hashlib, base64
port = int(sys.argv[1])
for mech in ('PLAIN', 'CRAM-MD5'):
    M = imaplib.IMAP4('127.0.0.1', port)
    if mech == 'PLAIN':
        typ, data = M.authenticate('PLAIN', lambda c: b'\\0alice@example.test\\0alice-password')
    else:
        typ, data = M.login_cram_md5('alice@example.test', 'alice-password')
    print(mech, typ)
    M.logout()
`;
    const run = await python(AUTH, String(gateway.ports.imap));
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('PLAIN OK');
    expect(run.stdout).toContain('CRAM-MD5 OK');
    // SASL-IR: PLAIN with the initial response on the command line (RFC 4959).
    const client = await LineClient.connect(gateway.ports.imap!);
    await client.readLine();
    const ir = Buffer.from('\u0000alice@example.test\u0000alice-password').toString('base64');
    client.write(`a AUTHENTICATE PLAIN ${ir}\r\n`);
    expect(await client.readLine()).toMatch(/^a OK /);
    client.close();
    // SCRAM-SHA-256 and DIGEST-MD5 through imapflow is not possible (it speaks PLAIN/LOGIN);
    // the engines share packages/protocol/sasl, whose tests run every mechanism.
  });
});

describe('imap-gateway limits', () => {
  const say = async (client: LineClient, line: string) => (await client.tagged(line)).at(-1)!;

  it('slows a session down past its command rate, and answers every command', async () => {
    const slow = await startGateway({ maxCommandsPerSecond: 20 });
    const client = await LineClient.connect(slow.ports.imap!);
    await client.readLine();
    // The burst is 200 (ten seconds' worth); 240 pipelined NOOPs leave 40 over it: 2 s.
    const started = Date.now();
    client.write(Array.from({ length: 240 }, (_, i) => `n${i} NOOP\r\n`).join(''));
    let answered = 0;
    while (answered < 240) if ((await client.readLine(10_000)).startsWith('n')) answered++;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_800);
    client.close();
  });

  it('logs out an idle session, and limits sessions per user and per address', async () => {
    const strict = await startGateway({
      idleTimeoutMs: 1_000,
      maxConnectionsPerUser: 2,
      maxConnectionsPerIp: 3,
    });
    const idle = await LineClient.connect(strict.ports.imap!);
    await idle.readLine();
    expect(await idle.readLine(5_000)).toBe('* BYE autologout: idle for too long');
    await idle.closedByServer();

    const clients: LineClient[] = [];
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await LineClient.connect(strict.ports.imap!);
      await c.readLine();
      clients.push(c);
      answers.push(await say(c, 'a LOGIN alice@example.test alice-password'));
    }
    expect(answers.slice(0, 2).every((a) => a.startsWith('a OK'))).toBe(true);
    expect(answers[2]).toBe('a NO [LIMIT] too many sessions of this user at once');
    const fourth = await LineClient.connect(strict.ports.imap!);
    expect(await fourth.readLine()).toMatch(/^\* BYE \[UNAVAILABLE\] too many connections from your address/);
    for (const c of clients) c.close();
  });

  it("frees the user's session slot on UNAUTHENTICATE (RFC 8437), and lets the connection log in as another", async () => {
    const strict = await startGateway({ maxConnectionsPerUser: 1 });
    const first = await LineClient.connect(strict.ports.imap!);
    await first.readLine();
    expect(await say(first, 'a LOGIN alice@example.test alice-password')).toMatch(/^a OK/);
    const second = await LineClient.connect(strict.ports.imap!);
    await second.readLine();
    expect(await say(second, 'b LOGIN alice@example.test alice-password')).toBe(
      'b NO [LIMIT] too many sessions of this user at once',
    );
    expect(await say(first, 'c UNAUTHENTICATE')).toBe('c OK UNAUTHENTICATE completed');
    expect(await say(second, 'd LOGIN alice@example.test alice-password')).toMatch(/^d OK/);
    expect(await say(first, 'e LOGIN mallory@example.test mallory-password')).toMatch(/^e OK/);
    expect(await say(first, 'f SELECT INBOX')).toMatch(/^f OK \[READ-WRITE\]/);
    first.close();
    second.close();
  });

  it('slows failed logins from one address across connections, then shows it the door', async () => {
    const guarded = await startGateway({
      abuseLimits: {
        maxAuthFailures: 3,
        maxErrors: 50,
        baseDelayMs: 100,
        maxDelayMs: 1_000,
        windowMs: 60_000,
        freeErrors: 3,
      },
    });
    const timings: number[] = [];
    let last = '';
    for (let i = 0; i < 3; i++) {
      const c = await LineClient.connect(guarded.ports.imap!);
      await c.readLine();
      const started = Date.now();
      last = await say(c, 'a LOGIN alice@example.test wrong-password');
      timings.push(Date.now() - started);
      if (i === 2) last += ` / ${await c.readLine().catch(() => 'closed')}`;
      c.close();
    }
    expect(timings[1]!).toBeGreaterThanOrEqual(180);
    expect(timings[2]!).toBeGreaterThanOrEqual(380);
    expect(last).toMatch(
      /^a NO \[AUTHENTICATIONFAILED\] authentication failed \/ \* BYE too many failed logins/,
    );
  });

  it('takes an APPEND up to the size limit and refuses a larger one before reading it', async () => {
    const small = await startGateway({ maxMessageSize: 2_000 });
    const c = await LineClient.connect(small.ports.imap!);
    await c.readLine();
    await say(c, 'a LOGIN alice@example.test alice-password');
    const fits = `Subject: fits\r\n\r\n${'x'.repeat(1_900)}\r\n`;
    c.write(`b APPEND temp {${fits.length}}\r\n`);
    expect(await c.readLine()).toMatch(/^\+ /);
    // The literal is not a command line: its answer is read directly.
    c.write(`${fits}\r\n`);
    expect(await c.readLine()).toMatch(/^b OK \[APPENDUID \d+ \d+\] /);
    expect(await say(c, 'c APPEND temp {2001}')).toMatch(/^c NO \[TOOBIG\]/);
    // LITERAL+: the bytes come anyway; they are read and thrown away, and the session goes on.
    c.write(`d APPEND temp {2001+}\r\n${'y'.repeat(2_001)}\r\n`);
    expect(await c.readLine()).toMatch(/^d NO \[TOOBIG\]/);
    expect(await say(c, 'e NOOP')).toBe('e OK NOOP completed');
    c.close();
  });
});

describe('imap-gateway: one user never reaches another', () => {
  it("cannot select, status, list, append to or copy into another user's mailboxes", async () => {
    const client = await LineClient.connect(gateway.ports.imap!);
    await client.readLine();
    const say = (line: string) => client.tagged(line);
    expect((await say('a LOGIN mallory@example.test mallory-password')).at(-1)).toMatch(/^a OK /);
    expect((await say('b SELECT work')).at(-1)).toMatch(/^b NO \[NONEXISTENT\]/);
    expect((await say('c STATUS work (MESSAGES)')).at(-1)).toMatch(/^c NO \[NONEXISTENT\]/);
    const list = await say('d LIST "" *');
    expect(list.join('\n')).not.toMatch(/work|private|temp/);
    expect((await say('e SELECT alice@example.test/INBOX')).at(-1)).toMatch(/^e NO/);
    expect((await say('f APPEND work {5+}\r\nhello')).at(-1)).toMatch(/^f NO \[TRYCREATE\]/);
    expect((await say('g SELECT INBOX')).at(-1)).toMatch(/^g OK \[READ-WRITE\]/);
    client.close();
  });
});

describe('imap-gateway: bad input', () => {
  it('answers BAD and NO and goes on, never dropping the connection', async () => {
    const client = await LineClient.connect(gateway.ports.imap!);
    expect(await client.readLine()).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 /);
    const say = async (line: string) => (await client.tagged(line)).at(-1)!;
    expect(await say('a1 SELECT INBOX')).toBe('a1 BAD log in first');
    expect(await say('a2 BOGUS')).toBe('a2 BAD unknown command');
    expect(await say('a3 LOGIN "unterminated')).toBe('a3 BAD invalid quoted string');
    expect(await say('a4 LOGIN alice@example.test wrong')).toBe(
      'a4 NO [AUTHENTICATIONFAILED] authentication failed',
    );
    expect(await say('a5 LOGIN alice@example.test alice-password')).toMatch(/^a5 OK /);
    expect(await say('a6 FETCH 1 FLAGS')).toBe('a6 BAD no mailbox selected');
    expect(await say('a7 SELECT work')).toMatch(/^a7 OK \[READ-WRITE\]/);
    expect(await say('a8 FETCH 999 FLAGS')).toBe('a8 BAD message sequence number out of range');
    expect(await say('a9 FETCH 1 (FLAGS BOGUS)')).toMatch(/^a9 BAD unknown fetch item/);
    expect(await say('b1 SEARCH FROM')).toMatch(/^b1 BAD /);
    expect(await say('b2 SEARCH CHARSET X-KLINGON TEXT x')).toMatch(/^b2 NO \[BADCHARSET/);
    expect(await say('b3 STORE 1 +FLAGS (\\Bogus)')).toBe('b3 BAD invalid flag');
    expect(await say(`b4 NOOP ${'x'.repeat(70_000)}`)).toBe(
      'b4 BAD [TOOBIG] the command is larger than 65536 octets',
    );
    expect(await say('b5 APPEND INBOX {999999999}')).toMatch(/^b5 NO \[TOOBIG\]/);
    expect(await say('b6 NOOP')).toBe('b6 OK NOOP completed');
    client.close();
  });
});

async function waitFor(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
