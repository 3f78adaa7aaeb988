import { connectNatsBus } from '@tegami/bus';
import {
  int,
  loadTlsFromFiles,
  natsUrl,
  postgresUrl,
  proxyProtocolSettings,
  runService,
  string,
  tlsFiles,
} from '@tegami/runtime';
import { assertSchemaCurrent, openStore } from '@tegami/store';
import { startImapGateway } from './imap-gateway.js';
import { imapSettings } from './settings.js';

const settings = {
  ...imapSettings(),
  databaseUrl: postgresUrl('DATABASE_URL'),
  poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 1, max: 1000 }),
  natsServers: natsUrl('NATS_URL'),
  natsPrefix: string('TEGAMI_NATS_PREFIX'),
  hostname: string('TEGAMI_HOSTNAME'),
  tlsFiles: tlsFiles(),
  proxy: proxyProtocolSettings(),
};

await runService('imap-gateway', settings, async ({ config, logger, metrics }) => {
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
  return {
    readiness: { postgres: store.ping, nats: () => bus.ping() },
    async stop() {
      await gateway.stop();
      await bus.close();
      await store.close();
    },
  };
});
