import { connectNatsBus } from '@tegami/bus';
import {
  commonSettings,
  createLogger,
  createMetricsRegistry,
  drainTimeoutOf,
  exitOnStartupError,
  int,
  loadConfigOrExit,
  loadTlsFromFiles,
  natsUrl,
  onShutdown,
  postgresUrl,
  proxyProtocolSettings,
  startOpsServer,
  string,
  tlsFiles,
} from '@tegami/runtime';
import { assertSchemaCurrent, openStore, sweepAbandoned } from '@tegami/store';
import { smtpListeners, smtpSettings } from './settings.js';
import { startSmtpIngress } from './smtp-ingress.js';

const config = loadConfigOrExit(
  {
    ...commonSettings(),
    ...smtpSettings(),
    databaseUrl: postgresUrl('DATABASE_URL'),
    poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 1, max: 1000 }),
    natsServers: natsUrl('NATS_URL'),
    natsPrefix: string('TEGAMI_NATS_PREFIX'),
    hostname: string('TEGAMI_HOSTNAME'),
    tlsFiles: tlsFiles(),
    proxy: proxyProtocolSettings(),
  },
  { service: 'smtp-ingress' },
);
const logger = createLogger({ service: 'smtp-ingress', level: config.logLevel });

// Every 'accepting' row older than this had its client told 451 long ago.
const ABANDONED_AFTER_MS = 10 * 60_000;

const running = await exitOnStartupError('could not start', async () => {
  const tls = config.tlsFiles
    ? loadTlsFromFiles(config.tlsFiles.certFile, config.tlsFiles.keyFile)
    : undefined;
  const store = openStore({
    url: config.databaseUrl,
    poolSize: config.poolSize,
    applicationName: 'tegami-smtp-ingress',
    onIdleError: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
  });
  await assertSchemaCurrent(store.pool);
  const bus = await connectNatsBus({ servers: config.natsServers, prefix: config.natsPrefix, logger });
  const metrics = createMetricsRegistry('smtp-ingress');
  const ingress = await startSmtpIngress({
    ...config,
    pool: store.pool,
    bus,
    logger,
    metrics,
    host: config.smtpHost,
    tls,
    listeners: smtpListeners(config),
    popBeforeSmtp: config.popBeforeSmtpTtlMs !== undefined,
    drainTimeoutMs: drainTimeoutOf(config.shutdownTimeoutMs),
  });
  const sweep = setInterval(() => {
    sweepAbandoned(store.pool, ABANDONED_AFTER_MS).then(
      (removed) => removed > 0 && logger.info({ removed }, 'removed abandoned queue rows'),
      (err) => logger.warn({ err }, 'sweep of abandoned queue rows failed'),
    );
  }, 60_000);
  sweep.unref();
  const ops = await startOpsServer({
    host: config.opsHost,
    port: config.opsPort,
    service: 'smtp-ingress',
    logger,
    registry: metrics,
    readinessChecks: { postgres: store.ping, nats: () => bus.ping() },
  });
  return { store, bus, ingress, ops, sweep };
});

onShutdown(
  async () => {
    running.ops.markNotReady('shutting down');
    clearInterval(running.sweep);
    await running.ingress.stop();
    await running.bus.close();
    await running.store.close();
    await running.ops.stop();
  },
  { timeoutMs: config.shutdownTimeoutMs, logger },
);
