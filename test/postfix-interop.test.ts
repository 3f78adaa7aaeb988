import { freePort, runProgram, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';
import { type PostfixInstance, postfixInstalled, startPostfix } from './support/postfix.js';

// Tegami and Postfix (Debian's, configured here on loopback) relay to each other: Tegami
// finds Postfix's domain by MX through dns-resolver, Postfix reaches Tegami's domain by
// its transport map.

let dns: TestDnsServer;
let site: MailSite;
let postfix: PostfixInstance;
let mxPort: number;

beforeAll(async () => {
  if (!postfixInstalled()) throw new Error('these tests need Postfix (apt-get install postfix) and root');
  mxPort = await freePort();
  dns = await startTestDnsServer({
    records: {
      'p.test': { mx: [{ preference: 10, exchange: 'mx.p.test' }] },
      'mx.p.test': { a: ['127.0.0.11'] },
    },
  });
  postfix = startPostfix({
    domain: 'p.test',
    ip: '127.0.0.11',
    port: mxPort,
    users: ['paul'],
    relays: { 't.test': `127.0.0.12:${mxPort}` },
  });
  site = await startMailSite({
    domain: 't.test',
    ip: '127.0.0.12',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password', zoe: 'zoe-password' },
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  postfix?.stop();
  await dns?.stop();
});

async function swaks(args: string[]): Promise<string> {
  const run = await runProgram('swaks', args, { cwd: process.cwd(), env: process.env, stdin: '' });
  if (run.code !== 0) throw new Error(`swaks failed:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

describe('Postfix interop', () => {
  it('Tegami relays to a Postfix domain', async () => {
    await swaks([
      '--server',
      `${site.ip}:${site.submissionPort}`,
      '--auth',
      'PLAIN',
      '--auth-user',
      'alice@t.test',
      '--auth-password',
      'alice-password',
      '--from',
      'alice@t.test',
      '--to',
      'paul@p.test',
      '--header',
      'Subject: to postfix',
    ]);
    const deadline = Date.now() + 30_000;
    while (postfix.maildir('paul').length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const [message] = postfix.maildir('paul');
    expect(message, postfix.log() + site.worker().output().slice(-2000)).toBeDefined();
    expect(message).toContain('Subject: to postfix');
    expect(message).toMatch(/Received: from mx\.t\.test \(.*127\.0\.0\.12.*\)\s+by mx\.p\.test \(Postfix\)/);
    expect(message).toMatch(/Return-Path: <alice@t\.test>/);
  });

  it('Postfix relays to a Tegami domain', async () => {
    await swaks([
      '--server',
      `127.0.0.11:${mxPort}`,
      '--from',
      'someone@p.test',
      '--to',
      'zoe@t.test',
      '--header',
      'Subject: from postfix',
    ]);
    const [message] = await site.waitForInbox('zoe@t.test', 1, 30_000);
    expect(message).toContain('Subject: from postfix');
    expect(message).toMatch(/^Return-Path: <someone@p\.test>\r\nDelivered-To: zoe@t\.test\r\n/);
    // Our hop names Postfix's, which names the swaks client's.
    expect(message).toMatch(/Received: from mx\.p\.test \(.*127\.0\.0\.11.*\)\s+by mx\.t\.test/);
    expect(message).toMatch(/Received: from .*\s+by mx\.p\.test \(Postfix\)/);
  });
});
