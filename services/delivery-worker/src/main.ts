import { adminSettings, startAdminServer } from '@tegami/admin';
import { connectNatsBus } from '@tegami/bus';
import { describeMessage, isStoreOutage } from '@tegami/protocol';
import { createResolverClient } from '@tegami/rpc';
import {
  bool,
  drainTimeoutOf,
  loadTlsFromFiles,
  mailServiceSettings,
  optional,
  path,
  recipientDelimiterSettings,
  runService,
  srsSettings,
  string,
  untilAvailable,
} from '@tegami/runtime';
import { legacySaslPolicy, loadSrsSecrets, openServiceStore } from '@tegami/store';
import { startDeliveryWorker } from './delivery-worker.js';
import { prepareDkimKeyring } from './dkim-keyring.js';
import { deliverySettings, toDeliverySettings } from './settings.js';

const settings = {
  ...deliverySettings(),
  ...mailServiceSettings(),
  ...srsSettings(),
  ...recipientDelimiterSettings(),
  resolverTarget: string('TEGAMI_RESOLVER_TARGET'),
  secretsKeyFile: optional(path('TEGAMI_SECRETS_KEY_FILE', { mustExist: 'file' })),
  // The admin API sets passwords: with CRAM-MD5/DIGEST-MD5 secrets exactly when the login services keep them.
  saslLegacyMechanisms: optional(bool('TEGAMI_SASL_LEGACY_MECHANISMS')),
  ...adminSettings(),
};

await runService('delivery-worker', settings, async ({ config, logger, metrics }) => {
  // Read first: a secret file that cannot be used stops the start before anything runs.
  const srs = config.srsSecretFile ? { secrets: loadSrsSecrets(config.srsSecretFile) } : undefined;
  // Postgres or NATS away as the service starts (a restart of either): wait, unready.
  const store = await untilAvailable(
    'Postgres',
    () =>
      openServiceStore({
        url: config.databaseUrl,
        poolSize: config.poolSize,
        service: 'delivery-worker',
        warn: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
      }),
    { waitMs: config.startupWaitMs, logger, transient: isStoreOutage },
  );
  const secretsKeyring = await prepareDkimKeyring(store.pool, config.secretsKeyFile, logger);
  // The admin API (TEGAMI_ADMIN_PORT): the delivery-worker owns the queue it retries and drops.
  // Its certificate and the password policy are read before anything starts, so a bad file
  // stops the start rather than leaving a worker running without its admin port.
  const adminListener = config.admin && {
    host: config.admin.host,
    port: config.admin.port,
    tls: config.admin.tls && loadTlsFromFiles(config.admin.tls.certFile, config.admin.tls.keyFile),
    bodyLimit: config.admin.bodyLimit,
    readLimit: config.admin.readLimit,
    writeLimit: config.admin.writeLimit,
    secretsKeyring,
    legacySasl: legacySaslPolicy(secretsKeyring, config.saslLegacyMechanisms),
  };
  const bus = await untilAvailable(
    'NATS',
    () => connectNatsBus({ servers: config.natsServers, prefix: config.natsPrefix, logger }),
    { waitMs: config.startupWaitMs, logger },
  );
  const resolver = createResolverClient(config.resolverTarget);
  const worker = await startDeliveryWorker({
    pool: store.pool,
    bus,
    resolver,
    hostname: config.hostname,
    logger,
    settings: toDeliverySettings(config),
    describe: describeMessage,
    metrics,
    reports: { resolver },
    srs,
    secretsKeyring,
  });
  const admin = adminListener && (await startAdminServer({ ...adminListener, pool: store.pool, logger }));
  return {
    readiness: { postgres: store.ping, nats: () => bus.ping() },
    async stop() {
      await admin?.stop();
      await worker.stop({ drainTimeoutMs: drainTimeoutOf(config.shutdownTimeoutMs) });
      resolver.close();
      await bus.close();
      await store.close();
    },
  };
});
