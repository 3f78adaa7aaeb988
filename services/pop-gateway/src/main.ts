import { connectNatsBus } from '@tegami/bus';
import { isStoreOutage } from '@tegami/protocol';
import {
  legacySaslSettings,
  loadTlsFromFiles,
  loginDelaySettings,
  mailServiceSettings,
  passwordCheckSettings,
  proxyProtocolSettings,
  runService,
  tlsFiles,
  tlsPolicySettings,
  untilAvailable,
} from '@tegami/runtime';
import { applyPasswordChecks, loginThrottlePolicy, openServiceStore, prepareLegacySasl } from '@tegami/store';
import { startPopGateway } from './pop-gateway.js';
import { popSettings } from './settings.js';

const settings = {
  ...popSettings(),
  ...mailServiceSettings(),
  ...loginDelaySettings(),
  passwordChecks: passwordCheckSettings(),
  tlsFiles: tlsFiles(),
  tlsPolicy: tlsPolicySettings(),
  proxy: proxyProtocolSettings(),
  ...legacySaslSettings(),
};

await runService('pop-gateway', settings, async ({ config, logger, metrics }) => {
  const tls = config.tlsFiles
    ? loadTlsFromFiles(config.tlsFiles.certFile, config.tlsFiles.keyFile)
    : undefined;
  // Postgres or NATS away as the service starts (a restart of either): wait, unready.
  const store = await untilAvailable(
    'Postgres',
    () =>
      openServiceStore({
        url: config.databaseUrl,
        poolSize: config.poolSize,
        service: 'pop-gateway',
        warn: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
      }),
    { waitMs: config.startupWaitMs, logger, transient: isStoreOutage },
  );
  // Seals (or, when off, deletes) the stored CRAM-MD5/DIGEST-MD5 secrets before the first login.
  const legacySasl = await prepareLegacySasl(store.pool, config, logger);
  const bus = await untilAvailable(
    'NATS',
    () => connectNatsBus({ servers: config.natsServers, prefix: config.natsPrefix, logger }),
    { waitMs: config.startupWaitMs, logger },
  );
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
    tlsPolicy: config.tlsPolicy,
    legacySasl,
    passwordCache: applyPasswordChecks(config.passwordChecks)('pop3'),
    idleTimeoutMs: config.popIdleTimeoutMs,
    deadlines: config.popDeadlines,
    maxConnections: config.popMaxConnections,
    maxConnectionsPerIp: config.popMaxConnectionsPerIp,
    allowPlaintextAuth: config.popAllowPlaintextAuth,
    popBeforeSmtpTtlMs: config.popBeforeSmtpTtlMs,
    loginDelayMs: config.popLoginDelayMs,
    loginThrottle: loginThrottlePolicy({
      maxDelayMs: config.authFailureDelayMaxMs,
      freeFailures: config.authFreeFailures,
    }),
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
