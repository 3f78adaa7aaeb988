import { randomBytes } from 'node:crypto';
import { connectNatsBus, type MailBus } from '@tegami/bus';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import {
  type ActivityCounter,
  addDomain,
  createAccount,
  createActivityCounter,
  createAdminToken,
  createSecretsKeyring,
  migrate,
  openStore,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, LineClient, type TestDatabase, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, startAdminServer } from '../packages/admin/src/admin-server.js';
import { caller } from '../packages/admin/src/test-admin-server.js';
import { type ImapGateway, startImapGateway } from '../services/imap-gateway/src/imap-gateway.js';
import { type PopGateway, startPopGateway } from '../services/pop-gateway/src/pop-gateway.js';
import { type SmtpIngress, startSmtpIngress } from '../services/smtp-ingress/src/smtp-ingress.js';
import type { SpamScanner, SpamVerdict } from '../services/smtp-ingress/src/spam-scan.js';
import { authPlain, ehlo, sendData } from '../services/smtp-ingress/test/smtp-client.js';

// The dashboard's logins and spam verdicts, from the wire to /api/v1/stats: real logins over
// IMAP, ManageSieve, POP3 and SMTP AUTH, and messages to port 25 that a spam filter (a
// stand-in that answers by Subject) lets through, files as junk or refuses. IMAP, ManageSieve
// and smtp-ingress count into one shared counter (as in the standalone); the pop-gateway keeps
// its own, which its stop() writes.

const USER = 'alice@example.test';
const PASSWORD = 'alice-password';

let database: TestDatabase;
let store: StorePool;
let bus: MailBus;
let activity: ActivityCounter;
let imap: ImapGateway;
let pop: PopGateway;
let popStopped = false;
let smtp: SmtpIngress;
let admin: AdminServer;
let token: string;

/** rspamd's actions, chosen by the message's Subject. */
const scanner: SpamScanner = {
  async check(input) {
    const subject = /^Subject: (.*)$/m.exec(input.message.toString('latin1'))?.[1]?.trim();
    const action: SpamVerdict['action'] =
      subject === 'reject me' ? 'reject' : subject === 'junk me' ? 'add header' : 'no action';
    return {
      action,
      score: action === 'no action' ? 0 : 20,
      requiredScore: 15,
      symbols: [],
      addHeaders: [],
      removeHeaders: [],
    };
  },
};

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 8 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  await createAccount(store.pool, USER, PASSWORD);
  const nats = await testNats();
  bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
  // Written only when the test says so.
  activity = createActivityCounter(store.pool, { flushIntervalMs: 3_600_000 });
  const common = {
    pool: store.pool,
    bus,
    logger: createLogger({ service: 'activity-test', level: 'warn' }),
    metrics: createMetricsRegistry('activity-test'),
    host: '127.0.0.1',
    tls: undefined,
  };
  imap = await startImapGateway({
    ...common,
    hostname: 'imap.example.test',
    imapPort: 0,
    imapsPort: undefined,
    idleTimeoutMs: 60_000,
    maxConnections: 20,
    maxConnectionsPerIp: 20,
    maxConnectionsPerUser: 10,
    allowPlaintextAuth: false,
    maxMessageSize: 1024 * 1024,
    managesievePort: 0,
    activity,
  });
  pop = await startPopGateway({
    ...common,
    metrics: createMetricsRegistry('activity-test-pop'),
    hostname: 'pop.example.test',
    popPort: 0,
    popsPort: undefined,
    idleTimeoutMs: 60_000,
    maxConnections: 20,
    maxConnectionsPerIp: 20,
    allowPlaintextAuth: false,
  });
  smtp = await startSmtpIngress({
    ...common,
    metrics: createMetricsRegistry('activity-test-smtp'),
    hostname: 'mx.example.test',
    listeners: [
      { name: 'mx', role: 'mx', port: 0, implicitTls: false },
      { name: 'submission', role: 'submission', port: 0, implicitTls: false },
    ],
    maxMessageBytes: 1024 * 1024,
    maxRecipients: 5,
    maxConnections: 20,
    maxConnectionsPerAddress: 20,
    commandTimeoutMs: 10_000,
    dataTimeoutMs: 10_000,
    allowPlaintextAuth: false,
    inbound: { auth: undefined, spam: { scanner, timeoutMs: 5_000, failure: 'accept' } },
    activity,
  });
  admin = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    pool: store.pool,
    logger: createLogger({ service: 'activity-test-admin', level: 'warn' }),
    secretsKeyring: createSecretsKeyring([randomBytes(32)]),
  });
  token = (await createAdminToken(store.pool, 'ops', 'read')).token;
}, 60_000);

afterAll(async () => {
  await admin?.stop();
  await smtp?.stop();
  await imap?.stop();
  if (!popStopped) await pop?.stop();
  await activity?.stop();
  await bus?.close();
  await store?.close();
  await database?.drop();
});

async function imapLogin(password: string): Promise<string> {
  const client = await LineClient.connect(imap.ports.imap!);
  await client.readLine();
  const answer = await client.tagged(`a1 LOGIN ${USER} "${password}"`);
  client.close();
  return answer.at(-1)!;
}

async function managesieveLogin(password: string): Promise<string> {
  const client = await LineClient.connect(imap.ports.managesieve!);
  // The capability listing ends with OK.
  while (!(await client.readLine()).startsWith('OK')) {}
  client.write(`AUTHENTICATE "PLAIN" "${Buffer.from(`\0${USER}\0${password}`).toString('base64')}"\r\n`);
  const answer = await client.readLine();
  client.close();
  return answer;
}

async function popLogin(password: string): Promise<string> {
  const client = await LineClient.connect(pop.ports.pop!);
  await client.readLine();
  client.write(`USER ${USER}\r\n`);
  await client.readLine();
  client.write(`PASS ${password}\r\n`);
  const answer = await client.readLine();
  client.write('QUIT\r\n');
  await client.readLine();
  client.close();
  return answer;
}

async function sendToMx(subject: string): Promise<number> {
  const client = await ehlo(smtp.ports.mx!);
  await client.command('MAIL FROM:<someone@sender.test>');
  await client.command(`RCPT TO:<${USER}>`);
  const reply = await sendData(
    client,
    `From: someone@sender.test\r\nTo: ${USER}\r\nSubject: ${subject}\r\n\r\nHi.\r\n`,
  );
  await client.command('QUIT');
  client.close();
  return reply.code;
}

describe('/api/v1/stats', () => {
  it('counts the logins of every protocol and the spam verdicts, once written', async () => {
    expect(await imapLogin(PASSWORD)).toMatch(/^a1 OK/);
    expect(await imapLogin(PASSWORD)).toMatch(/^a1 OK/);
    expect(await imapLogin('wrong')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
    expect(await managesieveLogin(PASSWORD)).toMatch(/^OK/);
    expect(await popLogin(PASSWORD)).toMatch(/^\+OK/);
    expect(await popLogin('wrong')).toMatch(/^-ERR/);
    const submission = await ehlo(smtp.ports.submission!);
    expect((await authPlain(submission, USER, 'wrong')).code).toBe(535);
    expect((await authPlain(submission, USER, PASSWORD)).code).toBe(235);
    submission.close();
    expect(await sendToMx('hello')).toBe(250);
    expect(await sendToMx('junk me')).toBe(250);
    expect(await sendToMx('reject me')).toBe(550);
    expect(await sendToMx('also fine')).toBe(250);

    const stats = caller(admin.url);
    // Counted in memory, not yet written: the dashboard does not see them yet. (The
    // pop-gateway's own counter writes every 5 s: its counts may be in already.)
    const before = await stats('GET', '/api/v1/stats', { token });
    expect(before.status).toBe(200);
    expect(before.body.last24h.loginsByProtocol.imap).toEqual({ ok: 0, failed: 0 });

    await activity.flush();
    // The pop-gateway writes its own counts when it stops.
    popStopped = true;
    await pop.stop();
    const after = await stats('GET', '/api/v1/stats', { token });
    expect(after.status).toBe(200);
    expect(after.body.last24h).toEqual(
      expect.objectContaining({
        received: 3,
        loginsOk: 5,
        loginsFailed: 3,
        loginsByProtocol: {
          imap: { ok: 2, failed: 1 },
          managesieve: { ok: 1, failed: 0 },
          pop3: { ok: 1, failed: 1 },
          smtp: { ok: 1, failed: 1 },
        },
        spam: { ham: 2, spam: 1, rejected: 1 },
      }),
    );
  });
});
