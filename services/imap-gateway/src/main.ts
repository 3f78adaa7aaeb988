import { connectNatsBus } from '@tegami/bus';
import {
  commonSettings,
  createLogger,
  createMetricsRegistry,
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
import { assertSchemaCurrent, openStore } from '@tegami/store';
import { startImapGateway } from './imap-gateway.js';
import { imapSettings } from './settings.js';

const config = loadConfigOrExit(
  {
    ...commonSettings(),
    ...imapSettings(),
    databaseUrl: postgresUrl('DATABASE_URL'),
    poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 1, max: 1000 }),
    natsServers: natsUrl('NATS_URL'),
    natsPrefix: string('TEGAMI_NATS_PREFIX'),
    hostname: string('TEGAMI_HOSTNAME'),
    tlsFiles: tlsFiles(),
    proxy: proxyProtocolSettings(),
  },
  { service: 'imap-gateway' },
);
const logger = createLogger({ service: 'imap-gateway', level: config.logLevel });

const running = await exitOnStartupError('could not start', async () => {
  const tls = config.tlsFiles
    ? loadTlsFromFiles(config.tlsFiles.certFile, config.tlsFiles.keyFile)
    : undefined;
  const store = openStore({
    url: config.databaseUrl,
    poolSize: config.poolSize,
    applicationName: 'tegami-imap-gateway',
    onIdleError: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
  });
  await assertSchemaCurrent(store.pool);
  const bus = await connectNatsBus({ servers: config.natsServers, prefix: config.natsPrefix, logger });
  const metrics = createMetricsRegistry('imap-gateway');
  const gateway = await startImapGateway({
    pool: store.pool,
    bus,
    logger,
    metrics,
    hostname: config.hostname,
    proxy: config.proxy,
    host: config.imapHost,
    imapPort: config.imapPort,
    imapsPort: config.imapsPort,
    tls,
    idleTimeoutMs: config.imapIdleTimeoutMs,
    maxConnections: config.imapMaxConnections,
    maxConnectionsPerIp: config.imapMaxConnectionsPerIp,
    maxConnectionsPerUser: config.imapMaxConnectionsPerUser,
    allowPlaintextAuth: config.imapAllowPlaintextAuth,
    maxMessageSize: config.imapMaxMessageSize,
    maxCommandsPerSecond: config.imapMaxCommandsPerSecond,
  });
  const ops = await startOpsServer({
    host: config.opsHost,
    port: config.opsPort,
    service: 'imap-gateway',
    logger,
    registry: metrics,
    readinessChecks: { postgres: store.ping, nats: () => bus.ping() },
  });
  return { store, bus, gateway, ops };
});

onShutdown(
  async () => {
    running.ops.markNotReady('shutting down');
    await running.gateway.stop();
    await running.bus.close();
    await running.store.close();
    await running.ops.stop();
  },
  { timeoutMs: config.shutdownTimeoutMs, logger },
);
