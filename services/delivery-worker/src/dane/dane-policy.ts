import { type ResolverClient, ResolveStatus } from '@tegami/rpc';
import type { MxRoute } from '../remote-delivery.js';
import { type HostTlsPolicy, NO_TLS_POLICY } from '../tls-policy.js';
import { daneCheck } from './dane-check.js';
import { type TlsaRecordData, tlsaPresentation, usableTlsaRecords } from './tlsa-records.js';

// The per-MX-host TLS policy with DANE first (RFC 7672 §2.2; RFC 8461 §2: DANE takes
// precedence over MTA-STS): a wrapper around whatever policy applies otherwise.

/** The TLS policy of one MX host of a domain, as remote delivery asks for it. */
export type HostTlsPolicyLookup = (domain: string, mxHost: string, route: MxRoute) => Promise<HostTlsPolicy>;

export interface DaneOptions {
  /** The SMTP port delivery connects to: the TLSA name is `_<port>._tcp.<host>` (RFC 6698 §3). */
  readonly port: number;
}

/**
 * A TLSA lookup for a host in a signed zone failed (SERVFAIL, which is also how a validating
 * resolver reports bogus data, or no answer). RFC 7672 §2.2.1: the host must not be used, as
 * an attacker who can make the lookup fail must not get mail in clear; remote delivery then
 * tries the next MX host, or defers.
 */
export class DaneLookupFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DaneLookupFailure';
  }
}

/**
 * DANE when it applies to the MX host, else `otherwise` (MTA-STS, or no policy). It applies
 * when the MX answer, the host's addresses and its TLSA records are all DNSSEC-authenticated
 * and at least one TLSA record is usable: then TLS is required and the peer must match the
 * records. Authenticated TLSA records none of which is usable still say the host does TLS:
 * RFC 7672 §2.2 requires TLS without authentication then ("encrypt"), unless the other
 * policy already requires more.
 */
export function daneFirst(
  resolver: Pick<ResolverClient, 'resolveAddresses' | 'resolveTlsa'>,
  options: DaneOptions,
  otherwise: HostTlsPolicyLookup = async () => NO_TLS_POLICY,
): HostTlsPolicyLookup {
  return async (domain, mxHost, route) => {
    const dane = await danePolicy(resolver, options, domain, mxHost, route);
    if (dane.kind === 'authenticated') return dane.policy;
    const other = await otherwise(domain, mxHost, route);
    if (dane.kind === 'encrypt' && other.requirement.kind !== 'required') return dane.policy;
    return other;
  };
}

type DaneVerdict =
  | { readonly kind: 'not-applicable' }
  | { readonly kind: 'authenticated' | 'encrypt'; readonly policy: HostTlsPolicy };

async function danePolicy(
  resolver: Pick<ResolverClient, 'resolveAddresses' | 'resolveTlsa'>,
  { port }: DaneOptions,
  domain: string,
  mxHost: string,
  route: MxRoute,
): Promise<DaneVerdict> {
  // RFC 7672 §2.2.1: an MX RRset that is not secure could have been forged; DANE cannot help.
  if (!route.authenticated) return { kind: 'not-applicable' };
  // RFC 7672 §2.2.3: nor can it for a host whose addresses are not secure; and a host in an
  // unsigned zone is not asked for TLSA at all, so its server's answer cannot delay the mail.
  const addresses = await resolver.resolveAddresses(mxHost).catch((err: unknown) => {
    throw new DaneLookupFailure(`address lookup of ${mxHost} for DANE failed: ${(err as Error).message}`);
  });
  if (addresses.status !== ResolveStatus.RESOLVE_STATUS_OK || addresses.authenticated !== true) {
    return { kind: 'not-applicable' };
  }
  const name = `_${port}._tcp.${mxHost}`;
  const tlsa = await resolver.resolveTlsa(name).catch((err: unknown) => {
    throw new DaneLookupFailure(`TLSA lookup of ${name} failed: ${(err as Error).message}`);
  });
  switch (tlsa.status) {
    case ResolveStatus.RESOLVE_STATUS_OK:
      break;
    case ResolveStatus.RESOLVE_STATUS_NXDOMAIN:
    case ResolveStatus.RESOLVE_STATUS_NO_DATA:
      return { kind: 'not-applicable' };
    default:
      throw new DaneLookupFailure(
        `TLSA lookup of ${name} failed (${ResolveStatus[tlsa.status] ?? tlsa.status}${tlsa.detail ? `: ${tlsa.detail}` : ''}); ${mxHost} is in a signed zone, so it is not used until the lookup succeeds (RFC 7672 §2.2.1)`,
      );
  }
  // Records the upstream did not validate may be forged: as if there were none.
  if (!tlsa.authenticated) return { kind: 'not-applicable' };

  const records: TlsaRecordData[] = tlsa.records.map((r) => ({
    usage: r.usage,
    selector: r.selector,
    matchingType: r.matchingType,
    data: r.data,
  }));
  const policyStrings = records.map(tlsaPresentation);
  if (usableTlsaRecords(records).length === 0) {
    return {
      kind: 'encrypt',
      policy: {
        policyType: 'tlsa',
        policyStrings,
        // TLS is required; what the peer shows cannot be judged against these records.
        requirement: { kind: 'required', check: () => ({ ok: true }) },
        authenticatedRoute: false,
      },
    };
  }
  // RFC 7672 §3.2.2: the MX host name; for a domain without MX, the domain (the same name).
  const referenceNames = [...new Set([mxHost, ...(route.implicit ? [domain] : [])])];
  return {
    kind: 'authenticated',
    policy: {
      policyType: 'tlsa',
      policyStrings,
      requirement: { kind: 'required', check: (peer) => daneCheck(records, peer, referenceNames) },
      authenticatedRoute: true,
    },
  };
}
