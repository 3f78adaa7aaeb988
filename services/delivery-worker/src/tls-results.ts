import { utcDay } from '@tegami/reports';
import type { TlsResultTally } from '@tegami/store';
import type { TlsOutcome } from './tls-policy.js';

/** One outbound TLS session's outcome as TLS-RPT counts it, on the UTC day it happened. */
export function tlsResultTally(outcome: TlsOutcome, at: Date): TlsResultTally {
  return {
    day: utcDay(at),
    policyDomain: outcome.policyDomain.toLowerCase(),
    policyType: outcome.policyType,
    policyStrings: outcome.policyStrings,
    mxHostPatterns: outcome.mxHostPatterns ?? [],
    resultType: outcome.result,
    sendingIp: outcome.sendingIp ?? '',
    receivingIp: outcome.receivingIp,
    receivingMxHost: outcome.mxHost.toLowerCase().replace(/\.$/, ''),
    failureReason: outcome.result === 'success' ? '' : (outcome.failureDetail ?? ''),
  };
}
