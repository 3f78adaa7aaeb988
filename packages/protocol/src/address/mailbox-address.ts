import { domainToASCII } from 'node:url';

/**
 * An RFC 5321 mailbox (`local-part@domain`) as Tegami stores it: the domain in lower
 * case A-labels, the local part as written (RFC 5321 §2.4: only the destination host may
 * interpret its case; Tegami folds it for lookups, as nearly every MTA does).
 */
export interface MailboxAddress {
  readonly localPart: string;
  readonly domain: string;
  /** `localPart@domain`, lower-cased: the key accounts and aliases are found by. */
  readonly canonical: string;
}

export type AddressParse = { ok: true; address: MailboxAddress } | { ok: false; problem: string };

// RFC 5321 §4.5.3.1: local part up to 64 octets, domain up to 255, path up to 256.
const MAX_LOCAL_PART = 64;
const MAX_DOMAIN = 255;
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const LDH_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Parses an address an operator types (`tegami user add alice@example.org`) or a client
 * sends in a path. Only dot-atom local parts are accepted here; quoted local parts are
 * legal on the wire but no one should be made to log in with one.
 */
export function parseMailboxAddress(input: string): AddressParse {
  const text = input.trim();
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return fail(`"${text}" is not of the form local-part@domain`);
  const localPart = text.slice(0, at);
  const domainResult = parseDomain(text.slice(at + 1));
  if (!domainResult.ok) return domainResult;
  if (Buffer.byteLength(localPart) > MAX_LOCAL_PART)
    return fail(`local part longer than ${MAX_LOCAL_PART} octets`);
  if (!localPart.split('.').every((atom) => ATEXT.test(atom))) {
    return fail(
      `"${localPart}" is not a valid local part (letters, digits and !#$%&'*+/=?^_\`{|}~- between dots)`,
    );
  }
  const domain = domainResult.domain;
  return { ok: true, address: { localPart, domain, canonical: `${localPart.toLowerCase()}@${domain}` } };
}

export type DomainParse = { ok: true; domain: string } | { ok: false; problem: string };

/** A domain name as stored: lower case, A-labels (IDNA via WHATWG URL rules), no trailing dot. */
export function parseDomain(input: string): DomainParse {
  const raw = input.trim().replace(/\.$/, '');
  if (raw === '') return fail('empty domain');
  if (raw.startsWith('[')) return fail('address literals are not mail domains Tegami can host');
  const ascii = domainToASCII(raw.toLowerCase());
  if (ascii === '') return fail(`"${raw}" is not a valid domain name`);
  if (ascii.length > MAX_DOMAIN) return fail(`domain longer than ${MAX_DOMAIN} octets`);
  const labels = ascii.split('.');
  if (!labels.every((label) => LDH_LABEL.test(label))) return fail(`"${raw}" is not a valid domain name`);
  if (/^\d+$/.test(labels[labels.length - 1] ?? ''))
    return fail(`"${raw}" looks like an IP address, not a domain`);
  return { ok: true, domain: ascii };
}

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}
