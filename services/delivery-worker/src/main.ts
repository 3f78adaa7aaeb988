import { connectNatsBus } from '@tegami/bus';
import { describeMessage } from '@tegami/protocol';
import { createResolverClient } from '@tegami/rpc';
import { drainTimeoutOf, int, natsUrl, postgresUrl, runService, string } from '@tegami/runtime';
import { assertSchemaCurrent, openStore } from '@tegami/store';
import { startDeliveryWorker } from './delivery-worker.js';
import { deliverySettings, toDeliverySettings } from './settings.js';

const settings = {
  ...deliverySettings(),
  databaseUrl: postgresUrl('DATABASE_URL'),
  poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 1, max: 1000 }),
  natsServers: natsUrl('NATS_URL'),
  natsPrefix: string('TEGAMI_NATS_PREFIX'),
  hostname: string('TEGAMI_HOSTNAME'),
  resolverTarget: string('TEGAMI_RESOLVER_TARGET'),
};

await runService('delivery-worker', settings, async ({ config, logger, metrics }) => {
  const store = openStore({
    url: config.databaseUrl,
    poolSize: config.poolSize,
    applicationName: 'tegami-delivery-worker',
    onIdleError: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
  });
  await assertSchemaCurrent(store.pool);
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
