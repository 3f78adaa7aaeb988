import { parseDomain } from '../address/mailbox-address.js';
import { isSrsLocalPart } from '../srs/srs.js';

/**
 * A mailbox from a MAIL or RCPT path (RFC 5321 §4.1.2, with RFC 6531's UTF-8).
 *
 * `localPart` is canonical: a quoted local part whose content is a valid dot-string loses
 * its quotes (`"bob"` → `bob`, §4.1.2 says the forms are equivalent), any other keeps
 * minimal quoting (`"a b"`, `"a\"b"`), so `${localPart}@${domain}` is always a valid
 * address to look up or to relay. `domain` is a domain name in lower-case A-labels, or an
 * address literal such as `[192.0.2.1]` or `[IPv6:2001:db8::1]` (hex in lower case).
 */
export interface SmtpMailbox {
  readonly localPart: string;
  readonly domain: string;
  /** As on the wire, without the angle brackets and source route, e.g. for Received/Return-Path. */
  readonly text: string;
  /** True when the local part or the domain has non-ASCII characters (needs SMTPUTF8). */
  readonly utf8: boolean;
}

export type ReversePath =
  | { readonly kind: 'null' }
  | { readonly kind: 'mailbox'; readonly mailbox: SmtpMailbox };

/** RFC 5321 §4.1.1.3: `<Postmaster>` without a domain names this server's postmaster. */
export type ForwardPath =
  | { readonly kind: 'postmaster' }
  | { readonly kind: 'mailbox'; readonly mailbox: SmtpMailbox };

export type PathProblem =
  | { readonly kind: 'syntax' }
  | { readonly kind: 'too-long'; readonly part: 'local part' | 'domain' | 'path'; readonly limit: number };

/** A path read from the start of `input`; `end` is the index just past its `>`. */
export type PathRead<P> = { ok: true; path: P; end: number } | { ok: false; problem: PathProblem };

// RFC 5321 §4.5.3.1.1–3.
export const MAX_LOCAL_PART_OCTETS = 64;
export const MAX_DOMAIN_OCTETS = 255;
export const MAX_PATH_OCTETS = 256;

const SYNTAX = { ok: false, problem: { kind: 'syntax' } } as const;

/** `Reverse-path = Path / "<>"` (RFC 5321 §4.1.2), read from the start of `input`. */
export function readReversePath(input: string): PathRead<ReversePath> {
  if (input.startsWith('<>')) return { ok: true, path: { kind: 'null' }, end: 2 };
  const read = readPath(input, false);
  if (!read.ok) return read;
  return { ok: true, path: { kind: 'mailbox', mailbox: read.mailbox }, end: read.end };
}

/** `"<Postmaster>" / Forward-path` (RFC 5321 §4.1.1.3), read from the start of `input`. */
export function readForwardPath(input: string): PathRead<ForwardPath> {
  const read = readPath(input, true);
  if (!read.ok) return read;
  if (read.mailbox === 'postmaster') return { ok: true, path: { kind: 'postmaster' }, end: read.end };
  return { ok: true, path: { kind: 'mailbox', mailbox: read.mailbox }, end: read.end };
}

type MailboxRead<M> = { ok: true; mailbox: M; end: number } | { ok: false; problem: PathProblem };

function readPath(input: string, allowPostmaster: true): MailboxRead<SmtpMailbox | 'postmaster'>;
function readPath(input: string, allowPostmaster: false): MailboxRead<SmtpMailbox>;
function readPath(input: string, allowPostmaster: boolean): MailboxRead<SmtpMailbox | 'postmaster'> {
  if (input[0] !== '<') return SYNTAX;
  let pos = 1;
  let routed = false;
  // A-d-l = At-domain *( "," At-domain ), then ":" (§4.1.2). §C: accepted and ignored.
  if (input[pos] === '@') {
    routed = true;
    for (;;) {
      pos++; // past "@"
      const stop = indexOfAny(input, pos, ',:>');
      if (stop < 0 || input[stop] === '>') return SYNTAX;
      if (!isValidDomainName(input.slice(pos, stop))) return SYNTAX;
      pos = stop + 1;
      if (input[stop] === ':') break;
      if (input[pos] !== '@') return SYNTAX;
    }
  }

  const localStart = pos;
  let content: string;
  if (input[pos] === '"') {
    const quoted = readQuotedString(input, pos);
    if (!quoted) return SYNTAX;
    content = quoted.content;
    pos = quoted.end;
  } else {
    while (pos < input.length) {
      const width = dotStringCharWidth(input, pos);
      if (width === 0) break;
      pos += width;
    }
    content = input.slice(localStart, pos);
    if (!isDotString(content)) return SYNTAX;
  }
  const localWire = input.slice(localStart, pos);

  if (input[pos] === '>' && allowPostmaster && !routed && content.toLowerCase() === 'postmaster') {
    const end = pos + 1;
    return { ok: true, mailbox: 'postmaster', end };
  }
  if (input[pos] !== '@') return SYNTAX;
  pos++;

  const domainStart = pos;
  const close = input.indexOf('>', pos);
  if (close < 0) return SYNTAX;
  const domainWire = input.slice(domainStart, close);
  const end = close + 1;

  // An SRS address (a forwarder's rewritten sender, and the bounces to it) holds a whole
  // address in its local part and often passes 64 octets; §4.5.3.1 asks for no limits where
  // they can be avoided, and SRS forwarders' peers take them. The path limit still holds.
  if (octets(localWire) > MAX_LOCAL_PART_OCTETS && !isSrsLocalPart(content))
    return tooLong('local part', MAX_LOCAL_PART_OCTETS);
  if (octets(domainWire) > MAX_DOMAIN_OCTETS) return tooLong('domain', MAX_DOMAIN_OCTETS);
  if (octets(input.slice(0, end)) > MAX_PATH_OCTETS) return tooLong('path', MAX_PATH_OCTETS);

  let domain: string | undefined;
  if (domainWire.startsWith('[')) {
    domain = normalizeAddressLiteral(domainWire);
  } else {
    domain = readDomainName(domainWire);
  }
  if (domain === undefined) return SYNTAX;

  const mailbox: SmtpMailbox = {
    localPart: canonicalLocalPart(content),
    domain,
    text: `${localWire}@${domainWire}`,
    utf8: hasNonAscii(localWire) || hasNonAscii(domainWire),
  };
  return { ok: true, mailbox, end };
}

function tooLong(part: 'local part' | 'domain' | 'path', limit: number): { ok: false; problem: PathProblem } {
  return { ok: false, problem: { kind: 'too-long', part, limit } };
}

/**
 * `Quoted-string = DQUOTE *QcontentSMTP DQUOTE` (RFC 5321 §4.1.2; RFC 6531 §3.3 adds UTF-8
 * to qtextSMTP but not to quoted-pairSMTP). Returns the content with the quoting removed.
 */
function readQuotedString(input: string, start: number): { content: string; end: number } | undefined {
  let content = '';
  let pos = start + 1;
  while (pos < input.length) {
    const code = input.charCodeAt(pos);
    if (code === 0x22) return { content, end: pos + 1 };
    if (code === 0x5c) {
      const next = input.charCodeAt(pos + 1);
      if (!(next >= 0x20 && next <= 0x7e)) return undefined;
      content += input[pos + 1];
      pos += 2;
      continue;
    }
    if (code >= 0x20 && code <= 0x7e) {
      content += input[pos];
      pos++;
      continue;
    }
    const width = acceptableNonAsciiWidth(input, pos);
    if (width === 0) return undefined;
    content += input.slice(pos, pos + width);
    pos += width;
  }
  return undefined;
}

/** The form to store: bare when it is a dot-string, otherwise quoted with only `"` and `\` escaped. */
function canonicalLocalPart(content: string): string {
  if (isDotString(content)) return content;
  return `"${content.replace(/["\\]/g, '\\$&')}"`;
}

const ATEXT_ASCII = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]$/;

function dotStringCharWidth(input: string, pos: number): number {
  const c = input[pos]!;
  if (c === '.' || ATEXT_ASCII.test(c)) return 1;
  return acceptableNonAsciiWidth(input, pos);
}

/** `Dot-string = Atom *("." Atom)`, atext extended with UTF-8 by RFC 6531 §3.3. */
function isDotString(text: string): boolean {
  if (text === '') return false;
  for (const atom of text.split('.')) {
    if (atom === '') return false;
    for (let i = 0; i < atom.length; ) {
      if (ATEXT_ASCII.test(atom[i]!)) {
        i++;
        continue;
      }
      const width = acceptableNonAsciiWidth(atom, i);
      if (width === 0) return false;
      i += width;
    }
  }
  return true;
}

/**
 * The UTF-16 width of the non-ASCII character at `pos` if an address may hold it, else 0.
 * Refused: C1 controls, lone surrogates, and U+FFFD, which is what invalid UTF-8 on the wire
 * became when the line was decoded: accepting it would silently change the address.
 */
function acceptableNonAsciiWidth(text: string, pos: number): number {
  const code = text.codePointAt(pos);
  if (code === undefined || code < 0xa0) return 0;
  if (code >= 0xd800 && code <= 0xdfff) return 0;
  if (code === 0xfffd) return 0;
  return code > 0xffff ? 2 : 1;
}

/**
 * `Domain = sub-domain *("." sub-domain)` (RFC 5321 §4.1.2, U-labels per RFC 6531), checked
 * on the wire form before IDNA mapping can hide anything: letters, digits, hyphens and
 * non-ASCII between single dots, no trailing dot; then parseDomain validates the labels and
 * gives the stored form (lower-case A-labels).
 */
export function readDomainName(text: string): string | undefined {
  if (text === '' || text.length > MAX_DOMAIN_OCTETS * 2) return undefined;
  for (const label of text.split('.')) {
    if (label === '') return undefined;
    for (let i = 0; i < label.length; ) {
      const code = label.charCodeAt(i);
      if (
        (code >= 0x30 && code <= 0x39) ||
        (code >= 0x41 && code <= 0x5a) ||
        (code >= 0x61 && code <= 0x7a) ||
        code === 0x2d
      ) {
        i++;
        continue;
      }
      const width = acceptableNonAsciiWidth(label, i);
      if (width === 0) return undefined;
      i += width;
    }
  }
  const parsed = parseDomain(text);
  return parsed.ok ? parsed.domain : undefined;
}

export function isValidDomainName(text: string): boolean {
  return readDomainName(text) !== undefined;
}

/**
 * `address-literal` (RFC 5321 §4.1.3): `[IPv4]` or `[IPv6:addr]`, normalised to `[IPv6:` +
 * lower-case hex. The General-address-literal is refused: IANA has registered no tag for it.
 */
export function normalizeAddressLiteral(text: string): string | undefined {
  if (!text.startsWith('[') || !text.endsWith(']') || text.length < 3) return undefined;
  const inner = text.slice(1, -1);
  if (isIPv4Literal(inner)) return text;
  if (inner.length > 5 && inner.slice(0, 5).toLowerCase() === 'ipv6:') {
    const address = inner.slice(5);
    if (isIPv6Literal(address)) return `[IPv6:${address.toLowerCase()}]`;
  }
  return undefined;
}

/** `IPv4-address-literal = Snum 3("." Snum)`, Snum 1*3DIGIT of 0–255. */
function isIPv4Literal(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp (RFC 5321 §4.1.3). */
function isIPv6Literal(text: string): boolean {
  let hexPart = text;
  let groupsAvailable = 8;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) >= 0) {
    if (!isIPv4Literal(text.slice(lastColon + 1))) return false;
    // Keep the colon before the IPv4 part when it is one of "::" (e.g. "::192.0.2.1").
    hexPart = text.slice(0, text[lastColon - 1] === ':' ? lastColon + 1 : lastColon);
    groupsAvailable = 6;
  }
  const isHex = (g: string) => /^[0-9A-Fa-f]{1,4}$/.test(g);
  const halves = hexPart.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) {
    const groups = hexPart.split(':');
    return groups.length === groupsAvailable && groups.every(isHex);
  }
  const [left, right] = halves as [string, string];
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === '' ? [] : right.split(':');
  if (![...leftGroups, ...rightGroups].every(isHex)) return false;
  // "::" stands for at least two groups of zeros.
  return leftGroups.length + rightGroups.length <= groupsAvailable - 2;
}

function indexOfAny(text: string, from: number, chars: string): number {
  for (let i = from; i < text.length; i++) if (chars.includes(text[i]!)) return i;
  return -1;
}

function octets(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function hasNonAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return true;
  return false;
}

/** `local@domain` of a path; '' for the null reverse-path `<>`. */
export function reversePathAddress(path: ReversePath): string {
  return path.kind === 'null' ? '' : `${path.mailbox.localPart}@${path.mailbox.domain}`;
}
