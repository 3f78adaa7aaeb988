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
import { startPopGateway } from './pop-gateway.js';
import { popSettings } from './settings.js';

const settings = {
  ...popSettings(),
  databaseUrl: postgresUrl('DATABASE_URL'),
  poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 1, max: 1000 }),
  natsServers: natsUrl('NATS_URL'),
  natsPrefix: string('TEGAMI_NATS_PREFIX'),
  hostname: string('TEGAMI_HOSTNAME'),
  tlsFiles: tlsFiles(),
  proxy: proxyProtocolSettings(),
};

await runService('pop-gateway', settings, async ({ config, logger, metrics }) => {
  const tls = config.tlsFiles
    ? loadTlsFromFiles(config.tlsFiles.certFile, config.tlsFiles.keyFile)
    : undefined;
  const store = openStore({
    url: config.databaseUrl,
    poolSize: config.poolSize,
    applicationName: 'tegami-pop-gateway',
    onIdleError: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
  });
  await assertSchemaCurrent(store.pool);
  const bus = await connectNatsBus({ servers: config.natsServers, prefix: config.natsPrefix, logger });
  const gateway = await startPopGateway({
    pool: store.pool,
    bus,
    logger,
    metrics,
    hostname: config.hostname,
    proxy: config.proxy,
    host: config.popHost,
    popPort: config.popPort,
    popsPort: config.popsPort,
    tls,
    idleTimeoutMs: config.popIdleTimeoutMs,
    maxConnections: config.popMaxConnections,
    maxConnectionsPerIp: config.popMaxConnectionsPerIp,
    allowPlaintextAuth: config.popAllowPlaintextAuth,
    popBeforeSmtpTtlMs: config.popBeforeSmtpTtlMs,
    loginDelayMs: config.popLoginDelayMs,
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
