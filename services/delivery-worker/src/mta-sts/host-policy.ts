import { policyListsMx } from '@tegami/protocol';
import { webPkiCheck } from '../peer-tls.js';
import type { HostTlsPolicy, PeerTls, TlsCheck } from '../tls-policy.js';
import type { ActiveMtaStsPolicy } from './policy-source.js';

// What a domain's MTA-STS policy asks of one of its MX hosts (RFC 8461 §4, §5). An MX host
// the policy does not list fails the check before any certificate is looked at (§4.1): in
// enforce mode it is not used, in testing mode the failure is only reported.

export function mtaStsHostPolicy(active: ActiveMtaStsPolicy, mxHost: string): HostTlsPolicy {
  const listed = policyListsMx(active.policy, mxHost);
  const check = (peer: PeerTls): TlsCheck => {
    if (!listed) {
      return {
        ok: false,
        resultType: 'validation-failure',
        detail: `MX host ${mxHost} is not listed in the MTA-STS policy of ${active.domain} (mx: ${active.policy.mx.join(', ')})`,
      };
    }
    // §4.2: a certificate valid for the MX host name, chained to a trusted root, in its dates.
    const verdict = webPkiCheck(peer);
    return verdict.ok
      ? verdict
      : { ...verdict, detail: `${verdict.detail} (MTA-STS policy of ${active.domain})` };
  };
  return {
    policyType: 'sts',
    policyStrings: active.lines,
    mxHostPatterns: active.policy.mx,
    requirement:
      active.policy.mode === 'enforce'
        ? { kind: 'required', check }
        : { kind: 'opportunistic', reportOnly: check },
    authenticatedRoute: listed,
  };
}
