import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNatsBus, type MailBus, type MailboxChanged } from '@tegami/bus';
import { createLogger, createMetricsRegistry, ensureSelfSignedCertificate } from '@tegami/runtime';
import {
  addDomain,
  appendMessage,
  createAccount,
  findMailbox,
  listMessages,
  migrate,
  openStore,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, LineClient, runProgram, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PopGateway, type PopGatewayDeps, startPopGateway } from '../src/pop-gateway.js';

// The pop-gateway in-process against real Postgres and NATS, driven by real clients:
// python's poplib (plain, STLS, POP3_SSL) and curl.

const corpus = new URL('../../../../shared/corpus/', import.meta.url);
let store: StorePool;
let bus: MailBus;
const gateways: PopGateway[] = [];
let accountId: string;
let inboxId: string;
const stored: Buffer[] = [];

async function gateway(extra: Partial<PopGatewayDeps> = {}): Promise<PopGateway> {
  const tls = await ensureSelfSignedCertificate(mkdtempSync(join(tmpdir(), 'tegami-pop-tls-')), 'localhost');
  const g = await startPopGateway({
    pool: store.pool,
    bus,
    logger: createLogger({ service: 'pop-test', level: 'warn' }),
    metrics: createMetricsRegistry('pop-test'),
    hostname: 'pop.example.test',
    host: '127.0.0.1',
    popPort: 0,
    popsPort: 0,
    tls: { cert: tls.cert, key: tls.key },
    idleTimeoutMs: 60_000,
    maxConnections: 50,
    maxConnectionsPerIp: 20,
    allowPlaintextAuth: false,
    ...extra,
  });
  gateways.push(g);
  return g;
}

beforeAll(async () => {
  const database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 6 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  accountId = (await createAccount(store.pool, 'alice@example.test', 'alice-password')).id;
  inboxId = (await findMailbox(store.pool, accountId, 'INBOX'))!.id;
  const { readdirSync, readFileSync } = await import('node:fs');
  for (const file of readdirSync(corpus)
    .filter((f) => f.endsWith('.eml'))
    .sort()) {
    const raw = readFileSync(new URL(file, corpus));
    stored.push(raw);
    await appendMessage(store.pool, { mailboxId: inboxId, raw });
  }
  const nats = await testNats();
  bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
  await gateway();
});

afterAll(async () => {
  for (const g of gateways) await g.stop();
  await bus.close();
  await store.close();
});

const python = (script: string, ...args: string[]) =>
  runProgram('python3', ['-c', script, ...args], { cwd: process.cwd(), env: process.env, stdin: '' });

const RETRIEVE_ALL = `
import poplib, ssl, sys, base64
mode, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if mode == 'ssl':
    p = poplib.POP3_SSL('127.0.0.1', port, context=ctx)
else:
    p = poplib.POP3('127.0.0.1', port)
    if mode == 'stls':
        print('CAPA-BEFORE', sorted(p.capa().keys()))
        p.stls(context=ctx)
print('CAPA', sorted(p.capa().keys()))
p.user('alice@example.test'); p.pass_('alice-password')
count, size = p.stat()
print('STAT', count, size)
print('UIDL', ','.join(u.decode() for u in p.uidl()[1]))
for n in range(1, count + 1):
    resp, lines, octets = p.retr(n)
    print('MSG', n, octets, base64.b64encode(b'\\r\\n'.join(lines) + b'\\r\\n').decode())
p.quit()
`;

function messagesOf(stdout: string): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const m of stdout.matchAll(/^MSG (\d+) \d+ (\S+)$/gm))
    out.set(Number(m[1]), Buffer.from(m[2]!, 'base64'));
  return out;
}

/** What a POP3 client gets for a stored message: CRLF line ends, ending with one. */
function asReceived(raw: Buffer): Buffer {
  const crlf = Buffer.from(raw.toString('latin1').replace(/(?<!\r)\n/g, '\r\n'), 'latin1');
  return crlf.toString('latin1').endsWith('\r\n') ? crlf : Buffer.concat([crlf, Buffer.from('\r\n')]);
}

describe('pop-gateway with real clients', () => {
  it('serves every corpus message byte for byte to poplib over plain POP3, STLS and POP3S', async () => {
    const g = gateways[0]!;
    for (const [mode, port] of [
      ['plain', g.ports.pop!],
      ['stls', g.ports.pop!],
      ['ssl', g.ports.pops!],
    ] as const) {
      const run = await python(RETRIEVE_ALL, mode, String(port));
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^STAT ${stored.length} \\d+$`, 'm'));
      const uidl = /^UIDL (.*)$/m.exec(run.stdout)![1]!.split(',');
      expect(uidl).toHaveLength(stored.length);
      expect(new Set(uidl.map((u) => u.split(' ')[1])).size).toBe(stored.length);
      const got = messagesOf(run.stdout);
      for (const [i, raw] of stored.entries()) {
        expect(got.get(i + 1)?.equals(asReceived(raw)), `${mode} message ${i + 1}`).toBe(true);
      }
      if (mode === 'stls') {
        expect(run.stdout).toMatch(/CAPA-BEFORE .*'STLS'/);
        expect(run.stdout).toMatch(/^CAPA .*'USER'/m);
      }
    }
  });

  it('answers curl, with TOP through --request', async () => {
    const g = gateways[0]!;
    const list = await runProgram(
      'curl',
      ['-s', '--user', 'alice@example.test:alice-password', `pop3://127.0.0.1:${g.ports.pop}/`],
      {
        cwd: process.cwd(),
        env: process.env,
        stdin: '',
      },
    );
    expect(list.stdout.trim().split('\r\n')).toHaveLength(stored.length);
    const top = await runProgram(
      'curl',
      [
        '-s',
        '--user',
        'alice@example.test:alice-password',
        '--request',
        'TOP 1 0',
        `pop3://127.0.0.1:${g.ports.pop}/`,
      ],
      { cwd: process.cwd(), env: process.env, stdin: '' },
    );
    expect(top.stdout).toMatch(/\r\n\r\n$/);
    expect(top.stdout).toContain('Subject:');
  });

  it('answers curl over pop3s:// (implicit TLS)', async () => {
    const g = gateways[0]!;
    const list = await runProgram(
      'curl',
      ['-sk', '--user', 'alice@example.test:alice-password', `pop3s://127.0.0.1:${g.ports.pops}/1`],
      { cwd: process.cwd(), env: process.env, stdin: '' },
    );
    expect(list.code, list.stderr).toBe(0);
    expect(Buffer.from(list.stdout, 'latin1').equals(asReceived(stored[0]!))).toBe(true);
  });

  it('closes a session idle for longer than the timeout, keeping its deletions undone', async () => {
    const idle = await startPopGateway({
      pool: store.pool,
      bus,
      logger: createLogger({ service: 'pop-test', level: 'warn' }),
      metrics: createMetricsRegistry('pop-idle'),
      hostname: 'pop.example.test',
      host: '127.0.0.1',
      popPort: 0,
      popsPort: undefined,
      tls: undefined,
      idleTimeoutMs: 1_000,
      maxConnections: 5,
      maxConnectionsPerIp: 5,
      allowPlaintextAuth: false,
    });
    gateways.push(idle);
    const before = (await listMessages(store.pool, inboxId)).length;
    const client = await LineClient.connect(idle.ports.pop!);
    await client.readLine();
    client.write('USER alice@example.test\r\nPASS alice-password\r\nDELE 1\r\n');
    for (let i = 0; i < 3; i++) expect(await client.readLine()).toMatch(/^\+OK/);
    expect(await client.readLine(5_000)).toBe('-ERR autologout: idle too long');
    await client.closedByServer();
    expect(await listMessages(store.pool, inboxId)).toHaveLength(before);
  });

  it('holds the maildrop lock across two gateways and releases it when the session ends', async () => {
    const other = await gateway();
    const HOLD = `
import poplib, sys, time
a = poplib.POP3('127.0.0.1', int(sys.argv[1])); a.user('alice@example.test'); a.pass_('alice-password')
b = poplib.POP3('127.0.0.1', int(sys.argv[2])); b.user('alice@example.test')
try:
    b.pass_('alice-password'); print('SECOND OK')
except poplib.error_proto as e:
    print('SECOND', e.args[0].decode())
a.close()
time.sleep(0.5)
c = poplib.POP3('127.0.0.1', int(sys.argv[2])); c.user('alice@example.test'); print('THIRD', c.pass_('alice-password').decode()); c.quit()
`;
    const run = await python(HOLD, String(gateways[0]!.ports.pop), String(other.ports.pop));
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^SECOND -ERR \[IN-USE\] /m);
    expect(run.stdout).toMatch(/^THIRD \+OK alice@example\.test has \d+ messages$/m);
  });

  it('enforces LOGIN-DELAY when configured: advertised, a login too soon refused, and the lock let go', async () => {
    const delayed = await gateway({ loginDelayMs: 2_000 });
    const LOGINS = `
import poplib, sys, time
port, other = int(sys.argv[1]), int(sys.argv[2])
a = poplib.POP3('127.0.0.1', port)
print('CAPA', a.capa().get('LOGIN-DELAY'))
a.user('alice@example.test'); a.pass_('alice-password'); a.quit()
b = poplib.POP3('127.0.0.1', port); b.user('alice@example.test')
try:
    b.pass_('alice-password'); print('SOON OK')
except poplib.error_proto as e:
    print('SOON', e.args[0].decode())
c = poplib.POP3('127.0.0.1', other); c.user('alice@example.test'); print('OTHER', c.pass_('alice-password').decode()); c.quit()
time.sleep(2.2)
b.user('alice@example.test'); print('LATER', b.pass_('alice-password').decode()); b.quit()
`;
    const run = await python(LOGINS, String(delayed.ports.pop), String(gateways[0]!.ports.pop));
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain("CAPA ['2']");
    expect(run.stdout).toMatch(/^SOON -ERR \[LOGIN-DELAY\] at most one login every 2 seconds$/m);
    // The refused session did not keep the maildrop locked.
    expect(run.stdout).toMatch(/^OTHER \+OK alice@example\.test has \d+ messages$/m);
    expect(run.stdout).toMatch(/^LATER \+OK alice@example\.test has \d+ messages$/m);
  });

  it('deletes at QUIT only, and tells IMAP sessions through the bus', async () => {
    const events: MailboxChanged[] = [];
    const sub = bus.subscribeMailboxChanged(accountId, (e) => events.push(e));
    const before = await listMessages(store.pool, inboxId);
    const DROP = `
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1])); p.user('alice@example.test'); p.pass_('alice-password')
p.dele(1); p.close()
p = poplib.POP3('127.0.0.1', int(sys.argv[1])); p.user('alice@example.test'); p.pass_('alice-password')
print('AFTER DROP', p.stat()[0]); p.dele(1); p.quit()
`;
    const run = await python(DROP, String(gateways[0]!.ports.pop));
    expect(run.stdout).toContain(`AFTER DROP ${before.length}`);
    const after = await listMessages(store.pool, inboxId);
    expect(after.map((m) => m.uid)).toEqual(before.slice(1).map((m) => m.uid));
    const deadline = Date.now() + 5_000;
    while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(events[0]).toMatchObject({ kind: 'expunge', mailboxId: inboxId, uids: [before[0]!.uid] });
    sub.unsubscribe();
  });

  it('answers pipelined commands in order (PIPELINING), and bad input with -ERR', async () => {
    const client = await LineClient.connect(gateways[0]!.ports.pop!);
    expect(await client.readLine()).toMatch(/^\+OK /);
    const long = `NOOP ${'x'.repeat(300)}`;
    client.write(
      `USER alice@example.test\r\nPASS alice-password\r\nSTAT\r\nRETR 999\r\n${long}\r\nBOGUS\r\nNOOP\r\nQUIT\r\n`,
    );
    const lines: string[] = [];
    for (let i = 0; i < 8; i++) lines.push(await client.readLine());
    expect(lines[0]).toMatch(/^\+OK /);
    expect(lines[1]).toMatch(/^\+OK alice@example\.test has \d+ messages$/);
    expect(lines[2]).toMatch(/^\+OK \d+ \d+$/);
    expect(lines[3]).toBe('-ERR no such message');
    expect(lines[4]).toBe('-ERR command line too long');
    expect(lines[5]).toBe('-ERR unknown command');
    expect(lines[6]).toBe('+OK');
    expect(lines[7]).toMatch(/^\+OK .*signing off/);
    await client.closedByServer();
  });

  it('counts commands by verb and result for the dashboard', async () => {
    const metrics = createMetricsRegistry('pop-metrics');
    const counted = await gateway({ metrics });
    const client = await LineClient.connect(counted.ports.pop!);
    await client.readLine();
    client.write('USER alice@example.test\r\nPASS alice-password\r\nSTAT\r\nRETR 999\r\nBOGUS\r\nQUIT\r\n');
    for (let i = 0; i < 6; i++) await client.readLine();
    await client.closedByServer();
    const text = await metrics.metrics();
    expect(text).toMatch(
      /^tegami_pop_commands_total\{command="STAT",result="ok",service="pop-metrics"\} 1$/m,
    );
    expect(text).toMatch(
      /^tegami_pop_commands_total\{command="RETR",result="err",service="pop-metrics"\} 1$/m,
    );
    expect(text).toMatch(
      /^tegami_pop_commands_total\{command="INVALID",result="err",service="pop-metrics"\} 1$/m,
    );
    expect(text).toMatch(
      /^tegami_pop_command_duration_seconds_count\{service="pop-metrics",command="QUIT"\} 1$/m,
    );
  });

  it('slows failed logins from one address across connections, then shows it the door', async () => {
    const strict = await gateway({
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
      const client = await LineClient.connect(strict.ports.pop!);
      await client.readLine();
      client.write('USER alice@example.test\r\n');
      await client.readLine();
      const started = Date.now();
      client.write('PASS wrong-password\r\n');
      last = await client.readLine();
      timings.push(Date.now() - started);
      if (i === 2) last += ` / ${await client.readLine().catch(() => 'closed')}`;
      client.close();
    }
    expect(timings[1]!).toBeGreaterThanOrEqual(180);
    expect(timings[2]!).toBeGreaterThanOrEqual(380);
    expect(last).toMatch(/^-ERR \[AUTH\] authentication failed \/ -ERR \[AUTH\] too many failed logins/);
  });

  it('refuses connections over the per-address limit with -ERR, and takes them again after one closes', async () => {
    const limited = await startPopGateway({
      pool: store.pool,
      bus,
      logger: createLogger({ service: 'pop-test', level: 'warn' }),
      metrics: createMetricsRegistry('pop-limit'),
      hostname: 'pop.example.test',
      host: '127.0.0.1',
      popPort: 0,
      popsPort: undefined,
      tls: undefined,
      idleTimeoutMs: 60_000,
      maxConnections: 10,
      maxConnectionsPerIp: 2,
      allowPlaintextAuth: false,
    });
    gateways.push(limited);
    const first = await LineClient.connect(limited.ports.pop!);
    const second = await LineClient.connect(limited.ports.pop!);
    expect(await first.readLine()).toMatch(/^\+OK /);
    expect(await second.readLine()).toMatch(/^\+OK /);
    const third = await LineClient.connect(limited.ports.pop!);
    expect(await third.readLine()).toBe(
      '-ERR [SYS/TEMP] too many connections from your address, try again later',
    );
    await third.closedByServer();
    first.close();
    await new Promise((r) => setTimeout(r, 200));
    const fourth = await LineClient.connect(limited.ports.pop!);
    expect(await fourth.readLine()).toMatch(/^\+OK /);
    second.close();
    fourth.close();
  });

  it('runs the classic exchange: USER, PASS, STAT +OK 30 254238, UIDL, RETR 30 byte for byte, QUIT', async () => {
    const classic = await createAccount(store.pool, 'classic@example.test', 'classic-password');
    const inbox = (await findMailbox(store.pool, classic.id, 'INBOX'))!;
    // 30 messages of 254,238 octets in all, every line ending CRLF (what POP3 counts).
    const messages: Buffer[] = [];
    for (let i = 1; i <= 30; i++) {
      const size = i < 30 ? 8_400 : 254_238 - 29 * 8_400;
      const head = `From: bob@example.test\r\nSubject: classic ${i}\r\n\r\n`;
      const line = '.dot-stuffed line of the classic exchange\r\n';
      let body = '';
      while (head.length + body.length + line.length <= size) body += line;
      body += 'x'.repeat(size - head.length - body.length - 2) + '\r\n';
      messages.push(Buffer.from(head + body));
      await appendMessage(store.pool, { mailboxId: inbox.id, raw: messages.at(-1)! });
    }
    const client = await LineClient.connect(gateways[0]!.ports.pop!);
    expect(await client.readLine()).toMatch(/^\+OK /);
    client.write('USER classic@example.test\r\n');
    expect(await client.readLine()).toMatch(/^\+OK/);
    client.write('PASS classic-password\r\n');
    expect(await client.readLine()).toBe('+OK classic@example.test has 30 messages');
    client.write('STAT\r\n');
    expect(await client.readLine()).toBe('+OK 30 254238');
    client.write('UIDL\r\n');
    expect(await client.readLine()).toMatch(/^\+OK/);
    const uids: string[] = [];
    for (let line = await client.readLine(); line !== '.'; line = await client.readLine()) uids.push(line);
    expect(uids).toHaveLength(30);
    expect(new Set(uids.map((u) => u.split(' ')[1])).size).toBe(30);
    client.write('RETR 30\r\n');
    expect(await client.readLine()).toMatch(/^\+OK/);
    const lines: string[] = [];
    for (let line = await client.readLine(); line !== '.'; line = await client.readLine()) {
      lines.push(line.startsWith('..') ? line.slice(1) : line);
    }
    expect(Buffer.from(`${lines.join('\r\n')}\r\n`).equals(messages[29]!)).toBe(true);
    client.write('QUIT\r\n');
    expect(await client.readLine()).toMatch(/^\+OK /);
    await client.closedByServer();
  });

  it('serves fetchmail, keeping the mail with keep and removing it without', async () => {
    const { chmodSync, mkdtempSync: tmp, readdirSync, writeFileSync } = await import('node:fs');
    const dir = tmp(join(tmpdir(), 'tegami-fetchmail-'));
    const count = (await listMessages(store.pool, inboxId)).length;
    const fetch = async (keep: boolean) => {
      const rc = join(dir, `rc-${keep}`);
      writeFileSync(
        rc,
        [
          'set no bouncemail',
          `poll 127.0.0.1 with proto POP3 port ${gateways[0]!.ports.pop}`,
          '  user "alice@example.test" there with password "alice-password" is "root" here',
          `  mda "/bin/sh -c 'cat > ${dir}/${keep ? 'kept' : 'taken'}.$$'"`,
          "  sslproto ''",
          keep ? '  keep' : '  no keep',
          '',
        ].join('\n'),
      );
      chmodSync(rc, 0o600);
      return runProgram('fetchmail', ['-f', rc, '-N', '-d0', '--nosyslog', '-a'], {
        cwd: dir,
        env: process.env,
        stdin: '',
      });
    };
    const kept = await fetch(true);
    expect(kept.code, kept.stdout + kept.stderr).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('kept.'))).toHaveLength(count);
    expect(await listMessages(store.pool, inboxId)).toHaveLength(count);
    const taken = await fetch(false);
    expect(taken.code, taken.stdout + taken.stderr).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('taken.'))).toHaveLength(count);
    expect(await listMessages(store.pool, inboxId)).toHaveLength(0);
  });
});
