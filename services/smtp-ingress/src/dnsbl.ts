import { reply, type SmtpReply } from '@tegami/protocol';
import { AddressFamily, type ResolverClient, reversedAddressLabels } from '@tegami/rpc';
import { bracketed } from './client-address.js';
import { describeFailure, lookupOptions, outcomeOf, replySafeText } from './dns-lookup.js';

// DNS blocklists (RFC 5782): a list publishes an A record at `<reversed address>.<zone>` for
// each listed address, and usually a TXT record there saying why.

export type DnsblResult =
  | {
      readonly kind: 'listed';
      readonly zone: string;
      readonly answers: readonly string[];
      readonly text?: string;
    }
  | { readonly kind: 'clear'; readonly zone: string }
  /** No verdict: the lookup failed or timed out, or the list answered with an error code. Never refuses. */
  | { readonly kind: 'failed'; readonly zone: string; readonly detail: string };

/**
 * The name to look up for `address` in `zone` (RFC 5782 §2.1, §2.4): the IPv4 octets in
 * reverse order (`192.0.2.99` → `99.2.0.192.zone`), or the 32 nibbles of an IPv6 address in
 * reverse order (as in ip6.arpa). An IPv4-mapped IPv6 peer is looked up as its IPv4 address,
 * which is what IPv4 lists hold. Undefined for a text that is not an address.
 */
export function dnsblQueryName(address: string, zone: string): string | undefined {
  const labels = reversedAddressLabels(address);
  return labels === undefined ? undefined : `${labels}.${zone}`;
}

/**
 * Whether an A record answered by a list means "listed". RFC 5782 §2.1: entries are A records
 * in 127.0.0.0/8 (127.0.0.2 the usual one; other values tell kinds of listing apart), so they
 * can never be mistaken for a real host. Two kinds of answer are not listings:
 * - 127.255.255.0/24: Spamhaus's error codes, answered to every query it will not serve
 *   (127.255.255.254: asked through a public or open resolver; .255: too many queries; .252:
 *   a malformed name). Taking them for listings would refuse every client;
 * - anything outside 127.0.0.0/8: a zone that has expired or is wildcarded to a web server.
 */
export function isListingAnswer(answer: string): boolean {
  return answer.startsWith('127.') && !answer.startsWith('127.255.255.');
}

/**
 * Postfix's wording (reject_rbl_client), so operators and senders recognise it:
 * `554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked using zen.example; <TXT>`.
 */
export function dnsblRefusal(address: string, zone: string, text: string | undefined): SmtpReply {
  const because = text ? `; ${replySafeText(text)}` : '';
  return reply(
    554,
    '5.7.1',
    `Service unavailable; Client host ${bracketed(address)} blocked using ${zone}${because}`,
  );
}

/** Looks `address` up in `zone`, and when it is listed, the listing's TXT text. */
export async function lookupDnsbl(
  resolver: ResolverClient,
  address: string,
  zone: string,
  deadlineAt: number,
  signal?: AbortSignal,
): Promise<DnsblResult> {
  const name = dnsblQueryName(address, zone);
  if (!name) return { kind: 'failed', zone, detail: `not an IP address: ${address}` };
  let found: string[];
  try {
    // Lists answer with A records whatever the family of the address (RFC 5782 §2.4).
    const answer = await resolver.resolveAddresses(name, {
      family: AddressFamily.ADDRESS_FAMILY_IPV4,
      ...lookupOptions(deadlineAt, signal),
    });
    const outcome = outcomeOf(answer.status);
    if (outcome === 'absent') return { kind: 'clear', zone };
    if (outcome === 'temporary') return { kind: 'failed', zone, detail: answer.detail || 'lookup failed' };
    found = answer.addresses.map((a) => a.address);
  } catch (err) {
    return { kind: 'failed', zone, detail: describeFailure(err) };
  }
  const answers = found.filter(isListingAnswer);
  if (answers.length === 0) {
    return { kind: 'failed', zone, detail: `answered ${found.join(', ')}, which is no listing` };
  }
  const text = await listingText(resolver, name, deadlineAt, signal);
  return { kind: 'listed', zone, answers, ...(text !== undefined && { text }) };
}

/** The first TXT record of a listing, its strings joined; undefined when there is none or it fails. */
async function listingText(
  resolver: ResolverClient,
  name: string,
  deadlineAt: number,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  try {
    const answer = await resolver.resolveTxt(name, lookupOptions(deadlineAt, signal));
    const record = answer.records[0];
    return outcomeOf(answer.status) === 'found' && record ? record.strings.join('') : undefined;
  } catch {
    return undefined;
  }
}
