import { connectNatsBus } from '@tegami/bus';
import { describeMessage } from '@tegami/protocol';
import { createResolverClient } from '@tegami/rpc';
import {
  drainTimeoutOf,
  mailServiceSettings,
  optional,
  path,
  recipientDelimiterSettings,
  runService,
  srsSettings,
  string,
} from '@tegami/runtime';
import { loadSrsSecrets, openServiceStore } from '@tegami/store';
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
};

await runService('delivery-worker', settings, async ({ config, logger, metrics }) => {
  // Read first: a secret file that cannot be used stops the start before anything runs.
  const srs = config.srsSecretFile ? { secrets: loadSrsSecrets(config.srsSecretFile) } : undefined;
  const store = await openServiceStore({
    url: config.databaseUrl,
    poolSize: config.poolSize,
    service: 'delivery-worker',
    warn: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
  });
  const secretsKeyring = await prepareDkimKeyring(store.pool, config.secretsKeyFile, logger);
  const bus = await connectNatsBus({ servers: config.natsServers, prefix: config.natsPrefix, logger });
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
  return {
    readiness: { postgres: store.ping, nats: () => bus.ping() },
    async stop() {
      await worker.stop({ drainTimeoutMs: drainTimeoutOf(config.shutdownTimeoutMs) });
      resolver.close();
      await bus.close();
      await store.close();
    },
  };
});
