// The decoded text SEARCH matches against (RFC 3501 §6.4.4), computed once
// at delivery so SEARCH never parses a message: header values with encoded
// words decoded, and the text of every text/* part with its transfer
// encoding undone, converted from its charset and, for HTML, stripped of
// markup. The same normalisation applies to stored text and to the query,
// so SEARCH CHARSET UTF-8 TEXT テスト finds an ISO-2022-JP message.

import { parseAddressList } from './address-list.js';
import { decodeCharset } from './charset.js';
import { decodeEncodedWords } from './encoded-words.js';
import { parseHeaderFields } from './header-parser.js';
import { htmlToText } from './html-text.js';
import type { MimePart } from './mime-part.js';
import { decodeTransferEncoding } from './transfer-encoding.js';

/** Body text past this many UTF-16 units is not kept: about 1 MB of text. */
export const MAX_BODY_SEARCH_TEXT = 1_000_000;
/** Header text is capped too, against a message made of a million headers. */
export const MAX_HEADER_SEARCH_TEXT = 256_000;

export interface SearchHeader {
  /** Field name, lower-cased (SEARCH HEADER compares names case-insensitively). */
  name: string;
  /** Decoded and normalised with normaliseForSearch. */
  value: string;
}

export interface SearchText {
  /** The top-level header fields, for SEARCH HEADER/SUBJECT/FROM/TO/CC/BCC and TEXT. */
  headers: SearchHeader[];
  /**
   * Normalised text of the body (SEARCH BODY; TEXT is headers + body):
   * text/* parts, and the header values and text parts of attached messages.
   */
  body: string;
  /**
   * Normalised MIME header text of the body parts (Content-Description, file names…):
   * part of the message's body, so SEARCH TEXT matches it (as Dovecot's does), though
   * SEARCH BODY, which means the parts' content, does not.
   */
  partHeaders: string;
  /** True when the body or header text was cut at its cap. */
  truncated: boolean;
}

/**
 * The normal form for matching: Unicode NFKC (full-width and half-width
 * forms, ligatures and compatibility characters unified), lower-cased with
 * the common full case foldings, runs of whitespace collapsed to one space.
 * Apply it to the query as well as to the stored text, then match substrings.
 */
export function normaliseForSearch(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/ς/g, 'σ')
    .normalize('NFKC')
    .replace(/[\s\u00a0\u3000]+/gu, ' ')
    .trim();
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  // do not leave half a surrogate pair at the end
  const end = /[\ud800-\udbff]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return text.slice(0, end);
}

/** Decoded text of one text/* part: transfer encoding, then charset, then HTML. */
export function decodeTextPart(raw: Uint8Array, part: MimePart): string {
  const bytes = decodeTransferEncoding(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
  const text = decodeCharset(bytes, part.decodedParams['charset']);
  return part.subtype === 'html' ? htmlToText(text) : text;
}

/** The header fields SEARCH FROM, TO, CC and BCC read, and the others that hold addresses. */
const ADDRESS_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'reply-to', 'sender']);

/**
 * The header fields in raw[start, end) as SEARCH matches them. An address field holds its
 * decoded text and, after a line break (which no normalised query holds, so no match spans
 * the two), its addresses written out as Dovecot matches them: `name <local@domain>`,
 * `<local@domain>` for a bare one, the group's name before its members. So
 * `SEARCH FROM user@example.org` finds `user @ example.org (Comment)`, a folded
 * `<user@\r\n example.org>` and `<"user"@example.org>` too.
 */
export function searchHeadersIn(raw: Uint8Array, start: number, end: number): SearchHeader[] {
  // Header text past MAX_HEADER_SEARCH_TEXT is not kept (capSearchHeaders, and the cut of the
  // part headers), so the addresses of fields past it are not written out: that took a second
  // of CPU a megabyte of address fields, half a minute for one 25 MB message (issue 21).
  let left = MAX_HEADER_SEARCH_TEXT;
  return parseHeaderFields(raw, start, end).map((field) => {
    const name = field.name.toLowerCase();
    const value = normaliseForSearch(decodeEncodedWords(field.value));
    left -= name.length + value.length + 2;
    if (!ADDRESS_HEADERS.has(name) || left < 0) return { name, value };
    const written = normaliseForSearch(writtenAddresses(field.value));
    return { name, value: written === '' || written === value ? value : `${value}\n${written}` };
  });
}

/** An address list as `name <local@domain>, …`, display names decoded, quotes taken off local parts. */
function writtenAddresses(value: string): string {
  const out: string[] = [];
  for (const address of parseAddressList(value)) {
    if (address.host === null) {
      // A group's start (its name) or end marker.
      if (address.mailbox !== null) out.push(`${decodeEncodedWords(address.mailbox)}:`);
      continue;
    }
    const local = /^"(.*)"$/s.exec(address.mailbox ?? '')?.[1]?.replace(/\\(.)/gs, '$1') ?? address.mailbox;
    const spec = `<${local}@${address.host}>`;
    out.push(address.name ? `${decodeEncodedWords(address.name)} ${spec}` : spec);
  }
  return out.join(', ');
}

function headerSearchText(raw: Uint8Array, part: MimePart): SearchHeader[] {
  return searchHeadersIn(raw, part.headerStart, part.bodyStart);
}

/** The top-level search headers that fit under MAX_HEADER_SEARCH_TEXT, in order; truncated when some did not. */
export function capSearchHeaders(headers: readonly SearchHeader[]): {
  headers: SearchHeader[];
  truncated: boolean;
} {
  let headerLength = 0;
  let truncated = false;
  const kept = headers.filter((header) => {
    headerLength += header.name.length + header.value.length + 2;
    if (headerLength > MAX_HEADER_SEARCH_TEXT) truncated = true;
    return headerLength <= MAX_HEADER_SEARCH_TEXT;
  });
  return { headers: kept, truncated };
}

function collectBodyText(raw: Uint8Array, part: MimePart, out: string[], budget: { left: number }): void {
  if (budget.left <= 0) return;
  if (part.message) {
    const nested = part.message.root;
    for (const header of headerSearchText(raw, nested)) {
      if (header.value !== '') out.push(header.value);
    }
    collectBodyText(raw, nested, out, budget);
    return;
  }
  if (part.children.length > 0) {
    for (const child of part.children) collectBodyText(raw, child, out, budget);
    return;
  }
  if (part.type !== 'text') return;
  // decode at most a little more than the budget: base64 and QP only shrink text
  const limited = { ...part, bodyEnd: Math.min(part.bodyEnd, part.bodyStart + budget.left * 4 + 4096) };
  const text = normaliseForSearch(decodeTextPart(raw, limited));
  if (text === '') return;
  out.push(text);
  budget.left -= text.length + 1;
}

/** Builds the search text of a parsed message. */
export function buildSearchText(raw: Uint8Array, root: MimePart): SearchText {
  const capped = capSearchHeaders(headerSearchText(raw, root));
  const headers = capped.headers;
  let truncated = capped.truncated;
  const pieces: string[] = [];
  const budget = { left: MAX_BODY_SEARCH_TEXT };
  collectBodyText(raw, root, pieces, budget);
  const joined = pieces.join(' ');
  if (joined.length > MAX_BODY_SEARCH_TEXT || budget.left <= 0) truncated = true;
  const partHeaders: string[] = [];
  collectPartHeaders(raw, root, partHeaders, true);
  const partText = partHeaders.join(' ');
  if (partText.length > MAX_HEADER_SEARCH_TEXT) truncated = true;
  return {
    headers,
    body: cut(joined, MAX_BODY_SEARCH_TEXT),
    partHeaders: cut(partText, MAX_HEADER_SEARCH_TEXT),
    truncated,
  };
}

function collectPartHeaders(raw: Uint8Array, part: MimePart, out: string[], isRoot: boolean): void {
  if (!isRoot) {
    for (const header of headerSearchText(raw, part)) if (header.value !== '') out.push(header.value);
    // RFC 2231 parameters (file names) are not encoded words: their decoded values too.
    for (const value of Object.values(part.decodedParams)) out.push(normaliseForSearch(value));
  }
  for (const child of part.children) collectPartHeaders(raw, child, out, false);
  if (part.message) collectPartHeaders(raw, part.message.root, out, false);
}

/** Header text as one string ("name: value" lines), for SEARCH TEXT over headers and body. */
export function searchHeaderText(searchText: SearchText): string {
  return searchText.headers.map((header) => `${header.name}: ${header.value}`).join('\n');
}
