import { isIP } from 'node:net';
import { durationMs, int, port, string, type VariableReader, variable } from '@tegami/runtime';
import type { Upstream } from './upstream.js';

/** The resolver's settings, read the same way by its main and by the standalone. */
export function dnsResolverSettings() {
  return {
    grpcHost: string('TEGAMI_GRPC_HOST'),
    grpcPort: port('TEGAMI_GRPC_PORT'),
    upstreams: dnsUpstreams('TEGAMI_DNS_UPSTREAMS'),
    timeoutMs: durationMs('TEGAMI_DNS_TIMEOUT_MS', { min: 10, max: 60_000 }),
    attempts: int('TEGAMI_DNS_ATTEMPTS', { min: 1, max: 10 }),
    cacheEntries: int('TEGAMI_DNS_CACHE_ENTRIES', { min: 0, max: 10_000_000 }),
    negativeTtlMaxMs: durationMs('TEGAMI_DNS_NEGATIVE_TTL_MAX_MS', { min: 0, max: 86_400_000 }),
  };
}

/**
 * DNS servers by IP address, comma-separated, each `address`, `address:port` or
 * `[ipv6]:port` (as node:dns getServers() writes them); the port defaults to 53.
 */
export function dnsUpstreams(name: string): VariableReader<readonly Upstream[]> {
  return variable(name, (value, fail) => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) return fail('no DNS server given');
    return items.map(
      (item) =>
        parseUpstream(item) ?? fail(`not an IP address with an optional port: ${JSON.stringify(item)}`),
    );
  });
}

export function parseUpstream(item: string): Upstream | undefined {
  let host = item;
  let portText = '53';
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2] ?? '53';
  } else if (isIP(item) === 0) {
    const colon = item.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = item.slice(0, colon);
    portText = item.slice(colon + 1);
  }
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  if (isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}
