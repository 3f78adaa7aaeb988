import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { traceMessages } from '@tegami/store';
import {
  createTestCa,
  freePort,
  runProgram,
  type ScriptedPeer,
  startScriptedPeer,
  startTestDnsServer,
  type TestCa,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';

// REQUIRETLS (RFC 8689) end to end, every part a real process: Python's smtplib submits over
// STARTTLS with REQUIRETLS on MAIL FROM, smtp-ingress tags the message, and the
// delivery-worker relays it only where the RFC allows, or returns it. The remote domains'
// MX hosts are scripted MTAs with certificates from the test's CA (the worker's
// TEGAMI_DELIVERY_TLS_CA_FILE); some publish MTA-STS enforce policies, served over HTTPS.

const POLICY_HOST = '127.0.0.45';
let dns: TestDnsServer;
let ca: TestCa;
let site: MailSite;
let mxPort: number;
let https: Server;
const peers: ScriptedPeer[] = [];

/** A TLS-capable MTA for `name` on `address`, its certificate from the test CA (expired if so). */
async function peer(
  name: string,
  address: string,
  offersRequireTls: boolean,
  expired = false,
): Promise<ScriptedPeer> {
  const dates = expired
    ? { notBefore: new Date(Date.now() - 20 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) }
    : {};
  const started = await startScriptedPeer(
    { tls: await ca.issue([name], dates), ...(offersRequireTls ? { extensions: ['REQUIRETLS'] } : {}) },
    address,
    mxPort,
  );
  peers.push(started);
  return started;
}

/** DNS for `domain`: its MX at `address`, and an MTA-STS policy listing it (TXT, policy host). */
function stsDomain(domain: string, address: string) {
  return {
    [domain]: { mx: [{ preference: 10, exchange: `mx.${domain}` }] },
    [`mx.${domain}`]: { a: [address] },
    [`_mta-sts.${domain}`]: { txt: ['v=STSv1; id=20261203;'] },
    [`mta-sts.${domain}`]: { a: [POLICY_HOST] },
  };
}

let unsigned: ScriptedPeer;
let good: ScriptedPeer;
let lacking: ScriptedPeer;
let expired: ScriptedPeer;
let signed: ScriptedPeer;

beforeAll(async () => {
  mxPort = await freePort();
  ca = await createTestCa();
  const stsDomains = ['good.test', 'lacking.test', 'expired.test'];
  const policyCert = await ca.issue(stsDomains.map((d) => `mta-sts.${d}`));
  https = createServer({ key: policyCert.key, cert: policyCert.cert }, (req, res) => {
    const domain = String(req.headers.host)
      .replace(/:\d+$/, '')
      .replace(/^mta-sts\./, '');
    if (req.url !== '/.well-known/mta-sts.txt' || !stsDomains.includes(domain))
      return void res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'text/plain' })
      .end(`version: STSv1\r\nmode: enforce\r\nmx: mx.${domain}\r\nmax_age: 86400\r\n`);
  });
  await new Promise<void>((resolve) => https.listen(0, POLICY_HOST, resolve));
  dns = await startTestDnsServer({
    records: {
      'a.test': { mx: [{ preference: 10, exchange: 'mx.a.test' }] },
      'mx.a.test': { a: ['127.0.0.2'] },
      // No DNSSEC, no MTA-STS: nothing vouches for this MX host.
      'unsigned.test': { mx: [{ preference: 10, exchange: 'mx.unsigned.test' }] },
      'mx.unsigned.test': { a: ['127.0.0.41'] },
      ...stsDomain('good.test', '127.0.0.42'),
      ...stsDomain('lacking.test', '127.0.0.43'),
      ...stsDomain('expired.test', '127.0.0.44'),
      // DNSSEC-signed (the upstream sets AD, as a validating resolver does), no TLSA, no MTA-STS.
      'signed.test': { mx: [{ preference: 10, exchange: 'mx.signed.test' }], authenticated: true },
      'mx.signed.test': { a: ['127.0.0.46'], authenticated: true },
    },
  });
  unsigned = await peer('mx.unsigned.test', '127.0.0.41', true);
  good = await peer('mx.good.test', '127.0.0.42', true);
  lacking = await peer('mx.lacking.test', '127.0.0.43', false);
  expired = await peer('mx.expired.test', '127.0.0.44', true, true);
  signed = await peer('mx.signed.test', '127.0.0.46', true);
  const dir = mkdtempSync(join(tmpdir(), 'tegami-requiretls-'));
  const own = await ca.issue(['mx.a.test']);
  writeFileSync(join(dir, 'cert.pem'), own.cert);
  writeFileSync(join(dir, 'key.pem'), own.key);
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  site = await startMailSite({
    domain: 'a.test',
    ip: '127.0.0.2',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password', bob: 'bob-password' },
    env: { TEGAMI_TLS_CERT_FILE: join(dir, 'cert.pem'), TEGAMI_TLS_KEY_FILE: join(dir, 'key.pem') },
    workerEnv: {
      TEGAMI_DELIVERY_TLS_CA_FILE: join(dir, 'ca.pem'),
      TEGAMI_DELIVERY_MTA_STS_PORT: String((https.address() as AddressInfo).port),
      TEGAMI_DELIVERY_MTA_STS_TIMEOUT_MS: '5s',
      TEGAMI_DELIVERY_RETRY_MIN_MS: '1m',
    },
  });
}, 180_000);

afterAll(async () => {
  await site?.stop();
  for (const p of peers) await p.stop();
  await dns?.stop();
  https?.closeAllConnections();
  await new Promise((resolve) => https?.close(resolve));
});

/** alice submits over STARTTLS with Python's smtplib; the queue id. */
async function submit(to: string, mailOptions: readonly string[], header = ''): Promise<string> {
  const script = `
import json, smtplib, ssl, sys
t = json.load(sys.stdin)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(t['host'], t['port'], local_hostname='client.test', timeout=20)
s.starttls(context=ctx)
s.login('alice@a.test', 'alice-password')
print(*s.mail('alice@a.test', t['mailOptions']))
print(*s.rcpt(t['to']))
code, text = s.data(t['message'].encode())
print(code, text.decode())
s.quit()
`;
  const message = `${header}From: <alice@a.test>\r\nTo: <${to}>\r\nSubject: for your eyes\r\n\r\nSECRET-PAYLOAD\r\n`;
  const run = await runProgram('python3', ['-c', script], {
    cwd: process.cwd(),
    env: process.env,
    stdin: JSON.stringify({ host: site.ip, port: site.submissionPort, to, mailOptions, message }),
  });
  const queueId = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)$/m.exec(run.stdout)?.[1];
  if (run.code !== 0 || !queueId) throw new Error(`smtplib failed:\n${run.stdout}${run.stderr}`);
  return queueId;
}

async function noticeAbout(queueId: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = (await site.inbox('alice@a.test')).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`));
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no notice about ${queueId}:\n${site.worker().output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('REQUIRETLS end to end (RFC 8689)', () => {
  it('is offered after STARTTLS, as swaks shows', async () => {
    const run = await runProgram(
      'swaks',
      ['--server', `${site.ip}:${site.submissionPort}`, '--tls', '--quit-after', 'EHLO'],
      { cwd: process.cwd(), env: process.env, stdin: '' },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const afterTls = run.stdout.slice(run.stdout.indexOf('TLS started'));
    expect(run.stdout.slice(0, run.stdout.indexOf('TLS started'))).not.toContain('REQUIRETLS');
    expect(afterTls).toContain('<~  250-REQUIRETLS');
  });

  it('delivers a REQUIRETLS submission to a local user', async () => {
    const queueId = await submit('bob@a.test', ['REQUIRETLS']);
    const inbox = await site.waitForInbox('bob@a.test', 1);
    expect(inbox.some((m) => m.includes(queueId) && m.includes('SECRET-PAYLOAD'))).toBe(true);
  });

  it('returns it with 5.7.30, headers only, when no MX host is authenticated, and never connects', async () => {
    const queueId = await submit('carol@unsigned.test', ['REQUIRETLS']);
    expect(
      (await site.store.pool.query('SELECT require_tls FROM queue WHERE id = $1', [queueId])).rows,
    ).toEqual([{ require_tls: true }]);
    const notice = await noticeAbout(queueId);
    expect(notice).toContain('Action: failed');
    expect(notice).toContain('Status: 5.7.30');
    expect(notice).toContain('MX host mx.unsigned.test is not authenticated by DNSSEC or MTA-STS');
    expect(notice).toContain('Subject: for your eyes');
    expect(notice).not.toContain('SECRET-PAYLOAD');
    expect(unsigned.connections()).toBe(0);
  });

  it('relays an ordinary message to the same MX host at once', async () => {
    await submit('carol@unsigned.test', []);
    const deadline = Date.now() + 30_000;
    while (unsigned.transactions.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(unsigned.transactions).toHaveLength(1);
    expect(unsigned.transactions[0]!.mailParams).not.toContain('REQUIRETLS');
  });

  it('relays it over validated TLS to an MX host its MTA-STS policy lists, with REQUIRETLS on MAIL FROM', async () => {
    const queueId = await submit('carol@good.test', ['REQUIRETLS']);
    const transaction = await waitFor(() => good.transactions.find((t) => t.data.includes(queueId)));
    expect(transaction.secure).toBe(true);
    expect(transaction.mailFrom).toBe('alice@a.test');
    expect(transaction.mailParams.split(' ')).toContain('REQUIRETLS');
    expect(transaction.data.toString()).toContain('SECRET-PAYLOAD');
    expect((await site.tegami(['trace', queueId])).stdout).toMatch(/to <carol@good\.test>: relayed/);
  });

  it('relays it to an MX host found through DNSSEC, with no MTA-STS policy, over WebPKI-valid TLS', async () => {
    const queueId = await submit('carol@signed.test', ['REQUIRETLS']);
    const transaction = await waitFor(() => signed.transactions.find((t) => t.data.includes(queueId)));
    expect(transaction.secure).toBe(true);
    expect(transaction.mailParams.split(' ')).toContain('REQUIRETLS');
  });

  it('returns it with 5.7.30 when the MX host does not offer REQUIRETLS, having sent it nothing', async () => {
    const queueId = await submit('carol@lacking.test', ['REQUIRETLS']);
    const notice = await noticeAbout(queueId);
    expect(notice).toContain('Status: 5.7.30');
    expect(notice).toMatch(
      /REQUIRETLS support required: mx\.lacking\.test\[127\.0\.0\.43\]:\d+ does not offer REQUIRETLS/,
    );
    expect(notice).not.toContain('SECRET-PAYLOAD');
    expect(lacking.connections()).toBeGreaterThan(0);
    expect(lacking.transactions).toHaveLength(0);
  });

  it('delivers a "TLS-Required: No" message past an enforce policy whose MX host has an expired certificate', async () => {
    // Without the field the policy holds it back ...
    const held = await submit('carol@expired.test', []);
    const deferred = await waitFor(async () => {
      const [trace] = await traceMessages(site.store.pool, held);
      return trace?.recipients[0]?.status === 'deferred' && trace.recipients[0];
    });
    expect(deferred.attempts[0]?.reply).toMatch(
      /^TLS with mx\.expired\.test\[127\.0\.0\.44\]:\d+ failed: 4\.7\.5 /,
    );
    expect(expired.transactions).toHaveLength(0);
    // ... with it, it goes, still over STARTTLS.
    const queueId = await submit('carol@expired.test', [], 'TLS-Required: No\r\n');
    const transaction = await waitFor(() => expired.transactions.find((t) => t.data.includes(queueId)));
    expect(transaction.secure).toBe(true);
    expect(transaction.mailParams).not.toContain('REQUIRETLS');
    expect(expired.transactions.some((t) => t.data.includes(held))).toBe(false);
  });
});

async function waitFor<T>(what: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await what();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out:\n${site.worker().output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
