import { checkHealth, RESOLVER_SERVICE_NAME, RpcError, startResolverServer } from '@tegami/rpc';
import type { Logger } from '@tegami/runtime';
import type { Registry } from 'prom-client';
import { createDnsMetrics } from './metrics.js';
import { RecordLookup } from './record-lookup.js';
import { ResolverService } from './resolver-service.js';
import { serverLabel, type Upstream, UpstreamClient } from './upstream.js';

export interface DnsResolverDeps {
  readonly logger: Logger;
  /** The registry the ops server serves; the resolver adds its tegami_dns_* metrics to it. */
  readonly metrics: Registry;
  /** Address the gRPC server binds, e.g. "0.0.0.0" or "127.0.0.1". */
  readonly host: string;
  /** gRPC port; 0 picks a free one (see the handle's port). */
  readonly port: number;
  /** Recursive DNS servers to ask, tried in order. */
  readonly upstreams: readonly Upstream[];
  /** How long one query to one upstream server may take. */
  readonly timeoutMs: number;
  /** Rounds over the upstream list before a lookup gives up with TIMEOUT. */
  readonly attempts: number;
  /** Most answers kept in the cache (least recently used go first). */
  readonly cacheEntries: number;
  /** Longest a negative answer (NXDOMAIN, NODATA) is cached, whatever its SOA says. */
  readonly negativeTtlMaxMs: number;
}

export interface DnsResolver {
  /** The bound gRPC port. */
  readonly port: number;
  /** Resolves when the gRPC server answers a health check over the network: for /readyz. */
  ready(): Promise<void>;
  /** Reports NOT_SERVING, then lets the calls in flight finish (up to a few seconds). */
  stop(): Promise<void>;
}

export async function startDnsResolver(deps: DnsResolverDeps): Promise<DnsResolver> {
  const metrics = createDnsMetrics(deps.metrics);
  const upstream = new UpstreamClient({
    servers: deps.upstreams,
    timeoutMs: deps.timeoutMs,
    attempts: deps.attempts,
    observer: {
      exchanged(result, transport, seconds) {
        metrics.upstreamLatency.observe({ transport }, seconds);
        if (result !== 'ok') metrics.upstreamErrors.inc({ kind: result });
      },
    },
  });
  const lookups = new RecordLookup({
    upstream,
    cacheEntries: deps.cacheEntries,
    negativeTtlMaxMs: deps.negativeTtlMaxMs,
    observer: {
      cache(result, type) {
        const counter =
          result === 'hit' ? metrics.cacheHits : result === 'miss' ? metrics.cacheMisses : metrics.coalesced;
        counter.inc({ type });
        metrics.cacheEntries.set(lookups.cachedEntries);
      },
    },
  });
  const server = await startResolverServer({
    host: deps.host,
    port: deps.port,
    implementation: new ResolverService(lookups, metrics),
    onError(error, method) {
      // An RpcError is an answer chosen on purpose (a malformed name); anything else is a bug.
      if (error instanceof RpcError) deps.logger.debug({ err: error, method }, 'call refused');
      else deps.logger.error({ err: error, method }, 'resolver call failed');
    },
  });
  const target = `${loopbackFor(deps.host)}:${server.port}`;
  deps.logger.info(
    { port: server.port, upstreams: deps.upstreams.map(serverLabel) },
    'dns-resolver listening',
  );
  return {
    port: server.port,
    async ready() {
      const status = await checkHealth(target, { service: RESOLVER_SERVICE_NAME, deadlineMs: 1_000 });
      if (status !== 'SERVING') throw new Error(`gRPC health: ${status}`);
    },
    stop: () => server.stop(),
  };
}

/** Where this process reaches its own server. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
