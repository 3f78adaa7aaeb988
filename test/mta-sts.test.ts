import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TraceMessage, traceMessages } from '@tegami/store';
import {
  createTestCa,
  freePort,
  runProgram,
  type ScriptedPeer,
  startScriptedPeer,
  startTestDnsServer,
  type TestCa,
  type TestDnsRecords,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';

// MTA-STS (RFC 8461) end to end, every part a real process. Site A relays; the dns-resolver
// asks a DNS server on loopback for `_mta-sts` TXT, MX and the policy hosts' addresses; the
// policies come over HTTPS from site B's own smtp-ingress (B publishes an enforce policy for
// itself) and from a policy server of the test's for scripted MTAs with good and bad
// certificates. One CA of the test's signs every certificate; A trusts it through
// TEGAMI_DELIVERY_TLS_CA_FILE.

const A_IP = '127.0.3.2';
const B_IP = '127.0.3.3';
const POLICY_SERVER_IP = '127.0.3.10';
let ca: TestCa;
let caFile: string;
let dns: TestDnsServer;
let a: MailSite;
let b: MailSite;
let mxPort: number;
let httpsPort: number;
let policyServer: Server;
const peers: ScriptedPeer[] = [];
/** Policies the test's policy server answers, by domain, and each fetch it saw. */
const policies = new Map<string, string>();
const fetched: string[] = [];
/** The `_mta-sts` id published per domain (changed by a test), and B's own. */
const ids = new Map<string, string>();
let bPolicyId = 'pending';

const policy = (mode: string, mx: readonly string[]) =>
  `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join('')}max_age: 86400\r\n`;

/** What the DNS server answers: B, the scripted domains, and the `_mta-sts` records of `ids`. */
function records(): TestDnsRecords {
  const mtaSts = (domain: string, address: string) => ({
    [`_mta-sts.${domain}`]: { txt: [`v=STSv1; id=${ids.get(domain) ?? 'v1'};`], ttl: 1 },
    [`mta-sts.${domain}`]: { a: [address] },
  });
  return {
    'a.test': { mx: [{ preference: 10, exchange: 'mx.a.test' }] },
    'mx.a.test': { a: [A_IP] },
    'b.test': { mx: [{ preference: 10, exchange: 'mx.b.test' }] },
    'mx.b.test': { a: [B_IP] },
    '_mta-sts.b.test': { txt: [`v=STSv1; id=${bPolicyId};`] },
    'mta-sts.b.test': { a: [B_IP] },
    'wrong-name.test': { mx: [{ preference: 10, exchange: 'mx.wrong-name.test' }] },
    'mx.wrong-name.test': { a: ['127.0.3.20'] },
    ...mtaSts('wrong-name.test', POLICY_SERVER_IP),
    'testing.test': { mx: [{ preference: 10, exchange: 'mx.testing.test' }] },
    'mx.testing.test': { a: ['127.0.3.21'] },
    ...mtaSts('testing.test', POLICY_SERVER_IP),
    'unlisted.test': {
      mx: [
        { preference: 10, exchange: 'mx1.unlisted.test' },
        { preference: 20, exchange: 'mx2.unlisted.test' },
      ],
    },
    'mx1.unlisted.test': { a: ['127.0.3.22'] },
    'mx2.unlisted.test': { a: ['127.0.3.23'] },
    ...mtaSts('unlisted.test', POLICY_SERVER_IP),
  };
}

async function peer(address: string, certNames: readonly string[]): Promise<ScriptedPeer> {
  const started = await startScriptedPeer({ tls: await ca.issue(certNames) }, address, mxPort);
  peers.push(started);
  return started;
}

/** swaks on A's submission port as alice; returns the queue id. */
async function submit(to: string): Promise<string> {
  const run = await runProgram(
    'swaks',
    [
      ...['--server', `${a.ip}:${a.submissionPort}`, '--auth', 'PLAIN'],
      ...['--auth-user', 'alice@a.test', '--auth-password', 'alice-password'],
      ...['--from', 'alice@a.test', '--to', to],
    ],
    { cwd: process.cwd(), env: process.env, stdin: '' },
  );
  const queueId = /250 2\.0\.0 Ok: queued as ([0-9A-Z]+)/.exec(run.stdout)?.[1];
  if (run.code !== 0 || !queueId) throw new Error(`swaks failed:\n${run.stdout}${run.stderr}`);
  return queueId;
}

async function waitForStatus(queueId: string, status: string): Promise<TraceMessage> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [trace] = await traceMessages(a.store.pool, queueId);
    if (trace?.recipients.length && trace.recipients.every((r) => r.status === status)) return trace;
    if (Date.now() > deadline) {
      throw new Error(
        `${queueId} not ${status}: ${JSON.stringify(trace?.recipients)}\n${a.worker().output().slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  ca = await createTestCa();
  const dir = mkdtempSync(join(tmpdir(), 'tegami-mta-sts-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.cert);
  // B's certificate names its MX host and its policy host, as an operator's would.
  const bCert = await ca.issue(['mx.b.test', 'mta-sts.b.test']);
  writeFileSync(join(dir, 'b-cert.pem'), bCert.cert);
  writeFileSync(join(dir, 'b-key.pem'), bCert.key);
  [mxPort, httpsPort] = [await freePort(), await freePort()];

  const serverCert = await ca.issue(['wrong-name', 'testing', 'unlisted'].map((d) => `mta-sts.${d}.test`));
  policyServer = createServer(
    { key: serverCert.key, cert: serverCert.cert },
    (req: IncomingMessage, res: ServerResponse) => {
      const domain = String(req.headers.host)
        .replace(/:\d+$/, '')
        .replace(/^mta-sts\./, '');
      fetched.push(domain);
      const text = policies.get(domain);
      if (req.url !== '/.well-known/mta-sts.txt' || !text) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
    },
  );
  await new Promise<void>((resolve) => policyServer.listen(httpsPort, POLICY_SERVER_IP, resolve));

  dns = await startTestDnsServer({ records: records() });
  const common = { mxPort, dnsUpstream: dns.address };
  [a, b] = await Promise.all([
    startMailSite({
      ...common,
      domain: 'a.test',
      ip: A_IP,
      users: { alice: 'alice-password' },
      workerEnv: {
        TEGAMI_DELIVERY_TLS_CA_FILE: caFile,
        TEGAMI_DELIVERY_MTA_STS_PORT: String(httpsPort),
        TEGAMI_DELIVERY_RETRY_MIN_MS: '1m',
      },
    }),
    startMailSite({
      ...common,
      domain: 'b.test',
      ip: B_IP,
      users: { dave: 'dave-password' },
      env: {
        TEGAMI_TLS_CERT_FILE: join(dir, 'b-cert.pem'),
        TEGAMI_TLS_KEY_FILE: join(dir, 'b-key.pem'),
        TEGAMI_MTA_STS_PORT: String(httpsPort),
        TEGAMI_MTA_STS_MODE: 'enforce',
        TEGAMI_MTA_STS_MAX_AGE: '86400',
      },
    }),
  ]);
  // The record B's operator publishes, as `tegami mta-sts` prints it.
  const printed = await b.tegami(['mta-sts']);
  const id = /^_mta-sts\.b\.test\. 3600 IN TXT "v=STSv1; id=([a-z0-9]+);"$/m.exec(printed.stdout)?.[1];
  if (!id) throw new Error(`tegami mta-sts printed:\n${printed.stdout}${printed.stderr}`);
  bPolicyId = id;
  dns.setRecords(records());
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  for (const p of peers) await p.stop();
  policyServer?.closeAllConnections();
  await new Promise((resolve) => policyServer?.close(resolve));
  await dns?.stop();
});

describe('MTA-STS between two Tegami sites', () => {
  it('B serves its enforce policy at https://mta-sts.b.test/, as curl sees it', async () => {
    const run = await runProgram(
      'curl',
      [
        ...[
          '-sS',
          '--max-time',
          '10',
          '--cacert',
          caFile,
          '--resolve',
          `mta-sts.b.test:${httpsPort}:${B_IP}`,
        ],
        `https://mta-sts.b.test:${httpsPort}/.well-known/mta-sts.txt`,
      ],
      { cwd: process.cwd(), env: process.env, stdin: '' },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('version: STSv1\r\nmode: enforce\r\nmx: mx.b.test\r\nmax_age: 86400\r\n');
  });

  it('A fetches it, keeps it in its store, and relays to B over TLS', async () => {
    const queueId = await submit('dave@b.test');
    await waitForStatus(queueId, 'relayed');
    const [received] = await b.waitForInbox('dave@b.test', 1);
    // B's Received field says the session was encrypted (RFC 3848 ESMTPS/ESMTPSA).
    expect(received).toMatch(/with ESMTPS/);
    const stored = await a.store.pool.query(
      `SELECT mode, policy_text FROM mta_sts_policies WHERE domain = 'b.test'`,
    );
    expect(stored.rows).toEqual([
      {
        mode: 'enforce',
        policy_text: 'version: STSv1\r\nmode: enforce\r\nmx: mx.b.test\r\nmax_age: 86400\r\n',
      },
    ]);
  });
});

describe('MTA-STS against scripted MTAs', () => {
  it('enforce: defers rather than deliver to an MX whose certificate is for another name', async () => {
    policies.set('wrong-name.test', policy('enforce', ['mx.wrong-name.test']));
    const mx = await peer('127.0.3.20', ['mx.elsewhere.test']);
    const trace = await waitForStatus(await submit('bob@wrong-name.test'), 'deferred');
    expect(trace.recipients[0]!.attempts[0]!.reply).toMatch(
      /^TLS with mx\.wrong-name\.test\[127\.0\.3\.20\]:\d+ failed: 4\.7\.5 certificate not valid: ERR_TLS_CERT_ALTNAME_INVALID/,
    );
    expect(mx.rcptLog).toEqual([]);
  });

  it('testing: delivers despite the bad certificate', async () => {
    policies.set('testing.test', policy('testing', ['mx.testing.test']));
    const mx = await peer('127.0.3.21', ['mx.elsewhere.test']);
    await waitForStatus(await submit('bob@testing.test'), 'relayed');
    expect(mx.transactions).toHaveLength(1);
    expect(mx.transactions[0]!.secure).toBe(true);
  });

  it('enforce: skips the MX host the policy does not list, for the one it does', async () => {
    policies.set('unlisted.test', policy('enforce', ['mx2.unlisted.test']));
    const mx1 = await peer('127.0.3.22', ['mx1.unlisted.test']);
    const mx2 = await peer('127.0.3.23', ['mx2.unlisted.test']);
    await waitForStatus(await submit('bob@unlisted.test'), 'relayed');
    expect(mx1.transactions).toEqual([]);
    expect(mx2.transactions).toHaveLength(1);
  });

  it('fetches a policy once, and again when the id in DNS changes', async () => {
    const fetches = () => fetched.filter((d) => d === 'testing.test').length;
    const before = fetches();
    await waitForStatus(await submit('carol@testing.test'), 'relayed');
    expect(fetches()).toBe(before);
    // The new policy enforces: the MX's bad certificate now defers the mail.
    policies.set('testing.test', policy('enforce', ['mx.testing.test']));
    ids.set('testing.test', 'v2');
    dns.setRecords(records());
    // The TXT record's TTL is 1 s: the dns-resolver's cached answer is gone by then.
    await new Promise((r) => setTimeout(r, 1_500));
    await waitForStatus(await submit('erin@testing.test'), 'deferred');
    expect(fetches()).toBe(before + 1);
  });
});
