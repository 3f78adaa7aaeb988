import type { DetailedPeerCertificate } from 'node:tls';

// The contract between the outbound TLS policies (MTA-STS, DANE, REQUIRETLS), the SMTP
// client that enforces them and TLS-RPT that reports on them. Types only: each policy lives
// in a module of its own.

/** RFC 8460 §4.3 result types, plus 'success'. */
export type TlsResultType =
  | 'success'
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid';

/** What the peer showed after STARTTLS, for a policy to judge. */
export interface PeerTls {
  /** Leaf first, as `getPeerCertificate(true)` links them, flattened. */
  readonly chain: readonly DetailedPeerCertificate[];
  /** Whether node's own WebPKI check (trusted roots, validity dates) passed. */
  readonly authorized: boolean;
  readonly authorizationError?: string | undefined;
  readonly protocol: string | null;
}

export type TlsCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly resultType: TlsResultType; readonly detail: string };

/**
 * How one connection must use TLS. `opportunistic`: STARTTLS when offered, carry on in clear
 * otherwise (no policy). `required`: STARTTLS must succeed and `check` must pass, else the
 * connection is given up (a temporary failure: the message is deferred) — MTA-STS enforce,
 * DANE, REQUIRETLS. `peerMustOfferRequireTls`: the peer's EHLO must list REQUIRETLS (RFC 8689).
 */
export type TlsRequirement =
  | {
      readonly kind: 'opportunistic';
      /** MTA-STS `testing`: judged and reported, never enforced. */
      readonly reportOnly?: ((peer: PeerTls) => TlsCheck) | undefined;
    }
  | {
      readonly kind: 'required';
      readonly check: (peer: PeerTls) => TlsCheck;
      readonly peerMustOfferRequireTls?: boolean | undefined;
    };

/** One outbound TLS negotiation's outcome, for TLS-RPT (RFC 8460 §4.4 fields). */
export interface TlsOutcome {
  /** The recipient domain whose policy applied. */
  readonly policyDomain: string;
  readonly policyType: 'sts' | 'tlsa' | 'no-policy-found';
  /** The MTA-STS policy's lines, or each TLSA record as presentation text. */
  readonly policyStrings: readonly string[];
  /** MTA-STS: the policy's mx patterns. */
  readonly mxHostPatterns?: readonly string[] | undefined;
  readonly mxHost: string;
  readonly sendingIp?: string | undefined;
  readonly receivingIp: string;
  readonly result: TlsResultType;
  readonly failureDetail?: string | undefined;
}

/**
 * The TLS policy for one MX host of a destination: DANE when the host has usable TLSA records
 * (RFC 8461 §2: DANE takes precedence), else the domain's MTA-STS policy, else none.
 */
export interface HostTlsPolicy {
  readonly policyType: 'sts' | 'tlsa' | 'no-policy-found';
  readonly policyStrings: readonly string[];
  readonly mxHostPatterns?: readonly string[] | undefined;
  readonly requirement: TlsRequirement;
  /**
   * RFC 8689 §4.2.1: the MX host was found through DNSSEC (DANE applies) or matched an
   * MTA-STS policy, so a REQUIRETLS message may go to it when `requirement` validated the peer.
   */
  readonly authenticatedRoute: boolean;
  /**
   * Why no policy could be determined, when that is the reason none applies: the domain
   * announces an MTA-STS policy that could not be fetched, and none is cached. Mail goes as
   * without one (RFC 8461 §5), but a REQUIRETLS message, which needs the route authenticated,
   * waits for it (RFC 8689 §4.2.1).
   */
  readonly undetermined?: string | undefined;
}

/** The opportunistic default: no policy found for the destination. */
export const NO_TLS_POLICY: HostTlsPolicy = {
  policyType: 'no-policy-found',
  policyStrings: [],
  requirement: { kind: 'opportunistic' },
  authenticatedRoute: false,
};
