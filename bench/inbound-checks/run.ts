// bench/inbound-checks: what SPF/DKIM/DMARC/ARC (and rspamd, when installed) cost per message
// on port 25. One smtp-ingress configuration after the other, in one run, on one database:
// checks off, checks on, checks on + rspamd. Postfix's smtp-source sends the same DKIM-signed
// 10 KB message (-F) over N sessions to each; DNS answers come from an authoritative test
// server through a real dns-resolver (its cache warm after the warm-up, as in production
// where the same senders come back). Prints messages per second, the ratio to "off", and
// the end of DATA → 250 latency (p50/p99 from tegami_smtp_queue_latency_seconds).
//
// Usage: node --conditions=tegami-source --import tsx bench/inbound-checks/run.ts [messages] [sessions]

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectNatsBus } from '@tegami/bus';
import { cachedResolverClient, createResolverClient, createRspamdClient } from '@tegami/rpc';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import { addDomain, createAccount, migrate, openStore } from '@tegami/store';
import {
  createTestDatabase,
  dkimSign,
  generateDkimKey,
  startTestDnsServer,
  startTestRspamd,
  testNats,
} from '@tegami/testing';
import type { Registry } from 'prom-client';
import { parseUpstream, startDnsResolver } from '../../services/dns-resolver/src/index.js';
import { inboundChecks } from '../../services/smtp-ingress/src/inbound-setup.js';
import { startSmtpIngress } from '../../services/smtp-ingress/src/smtp-ingress.js';
import type { SpamScanner } from '../../services/smtp-ingress/src/spam-scan.js';

const run = promisify(execFile);
const MESSAGES = Number(process.argv[2] ?? 2000);
const SESSIONS = Number(process.argv[3] ?? 10);

const key = generateDkimKey('rsa');
const zone = {
  'sender.bench': { txt: ['v=spf1 ip4:127.0.0.0/8 -all'] },
  'client.sender.bench': { a: ['127.0.0.1'], txt: ['v=spf1 a -all'] },
  '_dmarc.sender.bench': { txt: ['v=DMARC1; p=reject'] },
  's1._domainkey.sender.bench': { txt: [key.dnsTxt] },
};

// A 10 KB text message signed by dkimpy; smtp-source adds CRLF to each line, so the file has LF.
const body = Array.from(
  { length: 140 },
  (_, i) => `Line ${i} of the benchmark message, some text to fill it up.`,
).join('\r\n');
const unsigned =
  'From: Alice <alice@sender.bench>\r\nTo: bob@bench.test\r\nSubject: inbound checks benchmark\r\n' +
  `Date: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <bench@sender.bench>\r\n\r\n${body}\r\n`;
const signed = await dkimSign(Buffer.from(unsigned), { domain: 'sender.bench', selector: 's1', key });
const work = mkdtempSync(join(tmpdir(), 'tegami-bench-inbound-'));
const messageFile = join(work, 'message.eml');
writeFileSync(messageFile, signed.toString('latin1').replace(/\r\n/g, '\n'));

const dns = await startTestDnsServer({ records: zone });
const logger = createLogger({ service: 'bench', level: 'warn' });
const resolver = await startDnsResolver({
  logger,
  metrics: createMetricsRegistry('bench-dns'),
  host: '127.0.0.1',
  port: 0,
  upstreams: [parseUpstream(dns.address)!],
  timeoutMs: 2_000,
  attempts: 2,
  cacheEntries: 10_000,
  negativeTtlMaxMs: 60_000,
});
// As smtp-ingress's main does: answers kept for their TTLs in front of the dns-resolver.
const resolverClient = cachedResolverClient(createResolverClient(`127.0.0.1:${resolver.port}`));

const database = await createTestDatabase();
const store = openStore({ url: database.url, poolSize: 20, onIdleError: () => undefined });
await migrate(store.pool);
await addDomain(store.pool, 'bench.test');
await createAccount(store.pool, 'bob@bench.test', 'bob-password');
const nats = await testNats();
const bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });

const rspamd = existsSync('/usr/bin/rspamd') ? await startTestRspamd() : undefined;

interface Variant {
  readonly name: string;
  readonly auth: boolean;
  readonly scanner?: SpamScanner;
}
const variants: Variant[] = [
  { name: 'checks off', auth: false },
  { name: 'SPF+DKIM+DMARC+ARC', auth: true },
  ...(rspamd
    ? [
        {
          name: 'the same + rspamd',
          auth: true,
          scanner: createRspamdClient({ url: rspamd.url, timeoutMs: 10_000 }),
        },
      ]
    : []),
];

async function measure(variant: Variant) {
  const metrics = createMetricsRegistry(`bench-${variant.name}`);
  const inbound = inboundChecks(
    {
      mailAuth: variant.auth,
      mailAuthTimeoutMs: 15_000,
      dmarcEnforcement: 'reject',
      rspamdTimeoutMs: 10_000,
      rspamdFailure: 'accept',
    },
    resolverClient,
    variant.scanner,
  );
  const ingress = await startSmtpIngress({
    pool: store.pool,
    bus,
    logger,
    metrics,
    hostname: 'mx.bench.test',
    host: '127.0.0.1',
    listeners: [{ name: 'mx', role: 'mx', port: 0, implicitTls: false }],
    tls: undefined,
    maxMessageBytes: 10 * 1024 * 1024,
    maxRecipients: 100,
    maxConnections: 1000,
    maxConnectionsPerAddress: 1000,
    commandTimeoutMs: 60_000,
    dataTimeoutMs: 60_000,
    allowPlaintextAuth: false,
    inbound,
    checkLoopbackClients: true,
  });
  const port = ingress.ports.mx!;
  const source = (messages: number, sessions: number) =>
    run('/usr/sbin/smtp-source', [
      ...['-s', String(sessions), '-m', String(messages), '-F', messageFile],
      ...['-M', 'client.sender.bench', '-f', 'alice@sender.bench', '-t', 'bob@bench.test'],
      `127.0.0.1:${port}`,
    ]);
  await source(200, 4); // warm-up: JIT, pools, the resolver's cache
  const before = await latencyBuckets(metrics);
  const accepted = await acceptedCount(metrics);
  const started = process.hrtime.bigint();
  await source(MESSAGES, SESSIONS);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = await latencyBuckets(metrics);
  const ok = (await acceptedCount(metrics)) - accepted;
  await ingress.stop();
  return {
    seconds,
    rate: MESSAGES / seconds,
    ok,
    p50: quantile(before, after, 0.5),
    p99: quantile(before, after, 0.99),
  };
}

async function acceptedCount(metrics: Registry): Promise<number> {
  const { values } = await metrics.getSingleMetric('tegami_smtp_transactions_total')!.get();
  return values.filter((v) => v.labels.result === 'accepted').reduce((n, v) => n + v.value, 0);
}

async function latencyBuckets(metrics: Registry): Promise<Map<number, number>> {
  const { values } = await metrics.getSingleMetric('tegami_smtp_queue_latency_seconds')!.get();
  const buckets = new Map<number, number>();
  for (const v of values) {
    if ((v as { metricName?: string }).metricName !== 'tegami_smtp_queue_latency_seconds_bucket') continue;
    const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + v.value);
  }
  return buckets;
}

/** histogram_quantile() over the difference of two scrapes, in milliseconds. */
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const rows = [...after.entries()]
    .map(([le, n]) => [le, n - (before.get(le) ?? 0)] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = rows.at(-1)![1];
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of rows) {
    if (count >= q * total) {
      if (bound === Number.POSITIVE_INFINITY) return prevBound * 1000;
      return (
        (prevBound + ((bound - prevBound) * (q * total - prevCount)) / Math.max(1, count - prevCount)) * 1000
      );
    }
    prevBound = bound;
    prevCount = count;
  }
  return Number.NaN;
}

try {
  console.log(`${MESSAGES} messages of ${signed.length} bytes (DKIM-signed) over ${SESSIONS} sessions`);
  let base = 0;
  for (const variant of variants) {
    const r = await measure(variant);
    if (base === 0) base = r.rate;
    console.log(
      `${variant.name.padEnd(22)} ${r.rate.toFixed(1).padStart(8)} msg/s  (${r.seconds.toFixed(2)} s, ${r.ok} accepted)` +
        `  ratio ${(r.rate / base).toFixed(2)}  end of DATA → 250 p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
    );
  }
} finally {
  await rspamd?.stop();
  await bus.close();
  await store.close();
  await database.drop();
  resolverClient.close();
  await resolver.stop();
  await dns.stop();
}
