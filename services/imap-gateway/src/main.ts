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
import { startImapGateway } from './imap-gateway.js';
import { imapSettings } from './settings.js';
import { rspamdLearningClient } from './spam-learning.js';

const settings = {
  ...imapSettings(),
  ...mailServiceSettings(),
  ...loginDelaySettings(),
  passwordChecks: passwordCheckSettings(),
  tlsFiles: tlsFiles(),
  tlsPolicy: tlsPolicySettings(),
  proxy: proxyProtocolSettings(),
  ...legacySaslSettings(),
};

await runService('imap-gateway', settings, async ({ config, logger, metrics }) => {
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
        service: 'imap-gateway',
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
  const rspamd = rspamdLearningClient(config);
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
    tlsPolicy: config.tlsPolicy,
    legacySasl,
    passwordCache: applyPasswordChecks(config.passwordChecks)('imap'),
    idleTimeoutMs: config.imapIdleTimeoutMs,
    deadlines: config.imapDeadlines,
    maxConnections: config.imapMaxConnections,
    maxConnectionsPerIp: config.imapMaxConnectionsPerIp,
    maxConnectionsPerUser: config.imapMaxConnectionsPerUser,
    allowPlaintextAuth: config.imapAllowPlaintextAuth,
    maxMessageSize: config.imapMaxMessageSize,
    maxCommandsPerSecond: config.imapMaxCommandsPerSecond,
    messageCacheBytes: config.imapMessageCacheMiB * 1024 * 1024,
    loginThrottle: loginThrottlePolicy({
      maxDelayMs: config.authFailureDelayMaxMs,
      freeFailures: config.authFreeFailures,
    }),
    ...(rspamd && { rspamd }),
    managesievePort: config.managesievePort,
    sieveScriptLimits: {
      maxScripts: config.managesieveMaxScripts,
      maxBytes: config.managesieveMaxScriptSize,
    },
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
