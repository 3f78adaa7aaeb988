import { GrpcStatus, RpcError } from './errors.js';
import { AddressFamily, ResolveStatus } from './generated/tegami/resolver/v1/resolver.js';
import type { ResolverCallOptions, ResolverClient } from './resolver-client.js';

/**
 * A ResolverClient that keeps answers in this process for as long as their TTLs allow, in
 * front of the dns-resolver's own cache. Checking one message asks for the same handful of
 * names as the last message from that sender did (SPF, the DKIM key, DMARC); each call to
 * the dns-resolver is a gRPC round trip, and at a few hundred messages per second those
 * round trips, not DNS, were the cost (bench/inbound-checks). Only what the dns-resolver
 * answered is kept: positive answers for their smallest TTL (at most `maxTtlMs`), negative
 * ones (NXDOMAIN, NO_DATA) for `negativeTtlMs`, failures never. Identical calls in flight
 * share one request.
 */
export interface CachedResolverOptions {
  /** Most answers kept; the oldest go first. Default 10,000. */
  readonly maxEntries?: number;
  /** Longest a positive answer is kept, whatever its TTL. Default 5 minutes. */
  readonly maxTtlMs?: number;
  /** How long NXDOMAIN and NO_DATA are kept (the gRPC answer carries no SOA). Default 5 s. */
  readonly negativeTtlMs?: number;
  readonly now?: () => number;
}

interface Entry {
  readonly value: Promise<unknown>;
  expires: number;
}

type Answer = { status: ResolveStatus };

export function cachedResolverClient(
  client: ResolverClient,
  options: CachedResolverOptions = {},
): ResolverClient {
  const maxEntries = options.maxEntries ?? 10_000;
  const maxTtlMs = options.maxTtlMs ?? 300_000;
  const negativeTtlMs = options.negativeTtlMs ?? 5_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  function cached<T extends Answer>(
    key: string,
    fetch: () => Promise<T>,
    ttlSeconds: (answer: T) => number,
  ): Promise<T> {
    const found = entries.get(key);
    if (found && found.expires > now()) return found.value as Promise<T>;
    if (found) entries.delete(key);
    // In flight until settled: a second identical call waits for the same answer.
    const entry: Entry = { value: fetch(), expires: Number.POSITIVE_INFINITY };
    entries.set(key, entry);
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    entry.value.then(
      (answer) => {
        const ttlMs = lifetime(answer as T, ttlSeconds);
        if (ttlMs <= 0) entries.delete(key);
        else entry.expires = now() + ttlMs;
      },
      () => entries.delete(key),
    );
    return entry.value as Promise<T>;
  }

  function lifetime<T extends Answer>(answer: T, ttlSeconds: (answer: T) => number): number {
    switch (answer.status) {
      case ResolveStatus.RESOLVE_STATUS_OK:
        return Math.min(ttlSeconds(answer) * 1000, maxTtlMs);
      case ResolveStatus.RESOLVE_STATUS_NXDOMAIN:
      case ResolveStatus.RESOLVE_STATUS_NO_DATA:
      case ResolveStatus.RESOLVE_STATUS_NULL_MX:
        return negativeTtlMs;
      default:
        return 0;
    }
  }

  const smallest = (ttls: number[]) => (ttls.length === 0 ? 0 : Math.min(...ttls));
  // A caller's deadline and signal belong to its call, not to the shared answer: the
  // request goes out with the client's defaults, and each caller still gives up on its own.
  const own = <T>(promise: Promise<T>, opts: ResolverCallOptions | undefined): Promise<T> =>
    opts?.signal || opts?.deadlineMs !== undefined ? withCallerLimits(promise, opts) : promise;

  return {
    resolveMx: (domain, opts) =>
      own(
        cached(
          `MX ${domain.toLowerCase()}`,
          () => client.resolveMx(domain),
          (a) => smallest(a.hosts.map((h) => h.ttlSeconds)),
        ),
        opts,
      ),
    resolveAddresses: (host, opts) => {
      const family = opts?.family ?? AddressFamily.ADDRESS_FAMILY_UNSPECIFIED;
      return own(
        cached(
          `ADDR${family} ${host.toLowerCase()}`,
          () => client.resolveAddresses(host, { family }),
          (a) => smallest(a.addresses.map((x) => x.ttlSeconds)),
        ),
        opts,
      );
    },
    resolveTxt: (name, opts) =>
      own(
        cached(
          `TXT ${name.toLowerCase()}`,
          () => client.resolveTxt(name),
          (a) => smallest(a.records.map((r) => r.ttlSeconds)),
        ),
        opts,
      ),
    resolvePtr: (address, opts) =>
      own(
        cached(
          `PTR ${address.toLowerCase()}`,
          () => client.resolvePtr(address),
          (a) => a.ttlSeconds,
        ),
        opts,
      ),
    resolveTlsa: (name, opts) =>
      own(
        cached(
          `TLSA ${name.toLowerCase()}`,
          () => client.resolveTlsa(name),
          (a) => smallest(a.records.map((r) => r.ttlSeconds)),
        ),
        opts,
      ),
    close: () => {
      entries.clear();
      client.close();
    },
  };
}

/** The shared answer, or the caller's own deadline or abort, whichever comes first. */
function withCallerLimits<T>(promise: Promise<T>, opts: ResolverCallOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer =
      opts.deadlineMs === undefined
        ? undefined
        : setTimeout(() => finish(() => reject(limitError('DEADLINE_EXCEEDED'))), opts.deadlineMs);
    const onAbort = () => finish(() => reject(limitError('CANCELLED')));
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      settle();
    };
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}

function limitError(kind: 'DEADLINE_EXCEEDED' | 'CANCELLED'): RpcError {
  return kind === 'DEADLINE_EXCEEDED'
    ? new RpcError(GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded waiting for a shared lookup')
    : new RpcError(GrpcStatus.CANCELLED, 'cancelled while waiting for a shared lookup');
}
