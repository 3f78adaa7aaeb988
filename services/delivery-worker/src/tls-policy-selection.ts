import { mtaStsHostPolicy } from './mta-sts/host-policy.js';
import type { MtaStsPolicySource } from './mta-sts/policy-source.js';
import { type HostTlsPolicy, NO_TLS_POLICY } from './tls-policy.js';

// The one place that decides which TLS policy governs a connection to an MX host. RFC 8461 §2:
// DANE, when the host has usable TLSA records, takes precedence over MTA-STS; then the
// domain's MTA-STS policy (enforce or testing); else opportunistic TLS.

export interface TlsPolicySources {
  readonly mtaSts?: MtaStsPolicySource | undefined;
  /** Why the domain's announced MTA-STS policy could not be had lately, if it could not. */
  readonly mtaStsFailure?: ((domain: string) => string | undefined) | undefined;
}

export function selectTlsPolicy(sources: TlsPolicySources) {
  return async (domain: string, mxHost: string): Promise<HostTlsPolicy> => {
    const sts = await sources.mtaSts?.(domain);
    if (sts) return mtaStsHostPolicy(sts, mxHost);
    const failure = sources.mtaSts ? sources.mtaStsFailure?.(domain) : undefined;
    return failure
      ? { ...NO_TLS_POLICY, undetermined: `MTA-STS policy of ${domain} not fetched: ${failure}` }
      : NO_TLS_POLICY;
  };
}
