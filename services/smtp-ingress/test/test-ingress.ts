import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNatsBus, type DeliveryJob, type MailBus } from '@tegami/bus';
import { createLogger, createMetricsRegistry, ensureSelfSignedCertificate } from '@tegami/runtime';
import {
  addAlias,
  addDomain,
  createAccount,
  createSecretsKeyring,
  findQueuedMessage,
  legacySaslPolicy,
  migrate,
  openStore,
  type QueuedMessage,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, startTcpProxy, type TcpProxy, testNats } from '@tegami/testing';
import type { Registry } from 'prom-client';
import { type SmtpIngress, type SmtpIngressDeps, startSmtpIngress } from '../src/smtp-ingress.js';

export const USERS = { alice: 'alice-secret', bob: 'bob-secret' } as const;
export const DOMAIN = 'example.test';
/** CRAM-MD5 and DIGEST-MD5 on, their secrets sealed with a key of the test's own. */
export const LEGACY_SASL = legacySaslPolicy(createSecretsKeyring([randomBytes(32)]), true);

export interface TestIngress {
  readonly ingress: SmtpIngress;
  readonly ports: { mx: number; submission: number; submissions: number };
  readonly store: StorePool;
  readonly bus: MailBus;
  readonly metrics: Registry;
  /** Proxies in front of Postgres and NATS, to make them look stopped. */
  readonly pgProxy: TcpProxy;
  readonly natsProxy: TcpProxy;
  /** Jobs seen on the queue so far. */
  readonly jobs: DeliveryJob[];
  waitForJob(queueId: string, timeoutMs?: number): Promise<DeliveryJob>;
  queued(queueId: string): Promise<QueuedMessage | undefined>;
  stop(): Promise<void>;
}

/**
 * smtp-ingress on loopback port 0 against a fresh database and NATS prefix, both reached
 * through cuttable proxies, with users alice and bob and the alias sales → alice in
 * example.test.
 */
export async function startTestIngress(overrides: Partial<SmtpIngressDeps> = {}): Promise<TestIngress> {
  const database = await createTestDatabase();
  const pgUrl = new URL(database.url);
  const pgProxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  pgUrl.hostname = '127.0.0.1';
  pgUrl.port = String(pgProxy.port);
  const store = openStore({
    url: pgUrl.toString(),
    poolSize: 8,
    connectTimeoutMs: 2000,
    onIdleError: () => undefined,
  });
  await migrate(store.pool);
  await addDomain(store.pool, DOMAIN);
  await createAccount(store.pool, `alice@${DOMAIN}`, USERS.alice, LEGACY_SASL);
  await createAccount(store.pool, `bob@${DOMAIN}`, USERS.bob, LEGACY_SASL);
  await addAlias(store.pool, `sales@${DOMAIN}`, [`alice@${DOMAIN}`]);

  const nats = await testNats();
  const natsUrl = new URL(nats.url);
  const natsProxy = await startTcpProxy({ host: natsUrl.hostname, port: Number(natsUrl.port || 4222) });
  const bus = await connectNatsBus({
    servers: `nats://127.0.0.1:${natsProxy.port}`,
    prefix: nats.prefix,
    requestTimeoutMs: 1500,
    reconnectWaitMs: 200,
  });
  // A second connection, straight to NATS, watches the queue as the delivery-worker would.
  const watcher = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
  const jobs: DeliveryJob[] = [];
  const consumer = watcher.consumeJobs(async (job, ctl) => {
    jobs.push(job);
    await ctl.ack();
  });

  const tls = await ensureSelfSignedCertificate(mkdtempSync(join(tmpdir(), 'tegami-smtp-tls-')), 'localhost');
  const metrics = createMetricsRegistry('smtp-ingress-test');
  const ingress = await startSmtpIngress({
    pool: store.pool,
    bus,
    logger: createLogger({ service: 'smtp-ingress-test', level: 'silent' }),
    metrics,
    hostname: 'mx.example.test',
    host: '127.0.0.1',
    listeners: [
      { name: 'mx', role: 'mx', port: 0, implicitTls: false },
      { name: 'submission', role: 'submission', port: 0, implicitTls: false },
      { name: 'submissions', role: 'submission', port: 0, implicitTls: true },
    ],
    tls: { cert: tls.cert, key: tls.key },
    maxMessageBytes: 1024 * 1024,
    maxRecipients: 5,
    maxConnections: 100,
    maxConnectionsPerAddress: 50,
    commandTimeoutMs: 10_000,
    dataTimeoutMs: 10_000,
    allowPlaintextAuth: false,
    legacySasl: LEGACY_SASL,
    abuseLimits: {
      maxAuthFailures: 4,
      maxErrors: 1000,
      baseDelayMs: 50,
      maxDelayMs: 400,
      windowMs: 60_000,
      freeErrors: 3,
    },
    ...overrides,
  });
  const ports = ingress.ports as { mx: number; submission: number; submissions: number };
  return {
    ingress,
    ports,
    store,
    bus,
    metrics,
    pgProxy,
    natsProxy,
    jobs,
    async waitForJob(queueId, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = jobs.find((j) => j.queueId === queueId);
        if (job) return job;
        if (Date.now() > deadline) throw new Error(`no job for ${queueId} on the queue`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    queued: (queueId) => findQueuedMessage(store.pool, queueId),
    async stop() {
      await ingress.stop();
      await consumer.stop();
      await watcher.close();
      await bus.close();
      await store.close();
      await pgProxy.close();
      await natsProxy.close();
      await database.drop();
    },
  };
}

/** The queue id in `250 2.0.0 Ok: queued as X`. */
export function queueIdOf(text: string): string {
  const match = /queued as ([0-9A-Z]+)/.exec(text);
  if (!match) throw new Error(`no queue id in ${JSON.stringify(text)}`);
  return match[1]!;
}
