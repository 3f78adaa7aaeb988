import { type AdminListenerSettings, startAdminServer } from '@tegami/admin';
import { createMemoryBus } from '@tegami/bus';
import {
  type DeliverySettings,
  type DeliveryWorkerHandle,
  describeMessage,
  settleDkimKeys,
  startDeliveryWorker,
} from '@tegami/delivery-worker';
import { startDnsResolver, type Upstream } from '@tegami/dns-resolver';
import { type ImapGateway, rspamdLearningClient, startImapGateway } from '@tegami/imap-gateway';
import { type PopGateway, startPopGateway } from '@tegami/pop-gateway';
import { cachedResolverClient, createResolverClient, publishStandaloneResolver } from '@tegami/rpc';
import {
  createMetricsRegistry,
  drainTimeoutOf,
  ensureSelfSignedCertificate,
  type Logger,
  type LoginClientLimits,
  loadTlsFromFiles,
  type MtaStsPublication,
  type OpsServer,
  startOpsServer,
  type TlsPolicy,
} from '@tegami/runtime';
import {
  type InboundCheckConfig,
  inboundChecks,
  mtaStsHostOf,
  type SmtpIngress,
  smtpListeners,
  startSmtpIngress,
} from '@tegami/smtp-ingress';
import {
  applyPasswordChecks,
  createActivityCounter,
  ensureDomain,
  ensureSecretsKeyFile,
  ensureSrsSecretFile,
  type LegacySaslSettings,
  type LoginThrottlePolicy,
  loadSecretsKeyring,
  loadSrsSecrets,
  migrate,
  openStore,
  type PasswordCheckSettingsLike,
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
  /** TEGAMI_SHUTDOWN_TIMEOUT_MS: the drains of the services fit in it. */
  readonly shutdownTimeoutMs: number;
  /** Postgres connections shared by all five services. */
  readonly poolSize: number;
  readonly logger: Logger;
  /** A human line per slow start-up step (the first start creates the database). */
  readonly progress?: (line: string) => void;
  /** The per-account login delay of SMTP AUTH, POP3 and IMAP (the services' default when absent). */
  readonly loginThrottle?: LoginThrottlePolicy;
  /** TEGAMI_AUTH_CACHE_* and TEGAMI_PASSWORD_SCRYPT_LN; no cache and the default cost when absent. */
  readonly passwordChecks?: PasswordCheckSettingsLike;
  /** Ciphers and oldest TLS version of every TLS port (TEGAMI_TLS_*). */
  readonly tlsPolicy: TlsPolicy;
  /**
   * TEGAMI_SECRETS_KEY_FILE (default: one generated in the data directory; it also opens the
   * DKIM keys) and TEGAMI_SASL_LEGACY_MECHANISMS.
   */
  readonly legacySasl: LegacySaslSettings;
  /** TEGAMI_SRS_SECRET_FILE; default: `srs.secret`, generated in the data directory. */
  readonly srsSecretFile?: string | undefined;
  /** The admin API and web console (TEGAMI_ADMIN_*: 127.0.0.1:18081 by default); none when absent. */
  readonly admin?: AdminListenerSettings | undefined;
  readonly smtp: Omit<
    Parameters<typeof startSmtpIngress>[0],
    'pool' | 'bus' | 'logger' | 'metrics' | 'hostname' | 'listeners' | 'tls' | 'tlsPolicy' | 'host' | 'mtaSts'
  > & {
    smtpHost: string;
    mxPort: number;
    submissionPort: number;
    submissionsPort: number;
    popBeforeSmtpTtlMs?: number | undefined;
    /** The MTA-STS policy host (TEGAMI_MTA_STS_*); none when the port is unset. */
    mtaStsPort?: number | undefined;
    mtaStsTls: boolean;
    mtaStsPolicy: MtaStsPublication;
  };
  /** SPF/DKIM/DMARC/ARC and rspamd on port 25 (TEGAMI_MAIL_AUTH, TEGAMI_RSPAMD_*); off when absent. */
  readonly inboundChecks?: InboundCheckConfig;
  readonly delivery: DeliverySettings;
  readonly pop: {
    readonly popHost: string;
    readonly popPort: number;
    readonly popsPort: number;
    readonly popIdleTimeoutMs: number;
    readonly popDeadlines: LoginClientLimits;
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
    readonly imapDeadlines: LoginClientLimits;
    readonly imapMaxConnections: number;
    readonly imapMaxConnectionsPerIp: number;
    readonly imapMaxConnectionsPerUser: number;
    readonly imapAllowPlaintextAuth: boolean;
    readonly imapMaxMessageSize: number;
    readonly imapMaxCommandsPerSecond: number;
    readonly imapMessageCacheMiB: number;
    /** TEGAMI_MANAGESIEVE_PORT and what each user may keep (the imap-gateway serves ManageSieve). */
    readonly managesievePort: number;
    readonly managesieveMaxScripts: number;
    readonly managesieveMaxScriptSize: number;
    /** TEGAMI_RSPAMD_CONTROLLER_URL: learning from Junk; off when unset. */
    readonly rspamdControllerUrl?: string | undefined;
    /** TEGAMI_RSPAMD_PASSWORD_FILE: the controller's password. */
    readonly rspamdPasswordFile?: string | undefined;
  };
  readonly dns: {
    readonly upstreams: readonly Upstream[];
    readonly timeoutMs: number;
    readonly attempts: number;
    readonly cacheEntries: number;
    readonly negativeTtlMaxMs: number;
  };
}

// The most any closing step after the drains may take (closing pools, servers, Postgres).
const STEP_LIMIT_MS = 3_000;

export interface StandaloneHandle {
  readonly opsUrl: string;
  /** Where the admin API answers (its console under /console/); undefined when it is off. */
  readonly adminUrl: string | undefined;
  /** Why the admin API did not start (its port was in use); undefined when it runs or is off. */
  readonly adminProblem?: string | undefined;
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
  // Two kinds of things to stop. The services drain side by side, each within its own
  // deadline (drainTimeoutOf the shutdown timeout), as they would as separate processes;
  // then what they stood on closes in reverse order of starting, each step bounded, so a
  // stuck step is logged and passed over instead of holding the process past its deadline.
  const services: { readonly name: string; stop(): Promise<void> }[] = [];
  const stack: { readonly name: string; stop(): Promise<void> }[] = [];
  const stop = async () => {
    await Promise.all(services.map((service) => bounded(service, drainTimeoutMs + STEP_LIMIT_MS)));
    for (const step of stack.reverse()) await bounded(step, STEP_LIMIT_MS);
  };
  const bounded = async (step: { readonly name: string; stop(): Promise<void> }, limitMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), limitMs);
    });
    const outcome = await Promise.race([
      step.stop().catch((err) => logger.error({ err, step: step.name }, 'error while stopping')),
      late,
    ]);
    clearTimeout(timer);
    if (outcome === 'late')
      logger.warn({ step: step.name, limitMs }, 'still stopping after its time: going on without it');
  };
  const drainTimeoutMs = drainTimeoutOf(deps.shutdownTimeoutMs);
  try {
    const postgresLog = logger.child({ component: 'postgres' });
    const postgres = await startEmbeddedPostgres(deps.dataDir, {
      owner: 'standalone',
      ...(deps.progress ? { progress: deps.progress } : {}),
      serverLog: (line) => postgresLog.warn({ line }, 'embedded Postgres says'),
    });
    stack.push({ name: 'postgres', stop: () => postgres.stop() });
    logger.info({ dataDir: deps.dataDir, created: postgres.created }, 'embedded Postgres ready');

    const store = openStore({
      url: postgres.url,
      poolSize: deps.poolSize,
      applicationName: 'tegami-standalone',
      onIdleError: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
    });
    stack.push({ name: 'database pool', stop: () => store.close() });
    const migration = await migrate(store.pool);
    if (migration.applied.length > 0) logger.info(migration, 'schema migrated');
    if ((await ensureDomain(store.pool, deps.domain)).created) {
      logger.info({ domain: deps.domain }, 'created the local mail domain');
    }

    // CRAM-MD5 and DIGEST-MD5 stay on for a laptop, and `tegami dkim create` works: their
    // secrets and the DKIM private keys are sealed with a key kept beside the database (0600),
    // unless the operator gives one (TEGAMI_SASL_LEGACY_MECHANISMS=false turns only SASL off).
    let secretsKeyFile = deps.legacySasl.secretsKeyFile;
    if (!secretsKeyFile) {
      const key = ensureSecretsKeyFile(deps.dataDir);
      if (key.generated)
        logger.info(
          { keyFile: key.file },
          'generated the key that seals CRAM-MD5/DIGEST-MD5 secrets and DKIM private keys',
        );
      secretsKeyFile = key.file;
    }
    const legacySasl = await prepareLegacySasl(store.pool, { ...deps.legacySasl, secretsKeyFile }, logger);
    const passwordCacheFor = deps.passwordChecks ? applyPasswordChecks(deps.passwordChecks) : () => undefined;
    const secretsKeyring = loadSecretsKeyring(secretsKeyFile);
    await settleDkimKeys(store.pool, secretsKeyring, logger);

    // Forwarding through aliases rewrites senders with SRS; the secret that signs them stays
    // with the data, so bounces to addresses written before a restart still come back.
    let srsSecretFile = deps.srsSecretFile;
    if (!srsSecretFile) {
      const secret = ensureSrsSecretFile(deps.dataDir);
      if (secret.generated)
        logger.info({ secretFile: secret.file }, 'generated the SRS secret for forwarding');
      srsSecretFile = secret.file;
    }
    const srs = { secrets: loadSrsSecrets(srsSecretFile) };

    const tls = await ensureSelfSignedCertificate(deps.dataDir, 'localhost');
    if (tls.generated)
      logger.info({ certFile: tls.certFile }, 'generated a self-signed TLS certificate for localhost');

    const bus = createMemoryBus();
    stack.push({ name: 'bus', stop: () => bus.close() });
    // One counter of logins and spam verdicts for all the services (one upsert every few
    // seconds, not three); stopped after them and before the pool, so the last counts are written.
    const activity = createActivityCounter(store.pool, {
      onError: (err) =>
        logger.warn({ err }, 'could not write the login and spam counts; kept for the next try'),
    });
    stack.push({ name: 'activity counts', stop: () => activity.stop() });
    const metrics = createMetricsRegistry('standalone');

    // dns-resolver on a loopback port of its own, reached over gRPC like in a cluster.
    const resolver = await startDnsResolver({
      ...deps.dns,
      logger: logger.child({ component: 'dns-resolver' }),
      metrics,
      host: '127.0.0.1',
      port: 0,
    });
    stack.push({ name: 'dns-resolver', stop: () => resolver.stop() });
    // `tegami dkim check` asks this resolver too, while the standalone runs.
    const unpublish = publishStandaloneResolver(deps.dataDir, `127.0.0.1:${resolver.port}`);
    stack.push({ name: 'resolver address', stop: async () => unpublish() });
    const resolverClient = createResolverClient(`127.0.0.1:${resolver.port}`);
    stack.push({ name: 'resolver client', stop: async () => resolverClient.close() });
    // smtp-ingress keeps answers for their TTLs in front of the resolver, as the service does.
    const smtpResolver = cachedResolverClient(resolverClient);

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
      passwordCache: passwordCacheFor('smtp'),
      listeners: smtpListeners(deps.smtp),
      mtaSts: mtaStsHostOf(deps.smtp),
      popBeforeSmtp: deps.smtp.popBeforeSmtpTtlMs !== undefined,
      drainTimeoutMs,
      ...(deps.loginThrottle && { loginThrottle: deps.loginThrottle }),
      inbound: deps.inboundChecks ? inboundChecks(deps.inboundChecks, smtpResolver) : undefined,
      resolver: smtpResolver,
      srs,
      activity,
    });
    services.push({ name: 'smtp-ingress', stop: () => smtp.stop() });

    const delivery = await startDeliveryWorker({
      pool: store.pool,
      bus,
      resolver: resolverClient,
      hostname: deps.hostname,
      logger: logger.child({ component: 'delivery-worker' }),
      settings: deps.delivery,
      describe: describeMessage,
      metrics,
      // The in-process bus lost whatever jobs a crash interrupted; the queue rows did not.
      recoverJobsAtStart: true,
      reports: { resolver: resolverClient },
      srs,
      secretsKeyring,
    });
    services.push({ name: 'delivery-worker', stop: () => delivery.stop({ drainTimeoutMs }) });

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
      passwordCache: passwordCacheFor('pop3'),
      idleTimeoutMs: deps.pop.popIdleTimeoutMs,
      deadlines: deps.pop.popDeadlines,
      maxConnections: deps.pop.popMaxConnections,
      maxConnectionsPerIp: deps.pop.popMaxConnectionsPerIp,
      allowPlaintextAuth: deps.pop.popAllowPlaintextAuth,
      popBeforeSmtpTtlMs: deps.pop.popBeforeSmtpTtlMs,
      loginDelayMs: deps.pop.popLoginDelayMs,
      ...(deps.loginThrottle && { loginThrottle: deps.loginThrottle }),
      activity,
    });
    services.push({ name: 'pop-gateway', stop: () => pop.stop() });

    const rspamdLearning = rspamdLearningClient(deps.imap);
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
      passwordCache: passwordCacheFor('imap'),
      idleTimeoutMs: deps.imap.imapIdleTimeoutMs,
      deadlines: deps.imap.imapDeadlines,
      maxConnections: deps.imap.imapMaxConnections,
      maxConnectionsPerIp: deps.imap.imapMaxConnectionsPerIp,
      maxConnectionsPerUser: deps.imap.imapMaxConnectionsPerUser,
      allowPlaintextAuth: deps.imap.imapAllowPlaintextAuth,
      maxMessageSize: deps.imap.imapMaxMessageSize,
      maxCommandsPerSecond: deps.imap.imapMaxCommandsPerSecond,
      messageCacheBytes: deps.imap.imapMessageCacheMiB * 1024 * 1024,
      managesievePort: deps.imap.managesievePort,
      sieveScriptLimits: {
        maxScripts: deps.imap.managesieveMaxScripts,
        maxBytes: deps.imap.managesieveMaxScriptSize,
      },
      ...(deps.loginThrottle && { loginThrottle: deps.loginThrottle }),
      ...(rspamdLearning && { rspamd: rspamdLearning }),
      activity,
    });
    services.push({ name: 'imap-gateway', stop: () => imap.stop() });

    const ops: OpsServer = await startOpsServer({
      host: deps.opsHost,
      port: deps.opsPort,
      service: 'standalone',
      logger,
      registry: metrics,
      readinessChecks: { postgres: store.ping, bus: () => bus.ping() },
    });
    stack.push({ name: 'ops server', stop: () => ops.stop() });

    // The admin API is a convenience on a laptop: when its port is taken (another standalone,
    // another program on 18081) the mail system runs without it, and the banner says so.
    let adminProblem: string | undefined;
    const admin = deps.admin
      ? await startAdminServer({
          host: deps.admin.host,
          port: deps.admin.port,
          pool: store.pool,
          logger,
          tls: deps.admin.tls && loadTlsFromFiles(deps.admin.tls.certFile, deps.admin.tls.keyFile),
          bodyLimit: deps.admin.bodyLimit,
          readLimit: deps.admin.readLimit,
          writeLimit: deps.admin.writeLimit,
          secretsKeyring,
          legacySasl,
        }).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EADDRINUSE') throw err;
          adminProblem = `not started: ${deps.admin!.host}:${deps.admin!.port} is in use (set TEGAMI_ADMIN_PORT)`;
          logger.warn(
            { host: deps.admin!.host, port: deps.admin!.port },
            'admin API not started: its port is in use',
          );
          return undefined;
        })
      : undefined;
    if (admin) stack.push({ name: 'admin API', stop: () => admin.stop() });

    return {
      opsUrl: ops.url,
      adminUrl: admin?.url,
      adminProblem,
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
