import { mkdtempSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { connectNatsBus, type MailBus } from '@tegami/bus';
import { describeMessage } from '@tegami/protocol';
import { createLogger, createMetricsRegistry, ensureSelfSignedCertificate } from '@tegami/runtime';
import {
  addDomain,
  createAccount,
  migrate,
  newQueueId,
  openStore,
  recordAcceptedMessage,
  type StorePool,
} from '@tegami/store';
import {
  createTestCa,
  createTestDatabase,
  dkimSign,
  freePort,
  generateDkimKey,
  type PeerTransaction,
  reportAttachment,
  type ScriptedPeer,
  startScriptedPeer,
  startTestDnsServer,
  type TestCa,
  type TestDatabase,
  type TestDnsServer,
  testNats,
  validateDmarcReportXml,
  validateTlsReportJson,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeliveryWorkerHandle,
  startDeliveryWorker,
} from '../services/delivery-worker/src/delivery-worker.js';
import { testSettings } from '../services/delivery-worker/test/test-worker.js';
import { startTestResolver, type TestResolver } from '../services/dns-resolver/test/test-resolver.js';
import { inboundChecks } from '../services/smtp-ingress/src/inbound-setup.js';
import { type SmtpIngress, startSmtpIngress } from '../services/smtp-ingress/src/smtp-ingress.js';
import { ehlo, sendData } from '../services/smtp-ingress/test/smtp-client.js';

// One simulated day of TLS-RPT and DMARC aggregate reports, in process: smtp-ingress checks
// DMARC of mail from another domain and counts the results; a delivery-worker relays mail to
// other domains over STARTTLS (or without) and counts each session; then a delivery-worker
// whose clock says the day is over sends the reports to the rua of each domain, through the
// queue, to a scripted MTA. The reports are unzipped and checked against their schemas.

const HOSTNAME = 'mx.example.test';
const dkimKey = generateDkimKey('rsa');

let database: TestDatabase;
let store: StorePool;
let bus: MailBus;
let dns: TestDnsServer;
let resolver: TestResolver;
let ingress: SmtpIngress;
let smtpPort: number;
let https: HttpsServer;
const httpsReports: Buffer[] = [];
// The MTA-STS policy host of sts-receiver.test (RFC 8461), with a certificate of the test's CA.
let policyHost: HttpsServer;
let ca: TestCa;
const STS_POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mx.sts-receiver.test\r\nmax_age: 86400\r\n';
const peers: Record<'starttls' | 'plain' | 'reports' | 'sts', ScriptedPeer> = {} as never;
const workers: DeliveryWorkerHandle[] = [];
let tlsCert: { cert: Buffer; key: Buffer };

const logger = createLogger({ service: 'daily-reports-test', level: 'silent' });
const today = new Date().toISOString().slice(0, 10);

async function worker(now: () => Date): Promise<DeliveryWorkerHandle> {
  const handle = await startDeliveryWorker({
    pool: store.pool,
    bus,
    resolver: resolver.client,
    hostname: HOSTNAME,
    logger,
    settings: {
      ...testSettings(smtpPort),
      extraCa: ca.cert,
      mtaSts: { timeoutMs: 2_000, port: (policyHost.address() as { port: number }).port },
      reports: {},
    },
    describe: describeMessage,
    metrics: createMetricsRegistry('daily-reports-test'),
    dueScanIntervalMs: 200,
    // The https rua's certificate is from the test's CA: TEGAMI_DELIVERY_TLS_CA_FILE's roots.
    reports: { resolver: resolver.client, now },
  });
  workers.push(handle);
  return handle;
}

beforeAll(async () => {
  tlsCert = await ensureSelfSignedCertificate(
    mkdtempSync(join(tmpdir(), 'tegami-reports-tls-')),
    'localhost',
  );
  ca = await createTestCa();
  const reportsCert = await ca.issue(['127.0.0.1']);
  https = createHttpsServer({ cert: reportsCert.cert, key: reportsCert.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['content-type'] === 'application/tlsrpt+gzip') httpsReports.push(Buffer.concat(chunks));
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const httpsPort = (https.address() as { port: number }).port;
  const policyCert = await ca.issue(['mta-sts.sts-receiver.test']);
  policyHost = createHttpsServer({ cert: policyCert.cert, key: policyCert.key }, (req, res) => {
    if (req.url !== '/.well-known/mta-sts.txt') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(STS_POLICY);
  });
  await new Promise<void>((resolve) => policyHost.listen(0, '127.0.0.15', resolve));

  smtpPort = await freePort();
  dns = await startTestDnsServer({
    records: {
      // The sender of inbound mail, with its DMARC record and its report destinations.
      'dmarc-sender.test': {
        txt: ['v=spf1 ip4:127.0.0.1 -all'],
        mx: [{ preference: 10, exchange: 'mx.reports.test' }],
      },
      '_dmarc.dmarc-sender.test': {
        txt: [
          'v=DMARC1; p=reject; adkim=s; rua=mailto:dmarc@dmarc-sender.test,mailto:agency@authorized-agency.test,' +
            'mailto:outsider@reports-elsewhere.test,mailto:tiny@dmarc-sender.test!1k',
        ],
      },
      'sel._domainkey.dmarc-sender.test': { txt: [dkimKey.dnsTxt] },
      'elsewhere.test': { txt: ['v=spf1 ip4:127.0.0.1 -all'] },
      // A third party that agreed to take dmarc-sender.test's reports (RFC 7489 §7.1); the other did not.
      'dmarc-sender.test._report._dmarc.authorized-agency.test': { txt: ['v=DMARC1'] },
      'authorized-agency.test': { mx: [{ preference: 10, exchange: 'mx.reports.test' }] },
      'reports-elsewhere.test': { mx: [{ preference: 10, exchange: 'mx.reports.test' }] },
      // Destinations of outbound mail: one MX with STARTTLS, one without, one that wants no reports.
      'tls-receiver.test': { mx: [{ preference: 10, exchange: 'mx.tls-receiver.test' }] },
      'mx.tls-receiver.test': { a: ['127.0.0.12'] },
      '_smtp._tls.tls-receiver.test': {
        txt: [`v=TLSRPTv1; rua=mailto:tlsrpt@tls-reports.test,https://127.0.0.1:${httpsPort}/tlsrpt`],
      },
      'plain-receiver.test': { mx: [{ preference: 10, exchange: 'mx.plain-receiver.test' }] },
      'mx.plain-receiver.test': { a: ['127.0.0.14'] },
      '_smtp._tls.plain-receiver.test': { txt: ['v=TLSRPTv1; rua=mailto:tlsrpt@tls-reports.test'] },
      'quiet.test': { mx: [{ preference: 10, exchange: 'mx.tls-receiver.test' }] },
      // A domain with an MTA-STS policy in enforce mode: its sessions are reported as policy-type sts.
      'sts-receiver.test': { mx: [{ preference: 10, exchange: 'mx.sts-receiver.test' }] },
      'mx.sts-receiver.test': { a: ['127.0.0.16'] },
      '_mta-sts.sts-receiver.test': { txt: ['v=STSv1; id=20260501;'] },
      'mta-sts.sts-receiver.test': { a: ['127.0.0.15'] },
      '_smtp._tls.sts-receiver.test': { txt: ['v=TLSRPTv1; rua=mailto:tlsrpt@tls-reports.test'] },
      // Where every report goes.
      'tls-reports.test': { mx: [{ preference: 10, exchange: 'mx.reports.test' }] },
      'mx.reports.test': { a: ['127.0.0.13'] },
    },
  });
  resolver = await startTestResolver([dns.address]);
  peers.starttls = await startScriptedPeer({ tls: tlsCert }, '127.0.0.12', smtpPort);
  peers.reports = await startScriptedPeer({}, '127.0.0.13', smtpPort);
  peers.plain = await startScriptedPeer({}, '127.0.0.14', smtpPort);
  peers.sts = await startScriptedPeer(
    { tls: await ca.issue(['mx.sts-receiver.test']) },
    '127.0.0.16',
    smtpPort,
  );

  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 10, onIdleError: () => undefined });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  await createAccount(store.pool, 'bob@example.test', 'bob-secret');
  const nats = await testNats();
  bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix, ackWaitMs: 10_000 });
  ingress = await startSmtpIngress({
    pool: store.pool,
    bus,
    logger,
    metrics: createMetricsRegistry('daily-reports-ingress'),
    hostname: HOSTNAME,
    host: '127.0.0.1',
    listeners: [{ name: 'mx', role: 'mx', port: 0, implicitTls: false }],
    tls: undefined,
    maxMessageBytes: 1024 * 1024,
    maxRecipients: 10,
    maxConnections: 20,
    maxConnectionsPerAddress: 20,
    commandTimeoutMs: 10_000,
    dataTimeoutMs: 10_000,
    allowPlaintextAuth: false,
    inbound: inboundChecks(
      {
        mailAuth: true,
        mailAuthTimeoutMs: 10_000,
        dmarcEnforcement: 'reject',
        rspamdTimeoutMs: 1_000,
        rspamdFailure: 'accept',
      },
      resolver.client,
      undefined,
    ),
    checkLoopbackClients: true,
    recordDmarcResults: true,
  });
}, 60_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  await ingress?.stop();
  await bus?.close();
  await store?.close();
  await database?.drop();
  for (const peer of Object.values(peers)) await peer?.stop();
  await resolver?.stop();
  await dns?.stop();
  await new Promise((resolve) => https?.close(resolve));
  policyHost?.closeAllConnections();
  await new Promise((resolve) => policyHost?.close(resolve));
});

async function receive(mailFrom: string, message: string): Promise<number> {
  const client = await ehlo(ingress.ports['mx']!);
  try {
    expect((await client.command(`MAIL FROM:<${mailFrom}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@example.test>')).code).toBe(250);
    return (await sendData(client, message)).code;
  } finally {
    client.close();
  }
}

function message(from: string, id: string): string {
  return `From: ${from}\r\nTo: bob@example.test\r\nSubject: report test\r\nDate: Thu, 30 Apr 2026 12:00:00 +0000\r\nMessage-ID: <${id}@dmarc-sender.test>\r\n\r\nHello.\r\n`;
}

/** Queues a message to remote recipients as submission would, and publishes its job. */
async function submit(to: string): Promise<string> {
  const queueId = newQueueId();
  await recordAcceptedMessage(store.pool, {
    queueId,
    raw: Buffer.from(`From: <alice@example.test>\r\nTo: <${to}>\r\nSubject: out\r\n\r\nHi.\r\n`),
    sender: 'alice@example.test',
    recipients: [{ address: to }],
  });
  await bus.publishJob({ queueId, enqueuedAt: new Date().toISOString() });
  return queueId;
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function unfinishedReports(): Promise<number> {
  const result = await store.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM queue q JOIN deliveries d ON d.queue_id = q.id
      WHERE q.listener = 'report' AND d.status IN ('pending', 'deferred')`,
  );
  return Number(result.rows[0]!.n);
}

const reportsTo = (address: string): PeerTransaction[] =>
  peers.reports.transactions.filter((t) => t.rcpts.some((r) => r.address === address));

describe('a day of reports', () => {
  it('counts DMARC results of received mail and TLS sessions of relayed mail, then reports them once', async () => {
    // The day: three messages from dmarc-sender.test that pass (one DKIM-signed), one that fails
    // (its SPF passes for another domain) and is refused under p=reject.
    expect(await receive('alice@dmarc-sender.test', message('alice@dmarc-sender.test', 'm1'))).toBe(250);
    expect(await receive('alice@dmarc-sender.test', message('alice@dmarc-sender.test', 'm2'))).toBe(250);
    const signed = await dkimSign(Buffer.from(message('alice@dmarc-sender.test', 'm3')), {
      domain: 'dmarc-sender.test',
      selector: 'sel',
      key: dkimKey,
    });
    expect(await receive('alice@dmarc-sender.test', signed.toString('latin1'))).toBe(250);
    expect(await receive('mallory@elsewhere.test', message('mallory@dmarc-sender.test', 'm4'))).toBe(550);

    const day = await worker(() => new Date());
    const outbound = [
      'carol@tls-receiver.test',
      'dan@tls-receiver.test',
      'erin@plain-receiver.test',
      'q@quiet.test',
      'sam@sts-receiver.test',
    ];
    for (const to of outbound) await submit(to);
    await until('five relayed messages', () =>
      peers.starttls.transactions.length + peers.plain.transactions.length + peers.sts.transactions.length >=
      5
        ? true
        : undefined,
    );
    expect(peers.sts.transactions.map((t) => t.secure)).toEqual([true]);
    expect(peers.starttls.transactions.every((t) => t.secure)).toBe(true);
    // Stopping writes the counts held in memory; the next run of a fresh worker finds them.
    await day.stop();
    await ingress.stop();

    // Ten minutes after midnight: a worker starting now sends the day's reports at once.
    const after = new Date(Date.parse(`${today}T00:10:00Z`) + 86_400_000);
    const next = await worker(() => after);
    await until('the reports queued', async () => {
      const runs = await store.pool.query(`SELECT 1 FROM report_runs WHERE state <> 'pending'`);
      return runs.rowCount !== null && runs.rowCount >= 5 ? true : undefined;
    });
    await until('the reports delivered', async () => ((await unfinishedReports()) === 0 ? true : undefined));

    // DMARC (RFC 7489): to its own domain's rua and to the third party that agreed.
    const [dmarcMail] = reportsTo('dmarc@dmarc-sender.test');
    expect(reportsTo('dmarc@dmarc-sender.test')).toHaveLength(1);
    expect(reportsTo('agency@authorized-agency.test')).toHaveLength(1);
    expect(reportsTo('outsider@reports-elsewhere.test')).toHaveLength(0);
    expect(reportsTo('tiny@dmarc-sender.test')).toHaveLength(0);
    expect(dmarcMail!.mailFrom).toBe('noreply-reports@example.test');
    expect(dmarcMail!.rcpts[0]!.params).toMatch(/NOTIFY=NEVER/);
    const dmarc = reportAttachment(dmarcMail!.data);
    expect(dmarc.type).toBe('application/gzip');
    expect(dmarc.fileName).toMatch(/^example\.test!dmarc-sender\.test!\d+!\d+!\w+\.xml\.gz$/);
    const verdict = await validateDmarcReportXml(dmarc.text);
    expect(verdict.errors).toBe('');
    expect(dmarc.text).toContain('<domain>dmarc-sender.test</domain>');
    expect(dmarc.text).toContain('<adkim>s</adkim>');
    expect(countsBy(dmarc.text)).toEqual({ none: 3, reject: 1 });
    expect(dmarc.text).toMatch(
      /<dkim>\s*<domain>dmarc-sender\.test<\/domain>\s*<selector>sel<\/selector>\s*<result>pass<\/result>/,
    );
    expect(dmarc.text).toContain('<envelope_from>elsewhere.test</envelope_from>');
    // An unsigned message has no DKIM result to report (mailauth's "none" pseudo-result is not one).
    expect(dmarc.text).not.toContain('<domain></domain>');
    expect(headerOf(dmarcMail!.data, 'Subject')).toMatch(
      /^Report Domain: dmarc-sender\.test Submitter: example\.test Report-ID: <.+>$/,
    );

    // TLS-RPT (RFC 8460): one report per policy domain that asks, by mail and by HTTPS.
    const tlsMails = reportsTo('tlsrpt@tls-reports.test');
    expect(tlsMails).toHaveLength(3);
    const tlsReports = tlsMails.map((mail) => {
      const attachment = reportAttachment(mail.data);
      expect(attachment.type).toBe('application/tlsrpt+gzip');
      expect(headerOf(mail.data, 'Content-Type')).toMatch(/^multipart\/report; report-type="tlsrpt";/);
      const json = JSON.parse(attachment.text);
      expect(validateTlsReportJson(json)).toEqual({ valid: true, errors: '' });
      return json as TlsJson;
    });
    const starttls = tlsReports.find((r) => r.policies[0]!.policy['policy-domain'] === 'tls-receiver.test')!;
    expect(starttls.policies).toEqual([
      {
        policy: { 'policy-type': 'no-policy-found', 'policy-domain': 'tls-receiver.test' },
        summary: { 'total-successful-session-count': 2, 'total-failure-session-count': 0 },
      },
    ]);
    expect(starttls['date-range']).toEqual({
      'start-datetime': `${today}T00:00:00Z`,
      'end-datetime': `${today}T23:59:59Z`,
    });
    const plain = tlsReports.find((r) => r.policies[0]!.policy['policy-domain'] === 'plain-receiver.test')!;
    expect(plain.policies[0]!.summary['total-failure-session-count']).toBe(1);
    expect(plain.policies[0]!['failure-details']).toEqual([
      {
        'result-type': 'starttls-not-supported',
        'receiving-mx-hostname': 'mx.plain-receiver.test',
        'receiving-ip': '127.0.0.14',
        'failed-session-count': 1,
        'failure-reason-code': expect.stringMatching(/did not offer STARTTLS/),
      },
    ]);
    const sts = tlsReports.find((r) => r.policies[0]!.policy['policy-domain'] === 'sts-receiver.test')!;
    expect(sts.policies).toEqual([
      {
        policy: {
          'policy-type': 'sts',
          'policy-string': ['version: STSv1', 'mode: enforce', 'mx: mx.sts-receiver.test', 'max_age: 86400'],
          'policy-domain': 'sts-receiver.test',
          'mx-host': ['mx.sts-receiver.test'],
        },
        summary: { 'total-successful-session-count': 1, 'total-failure-session-count': 0 },
      },
    ]);
    expect(httpsReports).toHaveLength(1);
    expect(JSON.parse(gunzipSync(httpsReports[0]!).toString())).toEqual(starttls);

    const runs = await store.pool.query(
      `SELECT kind, domain, state FROM report_runs WHERE day = $1::date ORDER BY kind, domain`,
      [today],
    );
    expect(runs.rows).toEqual([
      { kind: 'dmarc', domain: 'dmarc-sender.test', state: 'sent' },
      { kind: 'tlsrpt', domain: 'plain-receiver.test', state: 'sent' },
      { kind: 'tlsrpt', domain: 'quiet.test', state: 'skipped' },
      { kind: 'tlsrpt', domain: 'sts-receiver.test', state: 'sent' },
      { kind: 'tlsrpt', domain: 'tls-receiver.test', state: 'sent' },
    ]);

    // Exactly once: another run, and another replica starting with the same clock, send nothing.
    const sentBefore = peers.reports.transactions.length;
    const again = await next.reports!.run();
    expect(again.flatMap((o) => o.queueIds)).toEqual([]);
    const replica = await worker(() => after);
    expect((await replica.reports!.run()).flatMap((o) => o.queueIds)).toEqual([]);
    expect(await unfinishedReports()).toBe(0);
    expect(peers.reports.transactions.length).toBe(sentBefore);
    expect(httpsReports).toHaveLength(1);
  });
});

interface TlsJson {
  'date-range': Record<string, string>;
  policies: {
    policy: Record<string, unknown>;
    summary: Record<string, number>;
    'failure-details'?: Record<string, unknown>[];
  }[];
}

/** Messages per disposition in a DMARC report. */
function countsBy(xml: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of xml.split('<record>').slice(1)) {
    const disposition = /<disposition>(\w+)<\/disposition>/.exec(record)![1]!;
    counts[disposition] = (counts[disposition] ?? 0) + Number(/<count>(\d+)<\/count>/.exec(record)![1]);
  }
  return counts;
}

function headerOf(raw: Buffer, name: string): string {
  const head = raw
    .toString('latin1')
    .split('\r\n\r\n')[0]!
    .replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}: (.*)$`, 'mi').exec(head)?.[1] ?? '';
}
