import { randomBytes } from 'node:crypto';
import { connectNatsBus, type MailBus } from '@tegami/bus';
import { describeMessage, type SrsOptions } from '@tegami/protocol';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import {
  addAlias,
  addDomain,
  createSecretsKeyring,
  migrate,
  openStore,
  type SecretsKeyring,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, testNats } from '@tegami/testing';
import {
  type DeliveryWorkerHandle,
  startDeliveryWorker,
} from '../../services/delivery-worker/src/delivery-worker.js';
import { testSettings } from '../../services/delivery-worker/test/test-worker.js';
import { startTestResolver, type TestResolver } from '../../services/dns-resolver/test/test-resolver.js';
import { inboundChecks } from '../../services/smtp-ingress/src/inbound-setup.js';
import { type SmtpIngress, startSmtpIngress } from '../../services/smtp-ingress/src/smtp-ingress.js';

// One Tegami site in one process: smtp-ingress (port 25 only), delivery-worker and
// dns-resolver, each started with its own start(deps) as the standalone does. Unlike
// mail-site.ts (processes, as the chart runs them), it checks loopback clients' mail with
// SPF, DKIM, DMARC and ARC: a test can only send from 127.0.0.0/8, which a deployment
// treats as a local program and does not authenticate.

export interface InProcessSiteOptions {
  readonly domain: string;
  /** Loopback address smtp-ingress listens on and the delivery-worker sends from. */
  readonly ip: string;
  /** The MX port of every site and peer of the test. */
  readonly mxPort: number;
  /** `host:port` of the test DNS server. */
  readonly dnsUpstream: string;
  readonly aliases?: Readonly<Record<string, readonly string[]>>;
  /** TEGAMI_SRS_SECRET_FILE's secrets. */
  readonly srs?: SrsOptions;
}

export interface InProcessSite {
  readonly hostname: string;
  readonly store: StorePool;
  /** Opens the DKIM keys (TEGAMI_SECRETS_KEY_FILE); make keys with it (createDkimKey). */
  readonly keyring: SecretsKeyring;
  readonly ingress: SmtpIngress;
  readonly worker: DeliveryWorkerHandle;
  stop(): Promise<void>;
}

export async function startInProcessSite(options: InProcessSiteOptions): Promise<InProcessSite> {
  const database = await createTestDatabase();
  const store = openStore({ url: database.url, poolSize: 8, onIdleError: () => undefined });
  await migrate(store.pool);
  await addDomain(store.pool, options.domain);
  for (const [alias, destinations] of Object.entries(options.aliases ?? {}))
    await addAlias(store.pool, `${alias}@${options.domain}`, destinations);
  const keyring = createSecretsKeyring([randomBytes(32)]);
  const nats = await testNats();
  const bus: MailBus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
  const resolver: TestResolver = await startTestResolver([options.dnsUpstream]);
  const hostname = `mx.${options.domain}`;
  const level = (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'warn';
  const ingress = await startSmtpIngress({
    pool: store.pool,
    bus,
    logger: createLogger({ service: 'smtp-ingress', level }),
    metrics: createMetricsRegistry('smtp-ingress'),
    hostname,
    host: options.ip,
    listeners: [{ name: 'mx', role: 'mx', port: options.mxPort, implicitTls: false }],
    tls: undefined,
    maxMessageBytes: 1024 * 1024,
    maxRecipients: 10,
    maxConnections: 50,
    maxConnectionsPerAddress: 50,
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
    resolver: resolver.client,
    ...(options.srs && { srs: options.srs }),
  });
  const worker = await startDeliveryWorker({
    pool: store.pool,
    bus,
    resolver: resolver.client,
    hostname,
    logger: createLogger({ service: 'delivery-worker', level }),
    settings: testSettings(options.mxPort, { bindAddress: options.ip }),
    describe: describeMessage,
    dueScanIntervalMs: 200,
    secretsKeyring: keyring,
    srs: options.srs,
  });
  return {
    hostname,
    store,
    keyring,
    ingress,
    worker,
    async stop() {
      await ingress.stop();
      await worker.stop();
      await bus.close();
      await resolver.stop();
      await store.close();
      await database.drop();
    },
  };
}
