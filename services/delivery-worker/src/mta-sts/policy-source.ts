import { type MtaStsPolicy, parseMtaStsPolicy, selectMtaStsRecord } from '@tegami/protocol';
import { type ResolverClient, ResolveStatus } from '@tegami/rpc';
import type { CachedMtaStsPolicy } from '@tegami/store';
import type { PolicyFetch } from './policy-fetch.js';

// Which MTA-STS policy applies to a destination domain now (RFC 8461 §3, §5): the `_mta-sts`
// TXT record is looked at on every delivery (the dns-resolver caches it for its TTL); the
// policy is fetched only when the record's id differs from the cached policy's, or that policy
// expired. A policy that cannot be fetched leaves the cached one in force until its max_age
// runs out (§5): blocking the policy host or the TXT record must not switch enforcement off.

export interface ActiveMtaStsPolicy {
  readonly domain: string;
  readonly id: string;
  readonly policy: MtaStsPolicy;
  /** The policy file's lines, for TLS-RPT's policy-string. */
  readonly lines: readonly string[];
}

export interface MtaStsPolicyCache {
  find(domain: string): Promise<CachedMtaStsPolicy | undefined>;
  save(policy: CachedMtaStsPolicy): Promise<void>;
}

export interface MtaStsPolicySourceDeps {
  readonly resolver: Pick<ResolverClient, 'resolveTxt'>;
  readonly cache: MtaStsPolicyCache;
  readonly fetch: (domain: string) => Promise<PolicyFetch>;
  /** Told of a policy that could not be fetched or parsed (logs; TLS-RPT's sts-* results). */
  readonly onFetchFailure?: (domain: string, failure: Extract<PolicyFetch, { ok: false }>) => void;
  readonly now?: () => number;
  /** After a failed fetch, the same id is not fetched again for this long. Default 5 minutes. */
  readonly retryFetchAfterMs?: number;
}

/** A domain's policy, or undefined when none applies (none published, none fetched, mode none included). */
export type MtaStsPolicySource = (domain: string) => Promise<ActiveMtaStsPolicy | undefined>;

export function createMtaStsPolicySource(deps: MtaStsPolicySourceDeps): MtaStsPolicySource {
  const now = deps.now ?? Date.now;
  const retryAfterMs = deps.retryFetchAfterMs ?? 300_000;
  // The last good policy of each domain this worker used: a delivery asks once per MX host,
  // and the store need not be read again while the TXT id still names this policy.
  const known = new Map<string, CachedMtaStsPolicy>();
  // Domains with no policy in the store, and when that was seen: most domains publish no
  // policy, and their deliveries should not each cost a read of the store.
  const notStored = new Map<string, number>();
  const failedFetches = new Map<string, number>();
  const inFlight = new Map<string, Promise<ActiveMtaStsPolicy | undefined>>();

  const live = (cached: CachedMtaStsPolicy | undefined) =>
    cached && cached.expiresAt.getTime() > now() ? cached : undefined;

  async function stored(domain: string): Promise<CachedMtaStsPolicy | undefined> {
    const found = await deps.cache.find(domain);
    if (found) remember(known, domain, found);
    else remember(notStored, domain, now());
    return found;
  }

  async function resolve(domain: string): Promise<ActiveMtaStsPolicy | undefined> {
    const id = await currentPolicyId(deps.resolver, domain);
    const remembered = live(known.get(domain));
    if (id === undefined) {
      // No record now (none published, or DNS failed): a cached policy still holds (§5).
      if (remembered) return activeOf(remembered);
      const seenAbsent = notStored.get(domain);
      if (seenAbsent !== undefined && now() - seenAbsent < NOT_STORED_MEMO_MS) return undefined;
      return activeOf(live(await stored(domain)));
    }
    if (remembered?.policyId === id) return activeOf(remembered);
    // Another worker may have fetched it already.
    const shared = live(await stored(domain));
    if (shared?.policyId === id) return activeOf(shared);

    const failureKey = `${domain} ${id}`;
    const failedAt = failedFetches.get(failureKey);
    if (failedAt !== undefined && now() - failedAt < retryAfterMs) return activeOf(shared);
    const fetched = await deps.fetch(domain);
    if (!fetched.ok) {
      remember(failedFetches, failureKey, now());
      deps.onFetchFailure?.(domain, fetched);
      return activeOf(shared);
    }
    failedFetches.delete(failureKey);
    notStored.delete(domain);
    const fetchedAt = now();
    const entry: CachedMtaStsPolicy = {
      domain,
      policyId: id,
      mode: fetched.policy.mode,
      policyText: fetched.text,
      fetchedAt: new Date(fetchedAt),
      expiresAt: new Date(fetchedAt + fetched.policy.maxAge * 1000),
    };
    await deps.cache.save(entry);
    remember(known, domain, entry);
    return activeOf(entry);
  }

  return (rawDomain) => {
    const domain = rawDomain.toLowerCase().replace(/\.$/, '');
    // Concurrent deliveries to one domain share the lookup (and any fetch).
    const running = inFlight.get(domain);
    if (running) return running;
    const promise = resolve(domain).finally(() => inFlight.delete(domain));
    inFlight.set(domain, promise);
    return promise;
  };
}

const NOT_STORED_MEMO_MS = 60_000;
const MEMO_ENTRIES = 10_000;

/** Sets a memo entry, the oldest going first past MEMO_ENTRIES. */
function remember<V>(memo: Map<string, V>, key: string, value: V): void {
  memo.delete(key);
  memo.set(key, value);
  if (memo.size > MEMO_ENTRIES) memo.delete(memo.keys().next().value as string);
}

/**
 * The id of the `_mta-sts` record (§3.1); undefined when there is no valid record, or DNS did
 * not answer: either way nothing new is to be fetched, and a cached policy stays in force.
 */
async function currentPolicyId(
  resolver: Pick<ResolverClient, 'resolveTxt'>,
  domain: string,
): Promise<string | undefined> {
  try {
    const answer = await resolver.resolveTxt(`_mta-sts.${domain}`);
    if (answer.status !== ResolveStatus.RESOLVE_STATUS_OK) return undefined;
    const found = selectMtaStsRecord(answer.records.map((r) => r.strings));
    return found.kind === 'record' ? found.id : undefined;
  } catch {
    return undefined;
  }
}

function activeOf(cached: CachedMtaStsPolicy | undefined): ActiveMtaStsPolicy | undefined {
  if (!cached) return undefined;
  const parsed = parseMtaStsPolicy(cached.policyText);
  // Parsed before it was stored; a row that no longer parses is not a policy.
  if (!parsed.ok || parsed.policy.mode === 'none') return undefined;
  return {
    domain: cached.domain,
    id: cached.policyId,
    policy: parsed.policy,
    lines: cached.policyText.split(/\r?\n/).filter((line) => line.trim() !== ''),
  };
}
