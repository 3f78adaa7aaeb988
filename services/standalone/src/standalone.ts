import { createMemoryBus } from '@tegami/bus';
import {
  type DeliverySettings,
  type DeliveryWorkerHandle,
  describeMessage,
  startDeliveryWorker,
} from '@tegami/delivery-worker';
import { startDnsResolver, type Upstream } from '@tegami/dns-resolver';
import { type ImapGateway, startImapGateway } from '@tegami/imap-gateway';
import { type PopGateway, startPopGateway } from '@tegami/pop-gateway';
import { createResolverClient } from '@tegami/rpc';
import {
  createMetricsRegistry,
  ensureSelfSignedCertificate,
  type Logger,
  type OpsServer,
  startOpsServer,
  type TlsPolicy,
} from '@tegami/runtime';
import { type SmtpIngress, smtpListeners, startSmtpIngress } from '@tegami/smtp-ingress';
import {
  EMBEDDED_MAX_CONNECTIONS,
  ensureDomain,
  ensureSecretsKeyFile,
  type LegacySaslSettings,
  migrate,
  openStore,
  prepareLegacySasl,
  type StorePool,
  startEmbeddedPostgres,
} from '@tegami/store';

export interface StandaloneDeps {
  readonly dataDir: string;
  readonly domain: string;
  readonly hostname: string;
  readonly opsHost: string;
  readonly opsPort: number;
  readonly logger: Logger;
  /** Ciphers and oldest TLS version of every TLS port (TEGAMI_TLS_*). */
  readonly tlsPolicy: TlsPolicy;
  /** TEGAMI_SECRETS_KEY_FILE (default: one generated in the data directory) and TEGAMI_SASL_LEGACY_MECHANISMS. */
  readonly legacySasl: LegacySaslSettings;
  readonly smtp: Omit<
    Parameters<typeof startSmtpIngress>[0],
    'pool' | 'bus' | 'logger' | 'metrics' | 'hostname' | 'listeners' | 'tls' | 'tlsPolicy' | 'host'
  > & {
    smtpHost: string;
    mxPort: number;
    submissionPort: number;
    submissionsPort: number;
    popBeforeSmtpTtlMs?: number | undefined;
  };
  readonly delivery: DeliverySettings;
  readonly pop: {
    readonly popHost: string;
    readonly popPort: number;
    readonly popsPort: number;
    readonly popIdleTimeoutMs: number;
    readonly popMaxConnections: number;
    readonly popMaxConnectionsPerIp: number;
    readonly popAllowPlaintextAuth: boolean;
    readonly popBeforeSmtpTtlMs?: number | undefined;
    readonly popLoginDelayMs?: number | undefined;
  };
  readonly imap: {
    readonly imapHost: string;
    readonly imapPort: number;
    readonly imapsPort: number;
    readonly imapIdleTimeoutMs: number;
    readonly imapMaxConnections: number;
    readonly imapMaxConnectionsPerIp: number;
    readonly imapMaxConnectionsPerUser: number;
    readonly imapAllowPlaintextAuth: boolean;
    readonly imapMaxMessageSize: number;
    readonly imapMaxCommandsPerSecond: number;
  };
  readonly dns: {
    readonly upstreams: readonly Upstream[];
    readonly timeoutMs: number;
    readonly attempts: number;
    readonly cacheEntries: number;
    readonly negativeTtlMaxMs: number;
  };
}

export interface StandaloneHandle {
  readonly opsUrl: string;
  readonly databaseUrl: string;
  readonly store: StorePool;
  readonly smtp: SmtpIngress;
  readonly delivery: DeliveryWorkerHandle;
  readonly pop: PopGateway;
  readonly imap: ImapGateway;
  stop(): Promise<void>;
}

/**
 * All of Tegami in one process for a laptop: the embedded Postgres, the schema, the
 * in-process bus, the ops server, and every service that exists so far (each started with
 * the same start(deps) it has as a program of its own).
 */
export async function startStandalone(deps: StandaloneDeps): Promise<StandaloneHandle> {
  const { logger } = deps;
  const stack: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stack.reverse()) {
      await step().catch((err) => logger.error({ err }, 'error while stopping'));
    }
  };
  try {
    const postgres = await startEmbeddedPostgres(deps.dataDir);
    stack.push(() => postgres.stop());
    logger.info({ dataDir: deps.dataDir, created: postgres.created }, 'embedded Postgres ready');

    // Leave a connection of the socket server free for `tegami` while this runs.
    const store = openStore({
      url: postgres.url,
      poolSize: EMBEDDED_MAX_CONNECTIONS - 2,
      applicationName: 'tegami-standalone',
      onIdleError: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
    });
    stack.push(() => store.close());
    const migration = await migrate(store.pool);
    if (migration.applied.length > 0) logger.info(migration, 'schema migrated');
    if ((await ensureDomain(store.pool, deps.domain)).created) {
      logger.info({ domain: deps.domain }, 'created the local mail domain');
    }

    // CRAM-MD5 and DIGEST-MD5 stay on for a laptop: their secrets are sealed with a key kept
    // beside the database (0600), unless the operator gives one or turns them off.
    let secretsKeyFile = deps.legacySasl.secretsKeyFile;
    if (!secretsKeyFile && deps.legacySasl.saslLegacyMechanisms !== false) {
      const key = ensureSecretsKeyFile(deps.dataDir);
      if (key.generated)
        logger.info({ keyFile: key.file }, 'generated the key that seals CRAM-MD5/DIGEST-MD5 secrets');
      secretsKeyFile = key.file;
    }
    const legacySasl = await prepareLegacySasl(store.pool, { ...deps.legacySasl, secretsKeyFile }, logger);

    const tls = await ensureSelfSignedCertificate(deps.dataDir, 'localhost');
    if (tls.generated)
      logger.info({ certFile: tls.certFile }, 'generated a self-signed TLS certificate for localhost');

    const bus = createMemoryBus();
    stack.push(() => bus.close());
    const metrics = createMetricsRegistry('standalone');

    const smtp = await startSmtpIngress({
      ...deps.smtp,
      pool: store.pool,
      bus,
      logger: logger.child({ component: 'smtp-ingress' }),
      metrics,
      hostname: deps.hostname,
      host: deps.smtp.smtpHost,
      tls: { cert: tls.cert, key: tls.key },
      tlsPolicy: deps.tlsPolicy,
      legacySasl,
      listeners: smtpListeners(deps.smtp),
      popBeforeSmtp: deps.smtp.popBeforeSmtpTtlMs !== undefined,
    });
    stack.push(() => smtp.stop());

    // dns-resolver on a loopback port of its own, reached over gRPC like in a cluster.
    const resolver = await startDnsResolver({
      ...deps.dns,
      logger: logger.child({ component: 'dns-resolver' }),
      metrics,
      host: '127.0.0.1',
      port: 0,
    });
    stack.push(() => resolver.stop());
    const resolverClient = createResolverClient(`127.0.0.1:${resolver.port}`);
    stack.push(async () => resolverClient.close());

    const delivery = await startDeliveryWorker({
      pool: store.pool,
      bus,
      resolver: resolverClient,
      hostname: deps.hostname,
      logger: logger.child({ component: 'delivery-worker' }),
      settings: deps.delivery,
      describe: describeMessage,
      metrics,
    });
    stack.push(() => delivery.stop());

    const pop = await startPopGateway({
      pool: store.pool,
      bus,
      logger: logger.child({ component: 'pop-gateway' }),
      metrics,
      hostname: deps.hostname,
      host: deps.pop.popHost,
      popPort: deps.pop.popPort,
      popsPort: deps.pop.popsPort,
      tls: { cert: tls.cert, key: tls.key },
      tlsPolicy: deps.tlsPolicy,
      legacySasl,
      idleTimeoutMs: deps.pop.popIdleTimeoutMs,
      maxConnections: deps.pop.popMaxConnections,
      maxConnectionsPerIp: deps.pop.popMaxConnectionsPerIp,
      allowPlaintextAuth: deps.pop.popAllowPlaintextAuth,
      popBeforeSmtpTtlMs: deps.pop.popBeforeSmtpTtlMs,
      loginDelayMs: deps.pop.popLoginDelayMs,
    });
    stack.push(() => pop.stop());

    const imap = await startImapGateway({
      pool: store.pool,
      bus,
      logger: logger.child({ component: 'imap-gateway' }),
      metrics,
      hostname: deps.hostname,
      host: deps.imap.imapHost,
      imapPort: deps.imap.imapPort,
      imapsPort: deps.imap.imapsPort,
      tls: { cert: tls.cert, key: tls.key },
      tlsPolicy: deps.tlsPolicy,
      legacySasl,
      idleTimeoutMs: deps.imap.imapIdleTimeoutMs,
      maxConnections: deps.imap.imapMaxConnections,
      maxConnectionsPerIp: deps.imap.imapMaxConnectionsPerIp,
      maxConnectionsPerUser: deps.imap.imapMaxConnectionsPerUser,
      allowPlaintextAuth: deps.imap.imapAllowPlaintextAuth,
      maxMessageSize: deps.imap.imapMaxMessageSize,
      maxCommandsPerSecond: deps.imap.imapMaxCommandsPerSecond,
    });
    stack.push(() => imap.stop());

    const ops: OpsServer = await startOpsServer({
      host: deps.opsHost,
      port: deps.opsPort,
      service: 'standalone',
      logger,
      registry: metrics,
      readinessChecks: { postgres: store.ping, bus: () => bus.ping() },
    });
    stack.push(() => ops.stop());

    return {
      opsUrl: ops.url,
      databaseUrl: postgres.url,
      store,
      smtp,
      delivery,
      pop,
      imap,
      stop: async () => {
        ops.markNotReady('shutting down');
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
