import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNatsBus, type MailBus } from '@tegami/bus';
import { createLogger, createMetricsRegistry, ensureSelfSignedCertificate } from '@tegami/runtime';
import {
  addDomain,
  createAccount,
  getSieveScript,
  listSieveScripts,
  migrate,
  openStore,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, LineClient, testNats } from '@tegami/testing';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImapGateway, type ImapGatewayDeps, startImapGateway } from '../src/imap-gateway.js';

// The ManageSieve listener of the imap-gateway, in-process against real Postgres and NATS,
// driven over a socket: the scripts land in the store, the limits and the login penalties
// are the gateway's, TLS is the IMAP certificate. test/managesieve.test.ts drives it with
// sieve-connect, and Dovecot's managesieved beside it.

let store: StorePool;
let bus: MailBus;
let aliceId: string;
const gateways: ImapGateway[] = [];
const plain = (user: string, password: string) => Buffer.from(`\0${user}\0${password}`).toString('base64');

async function startGateway(
  extra: Partial<ImapGatewayDeps> = {},
): Promise<{ gateway: ImapGateway; metrics: Registry }> {
  const tls = await ensureSelfSignedCertificate(
    mkdtempSync(join(tmpdir(), 'tegami-sieve-tls-')),
    'localhost',
  );
  const metrics = createMetricsRegistry('managesieve-test');
  const gateway = await startImapGateway({
    pool: store.pool,
    bus,
    logger: createLogger({ service: 'managesieve-test', level: 'warn' }),
    metrics,
    hostname: 'imap.example.test',
    host: '127.0.0.1',
    imapPort: 0,
    imapsPort: undefined,
    managesievePort: 0,
    tls: { cert: tls.cert, key: tls.key },
    idleTimeoutMs: 60_000,
    maxConnections: 100,
    maxConnectionsPerIp: 50,
    maxConnectionsPerUser: 20,
    allowPlaintextAuth: false,
    maxMessageSize: 10 * 1024 * 1024,
    sieveScriptLimits: { maxScripts: 2, maxBytes: 1000 },
    ...extra,
  });
  gateways.push(gateway);
  return { gateway, metrics };
}

/** Lines up to and including the response (OK, NO or BYE) that ends an answer. */
async function answer(client: LineClient): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const line = await client.readLine();
    lines.push(line);
    if (/^(OK|NO|BYE)( |$)/.test(line)) return lines;
  }
}

async function connect(gateway: ImapGateway): Promise<{ client: LineClient; greeting: string[] }> {
  const client = await LineClient.connect(gateway.ports.managesieve!);
  return { client, greeting: await answer(client) };
}

async function send(client: LineClient, command: string): Promise<string[]> {
  client.write(command);
  return answer(client);
}

beforeAll(async () => {
  const database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 8 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  aliceId = (await createAccount(store.pool, 'alice@example.test', 'alice-password')).id;
  await createAccount(store.pool, 'mallory@example.test', 'mallory-password');
  const nats = await testNats();
  bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
}, 60_000);

afterAll(async () => {
  for (const g of gateways) await g.stop();
  await bus?.close();
  await store?.close();
});

describe('the ManageSieve listener', () => {
  it('keeps scripts in the store: STARTTLS, login, PUTSCRIPT, SETACTIVE, LISTSCRIPTS, GETSCRIPT', async () => {
    const { gateway, metrics } = await startGateway();
    const { client, greeting } = await connect(gateway);
    expect(greeting).toContain('"STARTTLS"');
    expect(greeting.at(-1)).toBe('OK "imap.example.test ManageSieve ready"');
    expect(await send(client, 'STARTTLS\r\n')).toEqual(['OK "Begin TLS negotiation now"']);
    await client.startTls();
    const again = await answer(client);
    expect(again).not.toContain('"STARTTLS"');
    expect(again).toContain('"SASL" "SCRAM-SHA-256 PLAIN LOGIN"');
    expect(
      await send(client, `AUTHENTICATE "PLAIN" "${plain('alice@example.test', 'alice-password')}"\r\n`),
    ).toEqual(['OK "Logged in"']);
    const script = 'require "fileinto";\r\nif header :contains "subject" "[list]" { fileinto "Lists"; }\r\n';
    expect(await send(client, `PUTSCRIPT "lists" {${Buffer.byteLength(script)}+}\r\n${script}\r\n`)).toEqual([
      'OK "Putscript completed"',
    ]);
    expect(await send(client, 'SETACTIVE "lists"\r\n')).toEqual(['OK "Setactive completed"']);
    expect(await getSieveScript(store.pool, aliceId, 'lists')).toMatchObject({
      content: script,
      active: true,
    });
    expect(await send(client, 'LISTSCRIPTS\r\n')).toEqual(['"lists" ACTIVE', 'OK "Listscripts completed"']);
    expect(await send(client, 'GETSCRIPT "lists"\r\n')).toEqual([
      `{${Buffer.byteLength(script)}}`,
      'require "fileinto";',
      'if header :contains "subject" "[list]" { fileinto "Lists"; }',
      '',
      'OK "Getscript completed"',
    ]);
    expect(await send(client, 'DELETESCRIPT "lists"\r\n')).toEqual([
      'NO (ACTIVE) "the active script cannot be deleted"',
    ]);
    expect(await send(client, 'LOGOUT\r\n')).toEqual(['OK "Logout completed"']);
    await client.closedByServer();
    const counted = await metrics.getSingleMetricAsString('tegami_managesieve_commands_total');
    expect(counted).toContain('command="PUTSCRIPT",result="ok",service="managesieve-test"} 1');
    expect(await metrics.getSingleMetricAsString('tegami_managesieve_logins_total')).toContain(
      'result="ok",service="managesieve-test"} 1',
    );
  });

  it('holds each user to the configured number and size of scripts', async () => {
    const { gateway } = await startGateway();
    const { client } = await connect(gateway);
    await send(client, `AUTHENTICATE "PLAIN" "${plain('alice@example.test', 'alice-password')}"\r\n`);
    await send(client, 'PUTSCRIPT "a" "keep;"\r\n');
    const scripts = (await listSieveScripts(store.pool, aliceId)).length;
    for (let i = scripts; i < 2; i++) await send(client, `PUTSCRIPT "extra${i}" "keep;"\r\n`);
    expect(await send(client, 'PUTSCRIPT "one-too-many" "keep;"\r\n')).toEqual([
      'NO (QUOTA/MAXSCRIPTS) "you have as many scripts as you may keep"',
    ]);
    const big = `# ${'x'.repeat(1000)}\r\nkeep;\r\n`;
    expect(await send(client, `PUTSCRIPT "a" {${big.length}+}\r\n${big}\r\n`)).toEqual([
      'NO (QUOTA/MAXSIZE) "scripts may be 1000 octets at most"',
    ]);
    expect(await send(client, 'HAVESPACE "a" 999\r\n')).toEqual(['OK "Putscript would succeed"']);
    client.close();
  });

  it('answers a syntax error with its line, and stores nothing', async () => {
    const { gateway } = await startGateway();
    const { client } = await connect(gateway);
    await send(client, `AUTHENTICATE "PLAIN" "${plain('alice@example.test', 'alice-password')}"\r\n`);
    const broken = 'require "fileinto";\r\n\r\nif header :is "subject" "x" {\r\n  fileinto "X"\r\n}\r\n';
    const [line] = await send(client, `PUTSCRIPT "broken" {${broken.length}+}\r\n${broken}\r\n`);
    expect(line).toMatch(/^NO "line [45], column \d+: /);
    expect(await getSieveScript(store.pool, aliceId, 'broken')).toBeUndefined();
    client.close();
  });

  it('penalises failed logins as IMAP does, and shows a guesser the door', async () => {
    const { gateway } = await startGateway({
      abuseLimits: {
        maxAuthFailures: 2,
        maxErrors: 50,
        baseDelayMs: 1,
        maxDelayMs: 1,
        windowMs: 60_000,
        freeErrors: 3,
      },
    });
    const { client } = await connect(gateway);
    const wrong = `AUTHENTICATE "PLAIN" "${plain('mallory@example.test', 'guess')}"\r\n`;
    expect(await send(client, wrong)).toEqual(['NO "Authentication failed"']);
    expect(await send(client, wrong)).toEqual(['NO "Authentication failed"']);
    expect(await client.readLine()).toBe('BYE "Too many failed logins, try later"');
    await client.closedByServer();
  });

  it('logs out a client idle for too long, and says BYE (TRYLATER) on shutdown', async () => {
    const { gateway } = await startGateway({ idleTimeoutMs: 1000 });
    const idle = await connect(gateway);
    expect(await idle.client.readLine(15_000)).toBe('BYE "Disconnected for inactivity"');
    await idle.client.closedByServer();
    const busy = await connect(gateway);
    gateways.splice(gateways.indexOf(gateway), 1);
    await gateway.stop();
    expect(await busy.client.readLine()).toBe('BYE (TRYLATER) "server shutting down"');
    await busy.client.closedByServer();
  });
});
