import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DueDelivery, QueueEntry } from '@tegami/store';
import {
  createCertificate,
  freePort,
  runProgram,
  type ScriptedPeer,
  startScriptedPeer,
  startTestDnsServer,
  type TestCertificate,
  type TestDnsRecords,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daneFirst } from '../services/delivery-worker/src/dane/dane-policy.js';
import { deliverToDomain, type RemoteOutcome } from '../services/delivery-worker/src/remote-delivery.js';
import type { TlsOutcome } from '../services/delivery-worker/src/tls-policy.js';
import { startTestResolver, type TestResolver } from '../services/dns-resolver/test/test-resolver.js';
import { type MailSite, startMailSite } from './support/mail-site.js';

// DANE (RFC 7672) end to end: a DNS server that plays a validating resolver (the AD bit on the
// names it is told are signed), TLSA records for MX hosts computed with the README's openssl
// line, and scripted MTAs with TLS. First the whole site as processes (swaks → smtp-ingress →
// queue → delivery-worker → dns-resolver), then remote delivery in-process, for the TLS-RPT
// outcome of each connection.

const DAY_MS = 86_400_000;
let dns: TestDnsServer;
let mxPort: number;
let site: MailSite;
/** A site with TEGAMI_DELIVERY_DANE=false. */
let noDane: MailSite;
let resolver: TestResolver;
let workDir: string;
const peers = new Map<string, ScriptedPeer>();

/** Hex of a certificate's `3 1 1` (SPKI SHA-256), run exactly as the README writes it. */
async function tlsa311(cert: TestCertificate): Promise<string> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const line = /^openssl x509 -in (\S+) -noout -pubkey \|.*$/m.exec(readme);
  if (!line) throw new Error('README has no openssl line for TLSA 3 1 1');
  const file = join(workDir, `${createHash('sha256').update(cert.cert).digest('hex')}.pem`);
  await writeFile(file, cert.cert);
  const run = await runProgram('bash', ['-c', line[0].replace(line[1]!, file)], {
    cwd: workDir,
    env: process.env,
    stdin: '',
  });
  if (run.code !== 0) throw new Error(`openssl: ${run.stderr}`);
  return run.stdout.trim();
}

/** `2 0 1`: SHA-256 of the whole certificate. */
const tlsa201 = (cert: TestCertificate) =>
  createHash('sha256').update(new X509Certificate(cert.cert).raw).digest('hex');

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'tegami-dane-'));
  mxPort = await freePort();
  const ca = await createCertificate([], { ca: true, commonName: 'DANE e2e CA' });
  const selfSigned = await createCertificate(['mx.ee.test']);
  const stranger = await createCertificate(['mx.ee.test']);
  const certificates = {
    ee: selfSigned,
    'ee-mismatch': selfSigned,
    unsigned: selfSigned,
    ta: await createCertificate(['mx.ta.test'], { issuer: ca }),
    'ta-wrong-name': await createCertificate(['mx.elsewhere.test'], { issuer: ca }),
    'ta-expired': await createCertificate(['mx.ta-expired.test'], {
      issuer: ca,
      notBefore: new Date(Date.now() - 10 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    }),
    'no-starttls': undefined,
    bogus: selfSigned,
    'dane-off': selfSigned,
  } as const;
  const selfSpki = await tlsa311(selfSigned);
  expect(selfSpki).toMatch(/^[0-9a-f]{64}$/);
  const tlsaOf: Record<string, { usage: number; selector: number; matchingType: number; data: string }> = {
    ee: { usage: 3, selector: 1, matchingType: 1, data: selfSpki },
    'ee-mismatch': { usage: 3, selector: 1, matchingType: 1, data: await tlsa311(stranger) },
    unsigned: { usage: 3, selector: 1, matchingType: 1, data: await tlsa311(stranger) },
    ta: { usage: 2, selector: 0, matchingType: 1, data: tlsa201(ca) },
    'ta-wrong-name': { usage: 2, selector: 0, matchingType: 1, data: tlsa201(ca) },
    'ta-expired': { usage: 2, selector: 0, matchingType: 1, data: tlsa201(ca) },
    'no-starttls': { usage: 3, selector: 1, matchingType: 1, data: selfSpki },
    'dane-off': { usage: 3, selector: 1, matchingType: 1, data: await tlsa311(stranger) },
  };

  const records: Record<string, TestDnsRecords[string]> = {
    'mx.a.test': { a: ['127.0.0.2'] },
  };
  let address = 30;
  for (const [label, cert] of Object.entries(certificates)) {
    const ip = `127.0.0.${address++}`;
    const mx = `mx.${label}.test`;
    // Everything is signed, but for unsigned.test: its MX records and host carry no AD.
    const authenticated = label !== 'unsigned';
    records[`${label}.test`] = { mx: [{ preference: 10, exchange: mx }], authenticated };
    records[mx] = { a: [ip], authenticated };
    records[`_${mxPort}._tcp.${mx}`] =
      label === 'bogus' ? { rcode: 'SERVFAIL' } : { tlsa: [tlsaOf[label]!], authenticated };
    peers.set(label, await startScriptedPeer(cert ? { tls: withChain(cert, ca, label) } : {}, ip, mxPort));
  }
  dns = await startTestDnsServer({ records, authenticated: true });
  resolver = await startTestResolver([dns.address]);
  const common = { mxPort, dnsUpstream: dns.address, users: { alice: 'alice-password' } };
  [site, noDane] = await Promise.all([
    startMailSite({
      ...common,
      domain: 'a.test',
      ip: '127.0.0.2',
      workerEnv: { TEGAMI_DELIVERY_RETRY_MIN_MS: '60s' },
    }),
    startMailSite({
      ...common,
      domain: 'b.test',
      ip: '127.0.0.3',
      workerEnv: { TEGAMI_DELIVERY_RETRY_MIN_MS: '60s', TEGAMI_DELIVERY_DANE: 'false' },
    }),
  ]);
}, 180_000);

/** DANE-TA needs the trust anchor in the chain the server sends: the leaf, then the CA. */
function withChain(cert: TestCertificate, ca: TestCertificate, label: string): TestCertificate {
  return label.startsWith('ta') ? { key: cert.key, cert: cert.cert + ca.cert } : cert;
}

afterAll(async () => {
  await Promise.all([site?.stop(), noDane?.stop()]);
  await resolver?.stop();
  for (const peer of peers.values()) await peer.stop();
  await dns?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function submit(to: string, from = site): Promise<string> {
  const run = await runProgram(
    'swaks',
    [
      '--server',
      `${from.ip}:${from.submissionPort}`,
      '--auth',
      'PLAIN',
      '--auth-user',
      `alice@${from.domain}`,
      '--auth-password',
      'alice-password',
      '--from',
      `alice@${from.domain}`,
      '--to',
      to,
    ],
    { cwd: process.cwd(), env: process.env, stdin: '' },
  );
  const queueId = /250 2\.0\.0 Ok: queued as ([0-9A-Z]+)/.exec(run.stdout)?.[1];
  if (run.code !== 0 || !queueId) throw new Error(`swaks failed:\n${run.stdout}${run.stderr}`);
  return queueId;
}

/** `tegami trace` once the recipient has a first answer (relayed or deferred). */
async function traceOnceAnswered(queueId: string, from = site): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const trace = (await from.tegami(['trace', queueId])).stdout;
    if (/: (relayed|deferred)/.test(trace) || / deferred /.test(trace)) return trace;
    if (Date.now() > deadline) throw new Error(`no answer for ${queueId}:\n${trace}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('DANE through the whole site', () => {
  it('relays over TLS to an MX host whose certificate matches its authenticated 3 1 1 record', async () => {
    const trace = await traceOnceAnswered(await submit('someone@ee.test'));
    expect(trace).toMatch(/to <someone@ee\.test>: relayed/);
    expect(peers.get('ee')!.transactions.at(-1)?.secure).toBe(true);
  });

  it('defers, without sending, when the certificate matches no TLSA record', async () => {
    const peer = peers.get('ee-mismatch')!;
    const trace = await traceOnceAnswered(await submit('someone@ee-mismatch.test'));
    expect(trace).toMatch(/deferred mx\.ee-mismatch\.test.*4\.7\.5 DANE: no TLSA record matches/);
    expect(peer.transactions).toHaveLength(0);
  });

  it('ignores the same mismatching records without the AD bit: opportunistic TLS, relayed', async () => {
    const trace = await traceOnceAnswered(await submit('someone@unsigned.test'));
    expect(trace).toMatch(/to <someone@unsigned\.test>: relayed/);
    expect(peers.get('unsigned')!.transactions.at(-1)?.secure).toBe(true);
  });

  it('relays under a DANE-TA (2 0 1) record of the CA the server sends, and defers a wrong name', async () => {
    expect(await traceOnceAnswered(await submit('someone@ta.test'))).toMatch(
      /to <someone@ta\.test>: relayed/,
    );
    const wrong = await traceOnceAnswered(await submit('someone@ta-wrong-name.test'));
    expect(wrong).toMatch(
      /deferred mx\.ta-wrong-name\.test.*DANE: the certificate names .*mx\.elsewhere\.test/,
    );
    expect(peers.get('ta-wrong-name')!.transactions).toHaveLength(0);
  });

  it('looks up no TLSA record with TEGAMI_DELIVERY_DANE=false: the mismatch goes unnoticed', async () => {
    const trace = await traceOnceAnswered(await submit('someone@dane-off.test', noDane), noDane);
    expect(trace).toMatch(/to <someone@dane-off\.test>: relayed/);
    expect(dns.queryCount(`_${mxPort}._tcp.mx.dane-off.test`, 'TLSA')).toBe(0);
  });
});

const entry: QueueEntry = {
  queueId: 'DANE1',
  state: 'queued',
  sender: 'alice@a.test',
  size: 20,
  blobSha256: Buffer.alloc(32),
  messageId: null,
  dsnEnvid: null,
  dsnRet: null,
  clientAddress: null,
  clientHelo: null,
  authenticatedAs: null,
  receivedAt: new Date(),
  reportsOn: null,
  junk: false,
  requireTls: false,
  tlsRequiredNo: false,
};

/** One delivery to `label`.test through the real dns-resolver, with each connection's TLS outcome. */
async function deliver(label: string): Promise<{ outcome: RemoteOutcome; tls: TlsOutcome[] }> {
  const tls: TlsOutcome[] = [];
  const delivery: DueDelivery = {
    id: `d-${label}`,
    recipient: `someone@${label}.test`,
    notify: null,
    orcpt: null,
    attempts: 0,
    expandedFrom: null,
    delayNotified: false,
  };
  const [outcome] = await deliverToDomain(
    {
      resolver: resolver.client,
      port: mxPort,
      smtp: { hostname: 'mx.a.test', connectTimeoutMs: 2_000, smtpTimeoutMs: 5_000, tlsVerify: false },
      withDomainSlot: (_domain, fn) => fn(),
      onTlsOutcome: (o) => tls.push(o),
      tlsPolicy: daneFirst(resolver.client, { port: mxPort }),
    },
    `${label}.test`,
    entry,
    [delivery],
    Buffer.from('Subject: DANE\r\n\r\nhello\r\n'),
  );
  return { outcome: outcome!, tls };
}

describe('the TLS outcome of each connection under DANE (for TLS-RPT)', () => {
  it('reports success under the tlsa policy, with the records as policy strings', async () => {
    const { outcome, tls } = await deliver('ee');
    expect(outcome.kind).toBe('relayed');
    expect(tls).toEqual([
      expect.objectContaining({
        policyDomain: 'ee.test',
        policyType: 'tlsa',
        policyStrings: [expect.stringMatching(/^3 1 1 [0-9a-f]{64}$/)],
        mxHost: 'mx.ee.test',
        result: 'success',
      }),
    ]);
  });

  it('reports a mismatch as a validation failure and defers with 4.7.5', async () => {
    const { outcome, tls } = await deliver('ee-mismatch');
    expect(outcome).toMatchObject({ kind: 'deferred', statusCode: '4.7.5' });
    expect(tls).toMatchObject([{ policyType: 'tlsa', result: 'validation-failure' }]);
    expect(tls[0]!.failureDetail).toMatch(/no TLSA record matches/);
  });

  it('reports no policy for a destination without the AD bit', async () => {
    const { outcome, tls } = await deliver('unsigned');
    expect(outcome.kind).toBe('relayed');
    expect(tls).toMatchObject([{ policyType: 'no-policy-found', policyStrings: [], result: 'success' }]);
  });

  it('tells a wrong name and an expired certificate under DANE-TA apart', async () => {
    expect((await deliver('ta')).outcome.kind).toBe('relayed');
    const wrong = await deliver('ta-wrong-name');
    expect(wrong.outcome.kind).toBe('deferred');
    expect(wrong.tls).toMatchObject([{ result: 'certificate-host-mismatch' }]);
    const expired = await deliver('ta-expired');
    expect(expired.outcome.kind).toBe('deferred');
    expect(expired.tls).toMatchObject([{ result: 'certificate-expired' }]);
  });

  it('defers a host that does not offer STARTTLS although it publishes TLSA records', async () => {
    const { outcome, tls } = await deliver('no-starttls');
    expect(outcome).toMatchObject({ kind: 'deferred', statusCode: '4.7.4' });
    expect(tls).toMatchObject([{ policyType: 'tlsa', result: 'starttls-not-supported' }]);
    expect(peers.get('no-starttls')!.transactions).toHaveLength(0);
  });

  it('does not connect to a signed host whose TLSA lookup fails (bogus), and defers', async () => {
    const peer = peers.get('bogus')!;
    const before = peer.connections();
    const { outcome } = await deliver('bogus');
    expect(outcome).toMatchObject({
      kind: 'deferred',
      reply: expect.stringMatching(
        /TLSA lookup of _\d+\._tcp\.mx\.bogus\.test failed \(RESOLVE_STATUS_SERVFAIL/,
      ),
    });
    expect(peer.connections()).toBe(before);
  });
});
