import { connectNatsBus, type MailBus } from '@tegami/bus';
import { describeMessage } from '@tegami/protocol';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import {
  addAlias,
  addDomain,
  createAccount,
  findAccount,
  findMailbox,
  mailboxRawMessages,
  migrate,
  newQueueId,
  openStore,
  queueAcceptedMessage,
  type StorePool,
  type TraceMessage,
  traceMessages,
} from '@tegami/store';
import { createTestDatabase, freePort, testNats } from '@tegami/testing';
import type { Registry } from 'prom-client';
import {
  type DeliveryWorkerDeps,
  type DeliveryWorkerHandle,
  startDeliveryWorker,
} from '../src/delivery-worker.js';
import type { DeliverySettings } from '../src/settings.js';
import type { TestResolver } from './fake-resolver.js';

export const DOMAIN = 'example.test';
export const HOSTNAME = 'mx.example.test';

export interface SubmitInput {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw?: string | Buffer;
  readonly notify?: readonly ('SUCCESS' | 'FAILURE' | 'DELAY')[] | 'NEVER';
  readonly orcpt?: string;
  readonly ret?: 'FULL' | 'HDRS';
  readonly envid?: string;
  /** The account id of a sender who authenticated (submission with AUTH). */
  readonly authenticatedAs?: string;
  /** Queued but no job published yet: release(queueId) publishes it. */
  readonly held?: boolean;
  /** The inbound checks said Junk (DMARC quarantine, spam). */
  readonly junk?: boolean;
  /** MAIL FROM carried REQUIRETLS (RFC 8689). */
  readonly requireTls?: boolean;
}

export interface TestWorker {
  readonly store: StorePool;
  readonly bus: MailBus;
  readonly resolver: TestResolver;
  metrics: Registry;
  /** The port every scripted peer listens on (each on its own loopback address). */
  readonly smtpPort: number;
  worker: DeliveryWorkerHandle;
  submit(input: SubmitInput): Promise<string>;
  /** Publishes the job of a message submitted `held`. */
  release(queueId: string): Promise<void>;
  /** Waits until no recipient of the message is waiting (or the deadline). */
  settled(queueId: string, timeoutMs?: number): Promise<TraceMessage>;
  /** The raw messages in an account's INBOX, oldest first. */
  inbox(address: string): Promise<string[]>;
  restartWorker(overrides?: Partial<DeliverySettings>): Promise<void>;
  stop(): Promise<void>;
}

export function testSettings(smtpPort: number, overrides: Partial<DeliverySettings> = {}): DeliverySettings {
  return {
    concurrency: 8,
    smtpPort,
    connectTimeoutMs: 2_000,
    smtpTimeoutMs: 5_000,
    tlsVerify: false,
    schedule: { minMs: 300, maxMs: 1_000, lifetimeMs: 60_000 },
    delayWarningMs: 0,
    domainConnections: 5,
    ...overrides,
  };
}

/**
 * A delivery-worker in-process against a fresh database and NATS prefix, with users
 * alice and bob and the alias sales → alice in example.test, and a scripted resolver.
 */
export async function startTestWorker(
  resolver: TestResolver,
  overrides: Partial<DeliverySettings> = {},
  /** More of the worker's deps (TLS outcomes, the SRS secrets). */
  more: Pick<DeliveryWorkerDeps, 'onTlsOutcome' | 'srs'> = {},
): Promise<TestWorker> {
  const database = await createTestDatabase();
  const store = openStore({ url: database.url, poolSize: 10, onIdleError: () => undefined });
  await migrate(store.pool);
  await addDomain(store.pool, DOMAIN);
  await createAccount(store.pool, `alice@${DOMAIN}`, 'alice-secret');
  await createAccount(store.pool, `bob@${DOMAIN}`, 'bob-secret');
  await addAlias(store.pool, `sales@${DOMAIN}`, [`alice@${DOMAIN}`]);
  const nats = await testNats();
  const bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix, ackWaitMs: 10_000 });
  const smtpPort = await freePort();
  const logger = createLogger({
    service: 'delivery-worker-test',
    level: (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'warn',
  });
  let settings = testSettings(smtpPort, overrides);
  const start = () => {
    handle.metrics = createMetricsRegistry('delivery-worker-test');
    return startDeliveryWorker({
      pool: store.pool,
      bus,
      resolver,
      hostname: HOSTNAME,
      logger,
      settings,
      describe: describeMessage,
      metrics: handle.metrics,
      dueScanIntervalMs: 200,
      ...more,
    });
  };

  const handle: TestWorker = {
    store,
    bus,
    resolver,
    metrics: createMetricsRegistry('delivery-worker-test'),
    smtpPort,
    worker: undefined as unknown as DeliveryWorkerHandle,
    async submit(input) {
      const queueId = newQueueId();
      const raw = Buffer.from(
        input.raw ??
          `From: <${input.from}>\r\nTo: ${input.to.join(', ')}\r\nSubject: test ${queueId}\r\nMessage-ID: <${queueId}@test>\r\n\r\nHello ${queueId}\r\n`,
      );
      // As smtp-ingress does: the job published inside the transaction that writes the row.
      const publish = async () => {
        if (!input.held) await bus.publishJob({ queueId, enqueuedAt: new Date().toISOString() });
      };
      const message = {
        queueId,
        raw,
        sender: input.from,
        recipients: input.to.map((address) => ({
          address,
          ...(input.notify ? { notify: input.notify } : {}),
          ...(input.orcpt ? { orcpt: input.orcpt } : {}),
        })),
        messageId: `<${queueId}@test>`,
        dsnRet: input.ret,
        dsnEnvid: input.envid,
        authenticatedAs: input.authenticatedAs,
        junk: input.junk,
        requireTls: input.requireTls,
      };
      await queueAcceptedMessage(store.pool, message, publish);
      return queueId;
    },
    async release(queueId) {
      await bus.publishJob({ queueId, enqueuedAt: new Date().toISOString() });
    },
    async settled(queueId, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [trace] = await traceMessages(store.pool, queueId);
        const waiting = trace?.recipients.some((r) => r.status === 'pending' || r.status === 'deferred');
        // The message is marked done just after its last recipient settles: wait for both.
        if (trace && !waiting && trace.state === 'done') return trace;
        if (Date.now() > deadline)
          throw new Error(`${queueId} not settled: ${JSON.stringify(trace?.recipients)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async inbox(address) {
      const account = await findAccount(store.pool, address);
      if (!account) throw new Error(`no account ${address}`);
      const inbox = await findMailbox(store.pool, account.id, 'INBOX');
      return (await mailboxRawMessages(store.pool, inbox!.id)).map((m) => m.raw.toString('utf8'));
    },
    async restartWorker(more = {}) {
      await handle.worker.stop();
      settings = testSettings(smtpPort, { ...overrides, ...more });
      handle.worker = await start();
    },
    async stop() {
      await handle.worker.stop();
      await bus.close();
      await store.close();
    },
  };
  handle.worker = await start();
  return handle;
}
