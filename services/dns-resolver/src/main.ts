import {
  commonSettings,
  createLogger,
  createMetricsRegistry,
  exitOnStartupError,
  loadConfigOrExit,
  onShutdown,
  startOpsServer,
} from '@tegami/runtime';
import { startDnsResolver } from './dns-resolver.js';
import { dnsResolverSettings } from './settings.js';

const config = loadConfigOrExit(
  { ...commonSettings(), ...dnsResolverSettings() },
  { service: 'dns-resolver' },
);
const logger = createLogger({ service: 'dns-resolver', level: config.logLevel });

const running = await exitOnStartupError('could not start', async () => {
  const metrics = createMetricsRegistry('dns-resolver');
  const resolver = await startDnsResolver({
    ...config,
    logger,
    metrics,
    host: config.grpcHost,
    port: config.grpcPort,
  });
  const ops = await startOpsServer({
    host: config.opsHost,
    port: config.opsPort,
    service: 'dns-resolver',
    logger,
    registry: metrics,
    readinessChecks: { grpc: resolver.ready },
  });
  logger.info({ grpcPort: resolver.port, opsPort: ops.port }, 'dns-resolver ready');
  return { resolver, ops };
});

onShutdown(
  async () => {
    running.ops.markNotReady('shutting down');
    await running.resolver.stop();
    await running.ops.stop();
  },
  { timeoutMs: config.shutdownTimeoutMs, logger },
);
