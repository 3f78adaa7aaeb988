import { parseDomain, reply, type SmtpReply } from '@tegami/protocol';
import { AddressFamily, type ResolverClient } from '@tegami/rpc';
import { addressBytes, bracketed, sameAddress } from './client-address.js';
import { describeFailure, lookupOptions, outcomeOf } from './dns-lookup.js';

// Forward-confirmed reverse DNS (RFC 8601 §2.7.3 "iprev", as Postfix's
// reject_unknown_client_hostname): the PTR names of the address, then the addresses of
// those names; a name is confirmed when one of its addresses is the client's.

/**
 * How many PTR names are followed forward: an address with more is not trying to be found,
 * and each costs a lookup. SPF's ptr mechanism stops at the same number (RFC 7208 §5.5).
 */
export const MAX_PTR_NAMES = 10;

export type ReverseDnsResult =
  | { readonly kind: 'confirmed'; readonly name: string }
  /** The address has no PTR record. */
  | { readonly kind: 'none' }
  /** PTR names, none of which resolves back to the address. */
  | { readonly kind: 'unconfirmed'; readonly names: readonly string[] }
  | { readonly kind: 'temporary'; readonly detail: string };

export async function confirmReverseName(
  resolver: ResolverClient,
  address: string,
  deadlineAt: number,
  signal?: AbortSignal,
): Promise<ReverseDnsResult> {
  const bytes = addressBytes(address);
  if (!bytes) return { kind: 'none' };
  let names: string[];
  try {
    const answer = await resolver.resolvePtr(address, lookupOptions(deadlineAt, signal));
    const outcome = outcomeOf(answer.status);
    if (outcome === 'absent') return { kind: 'none' };
    if (outcome === 'temporary') return { kind: 'temporary', detail: answer.detail || 'PTR lookup failed' };
    names = answer.names;
  } catch (err) {
    return { kind: 'temporary', detail: describeFailure(err) };
  }
  // A PTR may name anything; only host names are worth a lookup.
  const hosts = names.filter((name) => parseDomain(name).ok).slice(0, MAX_PTR_NAMES);
  if (hosts.length === 0) return { kind: 'unconfirmed', names };
  const family = bytes.length === 4 ? AddressFamily.ADDRESS_FAMILY_IPV4 : AddressFamily.ADDRESS_FAMILY_IPV6;
  const forward = await Promise.all(
    hosts.map(async (host) => {
      try {
        const answer = await resolver.resolveAddresses(host, {
          family,
          ...lookupOptions(deadlineAt, signal),
        });
        const outcome = outcomeOf(answer.status);
        if (outcome !== 'found') return outcome;
        return answer.addresses.some((a) => sameAddress(a.address, address)) ? 'confirmed' : 'absent';
      } catch {
        return 'temporary' as const;
      }
    }),
  );
  const confirmed = forward.indexOf('confirmed');
  if (confirmed >= 0) return { kind: 'confirmed', name: hosts[confirmed]! };
  // One that could not be looked up might have confirmed it: not a final no.
  if (forward.includes('temporary'))
    return { kind: 'temporary', detail: 'forward lookup of the PTR names failed' };
  return { kind: 'unconfirmed', names };
}

/**
 * Postfix's texts with RFC 7372's code for a failed reverse DNS check (X.7.25): "reverse
 * hostname" when the address has no name (reject_unknown_reverse_client_hostname), "hostname"
 * when its names do not lead back to it (reject_unknown_client_hostname).
 */
export function reverseDnsRefusal(result: ReverseDnsResult, address: string): SmtpReply | undefined {
  const client = bracketed(address);
  switch (result.kind) {
    case 'confirmed':
      return undefined;
    case 'none':
      return reply(550, '5.7.25', `Client host rejected: cannot find your reverse hostname, ${client}`);
    case 'unconfirmed':
      return reply(550, '5.7.25', `Client host rejected: cannot find your hostname, ${client}`);
    case 'temporary':
      return reply(450, '4.7.25', `Client host rejected: cannot find your reverse hostname, ${client}`);
  }
}
