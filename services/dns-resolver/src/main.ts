import { runService } from '@tegami/runtime';
import { startDnsResolver } from './dns-resolver.js';
import { dnsResolverSettings } from './settings.js';

await runService('dns-resolver', dnsResolverSettings(), async ({ config, logger, metrics }) => {
  const resolver = await startDnsResolver({
    ...config,
    logger,
    metrics,
    host: config.grpcHost,
    port: config.grpcPort,
  });
  logger.info({ grpcPort: resolver.port }, 'dns-resolver ready');
  return { readiness: { grpc: resolver.ready }, stop: () => resolver.stop() };
});
