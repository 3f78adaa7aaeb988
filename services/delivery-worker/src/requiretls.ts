import type { QueueEntry } from '@tegami/store';
import { webPkiCheck } from './peer-tls.js';
import type { ConnectionFailure } from './smtp-client.js';
import type { HostTlsPolicy, PeerTls, TlsCheck, TlsRequirement } from './tls-policy.js';

// What the sender's own TLS choice (RFC 8689) makes of one MX host's policy: a REQUIRETLS
// message goes only to an authenticated host over validated TLS that offers REQUIRETLS
// (§4.2.1); a "TLS-Required: No" message ignores MTA-STS and DANE failures (§4.2.2); any
// other message follows the host's policy as it is.

/** How to use one MX host for one message, or why not to. */
export type HostTlsPlan =
  | {
      readonly kind: 'try';
      readonly requirement: TlsRequirement;
      /**
       * REQUIRETLS on MAIL FROM: `always` (the requirement makes sure the session qualifies),
       * `if-offered` (a notice about a REQUIRETLS message: tagged when the session happens to
       * qualify, sent anyway when not, §5), `never`.
       */
      readonly requireTlsParameter: 'always' | 'if-offered' | 'never';
    }
  | {
      readonly kind: 'skip';
      readonly reply: string;
      readonly statusCode: string;
      /** The host may qualify later (its policy could not be had yet): defer, do not return. */
      readonly temporary?: boolean | undefined;
    };

/** How the MX hosts were found (remote-delivery's MxRoute). */
export interface MxLookup {
  /** The MX answer came with the AD bit from a validating resolver (DNSSEC). */
  readonly authenticated: boolean;
  /** The domain has no MX: the host is the domain itself, so no MX record could be forged. */
  readonly implicit: boolean;
}

const PLAIN_MX: MxLookup = { authenticated: false, implicit: false };

export function planHostTls(
  entry: Pick<QueueEntry, 'sender' | 'requireTls' | 'tlsRequiredNo'>,
  policy: HostTlsPolicy,
  mxHost: string,
  route: MxLookup = PLAIN_MX,
): HostTlsPlan {
  if (entry.requireTls && entry.sender !== '') {
    // §4.2.1 step 2: an MX name neither signed (DNSSEC) nor matched by MTA-STS could be an
    // attacker's, however good its certificate. A signed MX with no TLSA records has no DANE
    // policy, yet its name is authenticated all the same.
    if (!policy.authenticatedRoute && !route.authenticated && !route.implicit) {
      if (policy.undetermined) {
        return {
          kind: 'skip',
          reply: `451 4.7.5 REQUIRETLS needs MX host ${mxHost} authenticated, and the ${policy.undetermined}`,
          statusCode: '4.7.5',
          temporary: true,
        };
      }
      return {
        kind: 'skip',
        reply: `550 5.7.30 REQUIRETLS support required: MX host ${mxHost} is not authenticated by DNSSEC or MTA-STS`,
        statusCode: '5.7.30',
      };
    }
    return {
      kind: 'try',
      requirement: {
        kind: 'required',
        check: validatingCheck(policy),
        peerMustOfferRequireTls: true,
      },
      requireTlsParameter: 'always',
    };
  }
  if (entry.requireTls) {
    // §5: a notice (empty reverse-path) is not lost for want of REQUIRETLS on the way back.
    const validated = policy.authenticatedRoute && policy.requirement.kind === 'required';
    return {
      kind: 'try',
      requirement: policy.requirement,
      requireTlsParameter: validated ? 'if-offered' : 'never',
    };
  }
  if (entry.tlsRequiredNo) {
    return { kind: 'try', requirement: withoutEnforcement(policy.requirement), requireTlsParameter: 'never' };
  }
  return { kind: 'try', requirement: policy.requirement, requireTlsParameter: 'never' };
}

/**
 * §2 and §4.2.1 step 4: the certificate validated by DANE or by a trust chain, and the MX
 * name matching it. A policy that enforces (DANE, MTA-STS enforce) has that check; MTA-STS
 * testing has it as its report-only check; a route with neither (an MX signed by DNSSEC
 * without TLSA records, an implicit MX) gets WebPKI for the host name the client connects to.
 */
function validatingCheck(policy: HostTlsPolicy): (peer: PeerTls) => TlsCheck {
  const requirement = policy.requirement;
  if (requirement.kind === 'required') return requirement.check;
  return requirement.reportOnly ?? webPkiCheck;
}

/**
 * §4.2.2 and §8.4: "TLS-Required: No" makes the client behave as if it did not support DANE
 * or MTA-STS: STARTTLS when offered, delivery whatever the certificate. The policy's check
 * still runs, report-only, so TLS-RPT tells the domain what went wrong.
 */
function withoutEnforcement(requirement: TlsRequirement): TlsRequirement {
  if (requirement.kind === 'opportunistic') return requirement;
  return { kind: 'opportunistic', reportOnly: requirement.check };
}

/**
 * A REQUIRETLS message's answer to a host that failed its requirement (§4.2.1): final for this
 * host, so the message is returned once every MX host has failed so (5.7.30 when the peer
 * lacks REQUIRETLS, 5.7.10 when TLS could not be set up or validated). A host that could not
 * be reached at all says nothing about the path: undefined, and it is retried as any other.
 */
export function requireTlsRefusal(
  failure: Pick<ConnectionFailure, 'message' | 'enhanced' | 'tlsResult'>,
): { reply: string; statusCode: string } | undefined {
  if (failure.enhanced === '4.7.10') {
    return { reply: `550 5.7.30 REQUIRETLS support required: ${failure.message}`, statusCode: '5.7.30' };
  }
  if (!failure.tlsResult) return undefined;
  return { reply: `550 5.7.10 Encryption needed: ${failure.message}`, statusCode: '5.7.10' };
}
