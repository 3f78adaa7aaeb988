import type { ResolverClient } from '@tegami/rpc';
import type { Logger } from '@tegami/runtime';
import { deleteExpiredMtaStsPolicies, findMtaStsPolicy, saveMtaStsPolicy } from '@tegami/store';
import type pg from 'pg';
import { daneFirst, type HostTlsPolicyLookup } from './dane/dane-policy.js';
import { fetchMtaStsPolicy, resolverLookup } from './mta-sts/policy-fetch.js';
import { createMtaStsPolicySource, type MtaStsPolicyCache } from './mta-sts/policy-source.js';
import { trustedRoots } from './peer-tls.js';
import type { DeliverySettings } from './settings.js';
import type { TlsOutcome } from './tls-policy.js';
import { selectTlsPolicy } from './tls-policy-selection.js';

// The worker's outbound TLS policies built from its settings: DANE where the MX host publishes
// authenticated TLSA records (RFC 7672; it takes precedence), else MTA-STS policies kept in the
// store (shared by every worker, kept across restarts), fetched over HTTPS with the policy
// host's address from the dns-resolver.

const CLEANUP_EVERY_MS = 3_600_000;
// A policy this long past its max_age is not applied any more; its row is just clutter.
const KEEP_EXPIRED_MS = 86_400_000;
// As long as the policy source waits before fetching a failed policy again (its default).
const FETCH_FAILURE_MEMO_MS = 300_000;
const FETCH_FAILURE_MEMO_ENTRIES = 10_000;

interface OutboundTlsPolicyDeps {
  readonly pool: pg.Pool;
  readonly resolver: Pick<ResolverClient, 'resolveTxt' | 'resolveAddresses' | 'resolveTlsa'>;
  readonly settings: Pick<DeliverySettings, 'mtaSts' | 'extraCa' | 'dane' | 'smtpPort'>;
  readonly logger: Logger;
  /** For TLS-RPT: a policy that could not be fetched or parsed is a failure too (RFC 8460 §4.3.2.2). */
  readonly onTlsOutcome?: ((outcome: TlsOutcome) => void) | undefined;
}

export function outboundTlsPolicy(deps: OutboundTlsPolicyDeps): HostTlsPolicyLookup {
  const others = mtaStsOrNone(deps);
  if (deps.settings.dane === false) return others;
  return daneFirst(deps.resolver, { port: deps.settings.smtpPort }, others);
}

function mtaStsOrNone(deps: OutboundTlsPolicyDeps) {
  const { pool, resolver, settings, logger } = deps;
  const mtaSts = settings.mtaSts;
  if (!mtaSts) return selectTlsPolicy({});
  let lastCleanup = 0;
  const cache: MtaStsPolicyCache = {
    find: (domain) => findMtaStsPolicy(pool, domain),
    async save(policy) {
      await saveMtaStsPolicy(pool, policy);
      if (Date.now() - lastCleanup < CLEANUP_EVERY_MS) return;
      lastCleanup = Date.now();
      deleteExpiredMtaStsPolicies(pool, new Date(Date.now() - KEEP_EXPIRED_MS)).catch((err) =>
        logger.warn({ err }, 'could not drop expired MTA-STS policies'),
      );
    },
  };
  // The latest fetch failure per domain, for as long as the source waits before fetching
  // again: a REQUIRETLS message to the domain is deferred meanwhile, not returned.
  const failures = new Map<string, { detail: string; at: number }>();
  const mtaStsFailure = (domain: string) => {
    const failure = failures.get(domain.toLowerCase());
    if (failure && Date.now() - failure.at < FETCH_FAILURE_MEMO_MS) return failure.detail;
    failures.delete(domain.toLowerCase());
    return undefined;
  };
  const lookup = resolverLookup(resolver);
  const ca = trustedRoots(settings.extraCa);
  return selectTlsPolicy({
    mtaSts: createMtaStsPolicySource({
      resolver,
      cache,
      fetch: (domain) =>
        fetchMtaStsPolicy(domain, { lookup, ca, port: mtaSts.port, timeoutMs: mtaSts.timeoutMs }),
      onFetchFailure: (domain, failure) => {
        failures.delete(domain);
        failures.set(domain, { detail: `${failure.resultType}: ${failure.detail}`, at: Date.now() });
        if (failures.size > FETCH_FAILURE_MEMO_ENTRIES)
          failures.delete(failures.keys().next().value as string);
        logger.warn(
          { domain, result: failure.resultType, detail: failure.detail },
          'MTA-STS policy not fetched',
        );
        // No session was tried under the policy: the report says so without an MX or address.
        deps.onTlsOutcome?.({
          policyDomain: domain,
          policyType: 'sts',
          policyStrings: [],
          mxHost: '',
          receivingIp: '',
          result: failure.resultType,
          failureDetail: failure.detail,
        });
      },
    }),
    mtaStsFailure,
  });
}
