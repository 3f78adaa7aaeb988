import { findHeaderEnd, parseAddressList, parseDomain, parseHeaderFields } from '@tegami/protocol';

// Which local domain signs an outgoing message (DKIM, RFC 6376). DMARC (RFC 7489 §3.1.1)
// passes when the signing domain aligns with the RFC5322.From domain: the same domain, or
// in relaxed mode one of its parents, so the From domain is tried first, then the local
// domains above it (MAILER-DAEMON@mx.example.org is signed by example.org), then the same
// for the envelope sender. Only local domains ever sign: mail from elsewhere that passes
// through (alias forwarding) is not ours to vouch for.

/** The local domains that may sign the message, best first (no duplicates, maybe none). */
export function signingDomainCandidates(
  message: Buffer,
  envelopeSender: string,
  localDomains: ReadonlySet<string>,
): string[] {
  const candidates: string[] = [];
  for (const domain of [fromDomain(message), envelopeDomain(envelopeSender)]) {
    if (domain === undefined) continue;
    for (const local of localDomainsAtOrAbove(domain, localDomains)) {
      if (!candidates.includes(local)) candidates.push(local);
    }
  }
  return candidates;
}

/**
 * The domain of the From field, when the message has exactly one and every mailbox in it
 * is of one domain: a message with two From fields, or authors of different domains,
 * aligns with no single one (RFC 7489 §6.6.1 lets receivers reject those anyway).
 */
export function fromDomain(message: Buffer): string | undefined {
  const end = findHeaderEnd(message, 0, message.length);
  const fields = parseHeaderFields(message, 0, end < 0 ? message.length : end);
  const from = fields.filter((field) => field.name.toLowerCase() === 'from');
  if (from.length !== 1) return undefined;
  const hosts = new Set<string>();
  for (const address of parseAddressList(from[0]!.value)) {
    if (address.host === null) continue; // a group's start and end markers
    const parsed = parseDomain(address.host);
    if (!parsed.ok) return undefined;
    hosts.add(parsed.domain);
  }
  return hosts.size === 1 ? [...hosts][0] : undefined;
}

/**
 * The envelope sender's domain; none for the null sender (<>, our own DSNs are signed by
 * their From) and for an SRS address (RFC-less but universal: postsrsd's SRS0=/SRS1=): that
 * is foreign mail forwarded by an alias, which is sealed with ARC instead of signed.
 */
export function envelopeDomain(sender: string): string | undefined {
  const at = sender.lastIndexOf('@');
  if (at <= 0) return undefined;
  if (/^srs[01][=+-]/i.test(sender.slice(0, at))) return undefined;
  const parsed = parseDomain(sender.slice(at + 1));
  return parsed.ok ? parsed.domain : undefined;
}

function localDomainsAtOrAbove(domain: string, localDomains: ReadonlySet<string>): string[] {
  const found: string[] = [];
  const labels = domain.split('.');
  for (let i = 0; i < labels.length; i++) {
    const candidate = labels.slice(i).join('.');
    if (localDomains.has(candidate)) found.push(candidate);
  }
  return found;
}
