import { type ResolverClient, ResolveStatus } from '@tegami/rpc';
import { getDomain } from 'tldts';
import { isDmarcRecord } from './dmarc-record.js';
import type { ReportDestination } from './report-uri.js';
import { type TlsRptPolicy, tlsRptPolicyOf } from './tlsrpt-record.js';

// The DNS questions of a report run, through the dns-resolver: where a domain wants its TLS
// reports, and whether a DMARC report may go to a destination outside the domain (RFC 7489 §7.1).

export type TxtResolver = Pick<ResolverClient, 'resolveTxt'>;

/** A lookup that may succeed later (SERVFAIL, timeout): the report waits and tries again. */
export class TemporaryDnsFailure extends Error {
  constructor(name: string, detail: string) {
    super(`temporary DNS failure looking up ${name}: ${detail}`);
    this.name = 'TemporaryDnsFailure';
  }
}

/** Each TXT record of a name, its strings joined; [] when the name or the records do not exist. */
export async function txtRecords(resolver: TxtResolver, name: string): Promise<string[]> {
  let answer: Awaited<ReturnType<TxtResolver['resolveTxt']>>;
  try {
    answer = await resolver.resolveTxt(name);
  } catch (err) {
    throw new TemporaryDnsFailure(name, (err as Error).message);
  }
  switch (answer.status) {
    case ResolveStatus.RESOLVE_STATUS_OK:
      return answer.records.map((r) => r.strings.join(''));
    case ResolveStatus.RESOLVE_STATUS_NXDOMAIN:
    case ResolveStatus.RESOLVE_STATUS_NO_DATA:
      return [];
    default:
      throw new TemporaryDnsFailure(name, answer.detail || ResolveStatus[answer.status]);
  }
}

/** RFC 8460 §3: the TXT record at `_smtp._tls.<domain>`. */
export async function lookupTlsRptPolicy(resolver: TxtResolver, domain: string): Promise<TlsRptPolicy> {
  return tlsRptPolicyOf(await txtRecords(resolver, `_smtp._tls.${domain}`));
}

/** The organizational domain (RFC 7489 §3.2), by the Public Suffix List as mailauth reads it. */
export function organizationalDomain(domain: string): string {
  return getDomain(domain, { allowIcannDomains: true, allowPrivateDomains: true }) ?? domain;
}

/**
 * RFC 7489 §7.1: a destination whose organizational domain is not the policy domain's gets
 * reports only when `<policy-domain>._report._dmarc.<destination-domain>` publishes a record
 * starting with `v=DMARC1` (the destination agreed to receive them). Https destinations are
 * not used for DMARC (§6.2 makes only mailto: required), so this is asked of mailto: ones.
 */
export async function mayReceiveDmarcReports(
  resolver: TxtResolver,
  policyDomain: string,
  destination: Extract<ReportDestination, { kind: 'mailto' }>,
): Promise<boolean> {
  if (organizationalDomain(destination.domain) === organizationalDomain(policyDomain)) return true;
  const records = await txtRecords(resolver, `${policyDomain}._report._dmarc.${destination.domain}`);
  return records.some(isDmarcRecord);
}
