import { connectNatsBus } from '@tegami/bus';
import { describeMessage } from '@tegami/protocol';
import { createResolverClient } from '@tegami/rpc';
import {
  commonSettings,
  createLogger,
  createMetricsRegistry,
  drainTimeoutOf,
  exitOnStartupError,
  int,
  loadConfigOrExit,
  natsUrl,
  onShutdown,
  postgresUrl,
  startOpsServer,
  string,
} from '@tegami/runtime';
import { assertSchemaCurrent, openStore } from '@tegami/store';
import { startDeliveryWorker } from './delivery-worker.js';
import { deliverySettings, toDeliverySettings } from './settings.js';

const config = loadConfigOrExit(
  {
    ...commonSettings(),
    ...deliverySettings(),
    databaseUrl: postgresUrl('DATABASE_URL'),
    poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 1, max: 1000 }),
    natsServers: natsUrl('NATS_URL'),
    natsPrefix: string('TEGAMI_NATS_PREFIX'),
    hostname: string('TEGAMI_HOSTNAME'),
    resolverTarget: string('TEGAMI_RESOLVER_TARGET'),
  },
  { service: 'delivery-worker' },
);
const logger = createLogger({ service: 'delivery-worker', level: config.logLevel });

const running = await exitOnStartupError('could not start', async () => {
  const store = openStore({
    url: config.databaseUrl,
    poolSize: config.poolSize,
    applicationName: 'tegami-delivery-worker',
    onIdleError: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
  });
  await assertSchemaCurrent(store.pool);
  const bus = await connectNatsBus({ servers: config.natsServers, prefix: config.natsPrefix, logger });
  const resolver = createResolverClient(config.resolverTarget);
  const metrics = createMetricsRegistry('delivery-worker');
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
  const ops = await startOpsServer({
    host: config.opsHost,
    port: config.opsPort,
    service: 'delivery-worker',
    logger,
    registry: metrics,
    readinessChecks: { postgres: store.ping, nats: () => bus.ping() },
  });
  return { store, bus, resolver, worker, ops };
});

onShutdown(
  async () => {
    running.ops.markNotReady('shutting down');
    await running.worker.stop({ drainTimeoutMs: drainTimeoutOf(config.shutdownTimeoutMs) });
    running.resolver.close();
    await running.bus.close();
    await running.store.close();
    await running.ops.stop();
  },
  { timeoutMs: config.shutdownTimeoutMs, logger },
);
