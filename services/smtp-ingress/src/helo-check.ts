import { isIP } from 'node:net';
import { parseDomain, reply, type SmtpReply } from '@tegami/protocol';
import { type ResolverClient, ResolveStatus } from '@tegami/rpc';
import { describeFailure, lookupOptions, outcomeOf, replySafeText } from './dns-lookup.js';

// HELO/EHLO sanity (Postfix's reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname,
// reject_unknown_helo_hostname and the usual "you are not me" check). RFC 5321 §4.1.4 says a
// server must not refuse mail because the name does not match the client's address, and none
// of this does: a real MTA names itself with a name that exists, spamware often does not.
// It is the operator's choice (TEGAMI_SMTP_HELO_CHECKS), off by default.

export type HeloName =
  | { readonly kind: 'domain'; readonly name: string }
  | { readonly kind: 'address-literal' }
  | { readonly kind: 'invalid'; readonly reason: 'malformed' | 'not-fqdn' | 'bare-address' };

/**
 * What a HELO argument is: a fully qualified domain name (at least two labels, valid
 * letters-digits-hyphens labels or an IDN, not ending in a numeric label), an address
 * literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`, RFC 5321 §4.1.3), or neither.
 */
export function classifyHelo(argument: string): HeloName {
  if (argument.startsWith('[')) {
    const inner = argument.endsWith(']') ? argument.slice(1, -1) : '';
    const ipv6 = /^ipv6:/i.test(inner) ? inner.slice(5) : undefined;
    const valid = ipv6 !== undefined ? isIP(ipv6) === 6 : isIP(inner) === 4;
    return valid ? { kind: 'address-literal' } : { kind: 'invalid', reason: 'malformed' };
  }
  if (isIP(argument) !== 0) return { kind: 'invalid', reason: 'bare-address' };
  // parseDomain forgives a trailing dot and refuses a numeric last label (an IP-like name).
  const parsed = parseDomain(argument);
  if (!parsed.ok || argument.endsWith('.') || /\s/.test(argument))
    return { kind: 'invalid', reason: 'malformed' };
  if (!parsed.domain.includes('.')) return { kind: 'invalid', reason: 'not-fqdn' };
  return { kind: 'domain', name: parsed.domain };
}

export type HeloResult =
  | { readonly kind: 'pass' }
  | {
      readonly kind: 'refused';
      readonly reason:
        | 'malformed'
        | 'not-fqdn'
        | 'bare-address'
        | 'own-name'
        | 'not-found'
        | 'too-many-names';
    }
  | { readonly kind: 'temporary'; readonly detail: string };

/**
 * Checks a HELO argument. `ownNames` are this server's host name and local domains (lower
 * case): a stranger naming itself as us is lying. A name must resolve to an address or have
 * an MX record (as Postfix asks); an address literal is not looked up.
 */
export async function checkHelo(
  resolver: ResolverClient,
  argument: string,
  ownNames: readonly string[],
  deadlineAt: number,
  signal?: AbortSignal,
): Promise<HeloResult> {
  const helo = classifyHelo(argument);
  if (helo.kind === 'invalid') return { kind: 'refused', reason: helo.reason };
  if (helo.kind === 'address-literal') return { kind: 'pass' };
  if (ownNames.some((own) => own.toLowerCase() === helo.name)) return { kind: 'refused', reason: 'own-name' };
  try {
    const addresses = await resolver.resolveAddresses(helo.name, lookupOptions(deadlineAt, signal));
    const byAddress = outcomeOf(addresses.status);
    if (byAddress === 'found') return { kind: 'pass' };
    // A name that does not exist has no MX record either.
    if (addresses.status === ResolveStatus.RESOLVE_STATUS_NXDOMAIN)
      return { kind: 'refused', reason: 'not-found' };
    const mx = await resolver.resolveMx(helo.name, lookupOptions(deadlineAt, signal));
    const byMx = outcomeOf(mx.status);
    if (byMx === 'found') return { kind: 'pass' };
    if (byAddress === 'absent' && byMx === 'absent') return { kind: 'refused', reason: 'not-found' };
    return {
      kind: 'temporary',
      detail: (byAddress === 'temporary' ? addresses.detail : mx.detail) || 'lookup failed',
    };
  } catch (err) {
    return { kind: 'temporary', detail: describeFailure(err) };
  }
}

const REASON_TEXT = {
  malformed: 'Invalid name',
  'not-fqdn': 'need fully-qualified hostname',
  'bare-address': 'an address must be written as an address literal, in brackets',
  'own-name': 'You are not me',
  'not-found': 'Host not found',
  'too-many-names': 'too many different names in one session',
} as const;

/**
 * `550 5.7.1 <name>: Helo command rejected: <why>` (Postfix's form), `450 4.7.1` when DNS
 * could not tell. The name is the client's own text, made safe for a reply line.
 */
export function heloRefusal(argument: string, result: HeloResult): SmtpReply | undefined {
  const name = `<${replySafeText(argument, 255)}>`;
  switch (result.kind) {
    case 'pass':
      return undefined;
    case 'refused':
      return reply(550, '5.7.1', `${name}: Helo command rejected: ${REASON_TEXT[result.reason]}`);
    case 'temporary':
      return reply(450, '4.7.1', `${name}: Helo command rejected: Host not found (temporary DNS failure)`);
  }
}
