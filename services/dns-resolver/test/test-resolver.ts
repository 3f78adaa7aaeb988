import { createResolverClient, type ResolverClient } from '@tegami/rpc';
import { createLogger } from '@tegami/runtime';
import { Registry } from 'prom-client';
import { type DnsResolver, type DnsResolverDeps, parseUpstream, startDnsResolver } from '../src/index.js';

export interface TestResolver {
  readonly resolver: DnsResolver;
  readonly client: ResolverClient;
  readonly registry: Registry;
  /** The value of one sample of a counter or gauge (0 when it has not been touched). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

/** The resolver in-process on a free loopback port, asking the given `host:port` upstreams, and a real gRPC client. */
export async function startTestResolver(
  upstreams: readonly string[],
  overrides: Partial<DnsResolverDeps> = {},
): Promise<TestResolver> {
  const registry = new Registry();
  const resolver = await startDnsResolver({
    logger: createLogger({ service: 'dns-resolver-test', level: 'silent' }),
    metrics: registry,
    host: '127.0.0.1',
    port: 0,
    upstreams: upstreams.map((u) => {
      const parsed = parseUpstream(u);
      if (!parsed) throw new Error(`bad upstream ${u}`);
      return parsed;
    }),
    timeoutMs: 300,
    attempts: 2,
    cacheEntries: 1000,
    negativeTtlMaxMs: 60_000,
    ...overrides,
  });
  const client = createResolverClient(`127.0.0.1:${resolver.port}`, { defaultDeadlineMs: 10_000 });
  return {
    resolver,
    client,
    registry,
    async metric(name, labels = {}) {
      const metric = registry.getSingleMetric(name);
      if (!metric) throw new Error(`no metric ${name}`);
      const { values } = await metric.get();
      const sample = values.find((v) =>
        Object.entries(labels).every(
          ([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want,
        ),
      );
      return sample?.value ?? 0;
    },
    async stop() {
      client.close();
      await resolver.stop();
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
