import { createRspamdClient, type ResolverClient } from '@tegami/rpc';
import type { DmarcEnforcement } from './dmarc-disposition.js';
import type { InboundCheckDeps } from './inbound-checks.js';
import type { SpamFailurePolicy, SpamScanner } from './spam-scan.js';

/** The settings `inboundCheckSettings()` reads. */
export interface InboundCheckConfig {
  readonly mailAuth: boolean;
  readonly mailAuthTimeoutMs: number;
  readonly dmarcEnforcement: DmarcEnforcement;
  readonly arcTrustedSealers?: readonly string[] | undefined;
  /** rspamd's normal worker; no spam filter when unset. */
  readonly rspamdUrl?: string | undefined;
  readonly rspamdTimeoutMs: number;
  readonly rspamdFailure: SpamFailurePolicy;
}

/**
 * The checks of port 25 as the settings ask for them, for the service's main and the
 * standalone alike; undefined when neither authentication nor a spam filter is on. The
 * scanner is rspamd at TEGAMI_RSPAMD_URL unless one is given (a benchmark, a test).
 */
export function inboundChecks(
  config: InboundCheckConfig,
  resolver: ResolverClient,
  scanner: SpamScanner | undefined = config.rspamdUrl
    ? createRspamdClient({ url: config.rspamdUrl, timeoutMs: config.rspamdTimeoutMs })
    : undefined,
): Omit<InboundCheckDeps, 'hostname' | 'metrics'> | undefined {
  const auth = config.mailAuth
    ? {
        resolver,
        timeoutMs: config.mailAuthTimeoutMs,
        disposition: {
          enforcement: config.dmarcEnforcement,
          trustedSealers: new Set(config.arcTrustedSealers ?? []),
        },
      }
    : undefined;
  const spam = scanner
    ? { scanner, timeoutMs: config.rspamdTimeoutMs, failure: config.rspamdFailure }
    : undefined;
  return auth || spam ? { auth, spam } : undefined;
}
