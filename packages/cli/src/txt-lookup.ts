import { promises as dns, getServers } from 'node:dns';
import {
  createResolverClient,
  type ResolverClient,
  ResolveStatus,
  RpcError,
  standaloneResolverTarget,
} from '@tegami/rpc';

// `tegami dkim check` reads TXT records the way the mail system does: through the
// dns-resolver (TEGAMI_RESOLVER_TARGET in a deployment, the standalone's own while it runs).
// When none answers, this machine's resolver does, and the command says so: its answer may
// differ (another upstream, no shared cache), but it still shows what the world publishes.

export type TxtAnswer =
  | { readonly kind: 'records'; readonly records: readonly (readonly string[])[] }
  /** NXDOMAIN or no TXT record at the name. */
  | { readonly kind: 'none' }
  | { readonly kind: 'failed'; readonly detail: string };

export interface TxtLookup {
  lookup(name: string): Promise<TxtAnswer>;
  /** Set once a lookup went to this machine's resolver instead: what to tell the operator. */
  readonly note: () => string | undefined;
  close(): void;
}

export interface TxtLookupConfig {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly resolverTarget?: string | undefined;
}

const DEADLINE_MS = 10_000;

export function openTxtLookup(config: TxtLookupConfig): TxtLookup {
  const target = config.databaseUrl ? config.resolverTarget : standaloneResolverTarget(config.dataDir);
  const system = systemLookup();
  let note: string | undefined;
  if (!target) {
    note = `the standalone is not running: looked up through this machine's resolver (${system.servers}) instead of Tegami's dns-resolver`;
    return { lookup: system.lookup, note: () => note, close: () => undefined };
  }
  const client: ResolverClient = createResolverClient(target, { defaultDeadlineMs: DEADLINE_MS });
  let unreachable = false;
  return {
    async lookup(name) {
      if (unreachable) return system.lookup(name);
      try {
        const answer = await client.resolveTxt(name);
        switch (answer.status) {
          case ResolveStatus.RESOLVE_STATUS_OK:
            return { kind: 'records', records: answer.records.map((r) => r.strings) };
          case ResolveStatus.RESOLVE_STATUS_NXDOMAIN:
          case ResolveStatus.RESOLVE_STATUS_NO_DATA:
            return { kind: 'none' };
          default:
            return { kind: 'failed', detail: `${ResolveStatus[answer.status]} ${answer.detail}`.trim() };
        }
      } catch (err) {
        // The resolver itself is not there (a laptop outside the cluster): ask locally.
        unreachable = true;
        const why = err instanceof RpcError ? err.message : String(err);
        note = `the dns-resolver at ${target} did not answer (${why}): looked up through this machine's resolver (${system.servers}) instead`;
        return system.lookup(name);
      }
    },
    note: () => note,
    close: () => client.close(),
  };
}

function systemLookup(): { servers: string; lookup: (name: string) => Promise<TxtAnswer> } {
  const resolver = new dns.Resolver({ timeout: 5_000, tries: 2 });
  return {
    servers: getServers().join(', ') || 'none configured',
    async lookup(name) {
      try {
        return { kind: 'records', records: await resolver.resolveTxt(name) };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTFOUND' || code === 'ENODATA') return { kind: 'none' };
        return { kind: 'failed', detail: code ?? (err as Error).message };
      }
    },
  };
}
