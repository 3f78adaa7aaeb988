import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DnsMetrics = ReturnType<typeof createDnsMetrics>;

export function createDnsMetrics(registry: Registry) {
  const registers = [registry];
  return {
    queries: new Counter({
      name: 'tegami_dns_queries_total',
      help: 'Resolver RPCs answered, by RPC and status (ok, no_data, nxdomain, null_mx, servfail, refused, timeout)',
      labelNames: ['rpc', 'status'] as const,
      registers,
    }),
    cacheHits: new Counter({
      name: 'tegami_dns_cache_hits_total',
      help: 'Lookups answered from the cache, by record type',
      labelNames: ['type'] as const,
      registers,
    }),
    cacheMisses: new Counter({
      name: 'tegami_dns_cache_misses_total',
      help: 'Lookups that asked the upstream servers, by record type',
      labelNames: ['type'] as const,
      registers,
    }),
    coalesced: new Counter({
      name: 'tegami_dns_coalesced_total',
      help: 'Lookups that waited for the same question already asked upstream instead of asking again',
      labelNames: ['type'] as const,
      registers,
    }),
    cacheEntries: new Gauge({
      name: 'tegami_dns_cache_entries',
      help: 'Answers in the cache now (positive and negative)',
      registers,
    }),
    upstreamLatency: new Histogram({
      name: 'tegami_dns_upstream_duration_seconds',
      help: 'Time of one exchange with one upstream server, by transport',
      labelNames: ['transport'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    upstreamErrors: new Counter({
      name: 'tegami_dns_upstream_errors_total',
      help: 'Exchanges with upstream servers that did not give an answer, by kind (timeout, servfail, refused, nxdomain, network)',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}
