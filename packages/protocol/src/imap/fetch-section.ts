// FETCH body sections (RFC 3501 §6.4.5 and §7.4.2, RFC 9051 §6.4.5, RFC 3516 BINARY)
// served as slices of the stored raw message, located by the byte offsets of the MIME
// tree that was parsed once at delivery. Nothing is re-serialised from a parse: every
// section is raw[start, end) as received, except HEADER.FIELDS[.NOT], which copies the
// selected raw header lines (folding and line endings as written) and adds the blank line.
//
// Part numbering and the meaning of each section text follow Dovecot (lib-imap-storage
// imap-msgpart.c) where RFC 3501 is loose:
// - BODY[n] of a multipart part is its whole body: preamble, boundary lines, every child
//   and epilogue, as stored; of a message/rfc822 part it is the whole encapsulated message.
// - BODY[n.MIME] of a message/rfc822 part is that part's own MIME header (the one in the
//   enclosing multipart); BODY[1.MIME] of a single-part message is the message header.
// - n.HEADER, n.HEADER.FIELDS[.NOT] and n.TEXT exist only when part n is message/rfc822.
// - Below a multipart, a leaf n also answers to n.1 (but not n.1.1); at the top, a
//   single-part message's 1.1 does not exist (imap_msgpart_find's walk, kept as is).
// - BINARY of a composite part (multipart, message/rfc822) or of the whole message is
//   served as stored: RFC 2045 §6.4 allows only identity encodings there. Dovecot
//   instead decodes every leaf inside and rewrites each one's Content-Transfer-Encoding
//   header, which would mean re-serialising the message (and BINARY.SIZE could not come
//   from the metadata alone). Dovecot also refuses BINARY of any part when any part of
//   the message has an unknown encoding ([UNKNOWN-CTE]) or broken base64 ([PARSE]);
//   here only the requested leaf's encoding counts, and base64 is decoded tolerantly.
//
// A section that does not exist comes back as undefined. RFC 3501 does not say what to
// answer; the FETCH code (message-commands.ts) answers NIL, where Dovecot sends an empty
// string. BINARY.SIZE of a missing part is 0 there, as in Dovecot.

import { isMultipart, type MimePart } from '../mime/mime-part.js';
import { decodedSize, decodeTransferEncoding, normaliseTransferEncoding } from '../mime/transfer-encoding.js';
import { parseNzNumber } from './wire-values.js';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

/** A parsed section-spec (RFC 3501 §9): the text between the brackets of BODY[…]. */
export interface SectionSpec {
  /** The section-part: [] for the message itself, [1, 2] for "1.2". */
  part: number[];
  /** The section-text; absent for BODY[] and BODY[1.2]. */
  text?: SectionText;
  /** The header-list of HEADER.FIELDS and HEADER.FIELDS.NOT, as sent (compared case-insensitively). */
  fields?: string[];
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const CRLF = new Uint8Array([CR, LF]);
const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------
// Section specifier syntax

/**
 * Parses a section-spec (RFC 3501 §9, RFC 9051 §9):
 *   section-spec = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
 *   section-text = section-msgtext / "MIME"
 * Keywords are case-insensitive; header field names are astrings (atoms or quoted
 * strings). Returns undefined for anything else: a part number 0, MIME without a part,
 * HEADER.FIELDS without a non-empty list, trailing text. Part numbers with leading zeros
 * are read as numbers ("01" is 1), as Dovecot does.
 */
export function parseSectionSpec(spec: string): SectionSpec | undefined {
  const numbers = /^\d+(?:\.\d+)*/.exec(spec)?.[0];
  const part: number[] = [];
  let rest = spec;
  if (numbers !== undefined) {
    for (const digits of numbers.split('.')) {
      // section-part is nz-numbers (RFC 9051 §9): 1 to 4294967295.
      const n = parseNzNumber(digits);
      if (n === undefined) return undefined;
      part.push(n);
    }
    rest = spec.slice(numbers.length);
    if (rest === '') return { part };
    if (rest[0] !== '.') return undefined;
    rest = rest.slice(1);
  } else if (rest === '') {
    return { part };
  }
  const keyword = /^(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)/i.exec(rest)?.[0];
  if (keyword === undefined) return undefined;
  const text = keyword.toUpperCase() as SectionText;
  const tail = rest.slice(keyword.length);
  if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') {
    if (tail[0] !== ' ') return undefined;
    const fields = parseHeaderList(tail.slice(1));
    if (fields === undefined) return undefined;
    return { part, text, fields };
  }
  if (tail !== '') return undefined;
  if (text === 'MIME' && part.length === 0) return undefined;
  return { part, text };
}

/** ATOM-CHAR plus "]" (ASTRING-CHAR): printable ASCII except atom-specials. */
function isAstringChar(code: number): boolean {
  return code > 0x20 && code < 0x7f && !'(){%*"\\'.includes(String.fromCharCode(code));
}

/**
 * header-list = "(" header-fld-name *(SP header-fld-name) ")", header-fld-name = astring.
 * Literals cannot occur (the command reader refuses "{" inside brackets). Extra spaces
 * inside the parentheses are tolerated, as Dovecot's parser does.
 */
function parseHeaderList(text: string): string[] | undefined {
  if (text[0] !== '(') return undefined;
  const names: string[] = [];
  let pos = 1;
  for (;;) {
    while (text[pos] === ' ') pos++;
    if (text[pos] === ')') break;
    if (names.length > 0 && text[pos - 1] !== ' ') return undefined;
    if (text[pos] === '"') {
      let value = '';
      pos++;
      for (;;) {
        const c = text[pos];
        if (c === undefined || c === '\r' || c === '\n') return undefined;
        pos++;
        if (c === '"') break;
        if (c === '\\') {
          const escaped = text[pos];
          if (escaped !== '"' && escaped !== '\\') return undefined;
          value += escaped;
          pos++;
        } else {
          value += c;
        }
      }
      names.push(value);
      continue;
    }
    const start = pos;
    while (pos < text.length && isAstringChar(text.charCodeAt(pos))) pos++;
    if (pos === start) return undefined;
    names.push(text.slice(start, pos));
  }
  if (pos !== text.length - 1 || names.length === 0) return undefined;
  return names;
}

// ---------------------------------------------------------------------------
// Part numbering

/**
 * The part a section-part refers to (RFC 3501 §6.4.5), walking the tree as Dovecot's
 * imap_msgpart_find does: [] is the message itself; in a multipart, n is its n-th child;
 * a non-multipart entity has only part 1, itself (so [1] of a single-part message is its
 * body); when the path goes on below a message/rfc822 part, it continues in the
 * encapsulated message (its root's children if that is multipart, its root otherwise).
 * A path ending at a message/rfc822 part returns that part, not the encapsulated root.
 * As in Dovecot, a leaf reached through a multipart also answers to a further ".1"
 * (1.1 of a multipart message is part 1 when part 1 is text/plain), but not ".1.1".
 */
export function findSectionPart(root: MimePart, part: readonly number[]): MimePart | undefined {
  let current: MimePart = root;
  for (let i = 0; i < part.length; i++) {
    const n = part[i]!;
    const more = i + 1 < part.length;
    if (isMultipart(current)) {
      const child = current.children[n - 1];
      if (child === undefined) return undefined;
      current = child;
    } else if (n !== 1 || (more && !current.message)) {
      return undefined;
    }
    if (more && current.message) current = current.message.root;
  }
  return current;
}

// ---------------------------------------------------------------------------
// BODY[section]

/**
 * The octets of BODY[section] before any <partial>: views into raw (not copies), except
 * for HEADER.FIELDS[.NOT]. Undefined when the section does not exist in this message
 * (no such part, or HEADER/TEXT of a part that is not message/rfc822).
 *
 * - [] the whole message; [HEADER] the header with its blank line; [TEXT] the body.
 * - [n] the body of part n: for a multipart part, everything between its header and the
 *   end of its last boundary line or epilogue (boundaries included, as Dovecot does).
 * - [n.MIME] the header of part n, blank line included.
 * - [n.HEADER], [n.TEXT], [n.HEADER.FIELDS …] of the message encapsulated in
 *   message/rfc822 part n.
 * - HEADER.FIELDS (…) the matching fields in message order, each with its continuation
 *   lines, then CRLF; HEADER.FIELDS.NOT (…) every other line of the header the same way.
 */
export function extractSection(raw: Uint8Array, root: MimePart, spec: SectionSpec): Uint8Array | undefined {
  let entity: MimePart;
  if (spec.part.length === 0) {
    entity = root;
    if (spec.text === undefined) return raw.subarray(root.headerStart, root.bodyEnd);
    if (spec.text === 'MIME') return undefined;
  } else {
    const found = findSectionPart(root, spec.part);
    if (found === undefined) return undefined;
    if (spec.text === undefined) return raw.subarray(found.bodyStart, found.bodyEnd);
    if (spec.text === 'MIME') return raw.subarray(found.headerStart, found.bodyStart);
    if (!found.message) return undefined;
    entity = found.message.root;
  }
  switch (spec.text) {
    case 'HEADER':
      return raw.subarray(entity.headerStart, entity.bodyStart);
    case 'TEXT':
      return raw.subarray(entity.bodyStart, entity.bodyEnd);
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return filterHeaderFields(raw, entity.headerStart, entity.bodyStart, spec.fields ?? [], spec.text);
  }
}

function isWsp(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09;
}

function nextLineStart(raw: Uint8Array, pos: number, end: number): number {
  const lf = raw.indexOf(LF, pos);
  return lf < 0 || lf >= end ? end : lf + 1;
}

/** ASCII-only lower case of a byte, so non-ASCII names compare octet for octet. */
function lowerByte(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}

const utf8 = new TextEncoder();

/**
 * The lower-cased field names of a header-list, encoded once per parsed FETCH item (the
 * same array for every message of the FETCH), not once per message.
 */
const encodedNames = new WeakMap<readonly string[], readonly Uint8Array[]>();
function wantedNames(names: readonly string[]): readonly Uint8Array[] {
  let wanted = encodedNames.get(names);
  if (wanted === undefined) {
    wanted = names.map((name) => utf8.encode(name).map(lowerByte));
    encodedNames.set(names, wanted);
  }
  return wanted;
}

/**
 * The header lines of raw[start, end) whose field name is (HEADER.FIELDS) or is not
 * (HEADER.FIELDS.NOT) in `names`, each field with its folded continuation lines, then the
 * blank line as CRLF. Lines that are not a field (no colon, or a stray continuation line
 * before the first field) are never among the named ones, so only .NOT returns them.
 */
function filterHeaderFields(
  raw: Uint8Array,
  start: number,
  end: number,
  names: readonly string[],
  text: 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT',
): Uint8Array {
  const wanted = wantedNames(names);
  const include = text === 'HEADER.FIELDS';
  const chunks: Uint8Array[] = [];
  let total = 0;
  let pos = start;
  while (pos < end) {
    // the blank line ends the header section
    if (raw[pos] === LF || (raw[pos] === CR && raw[pos + 1] === LF)) break;
    const fieldStart = pos;
    let fieldEnd = nextLineStart(raw, pos, end);
    while (fieldEnd < end && isWsp(raw[fieldEnd])) fieldEnd = nextLineStart(raw, fieldEnd, end);
    pos = fieldEnd;
    if (matchesName(raw, fieldStart, fieldEnd, wanted) !== include) continue;
    const field = raw.subarray(fieldStart, fieldEnd);
    chunks.push(field);
    total += field.length;
    // a last header line without a line break (a message that is all header) gets one
    if (field[field.length - 1] !== LF) {
      chunks.push(CRLF);
      total += CRLF.length;
    }
  }
  chunks.push(CRLF);
  total += CRLF.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Whether the field at raw[start, end) has one of the (lower-cased) names. */
function matchesName(raw: Uint8Array, start: number, end: number, wanted: readonly Uint8Array[]): boolean {
  if (isWsp(raw[start])) return false;
  let colon = -1;
  for (let i = start; i < end; i++) {
    const byte = raw[i]!;
    if (byte === COLON) {
      colon = i;
      break;
    }
    if (byte === LF) break;
  }
  if (colon < 0) return false;
  let nameEnd = colon;
  // obsolete syntax allows WSP between the name and the colon (RFC 5322 §4.5.3)
  while (nameEnd > start && isWsp(raw[nameEnd - 1])) nameEnd--;
  const length = nameEnd - start;
  if (length === 0) return false;
  return wanted.some((name) => {
    if (name.length !== length) return false;
    for (let k = 0; k < length; k++) if (lowerByte(raw[start + k]!) !== name[k]) return false;
    return true;
  });
}

/**
 * <origin.octets> (RFC 3501 §6.4.5): the octets from `offset`, at most `length` of them
 * (all the rest when length is absent, as IMAP4rev1 clients sometimes send). An origin
 * at or past the end gives an empty string. A view, not a copy.
 */
export function applyPartial(data: Uint8Array, offset: number, length?: number): Uint8Array {
  if (offset >= data.length) return EMPTY;
  const end = length === undefined ? data.length : Math.min(data.length, offset + length);
  return data.subarray(offset, end);
}

// ---------------------------------------------------------------------------
// BINARY[section] and BINARY.SIZE[section] (RFC 3516)

const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);
const DECODED_ENCODINGS = new Set(['base64', 'quoted-printable']);

function isComposite(part: MimePart): boolean {
  return isMultipart(part) || part.message !== null;
}

/** Whether a leaf's Content-Transfer-Encoding is one BINARY can undo (RFC 2045 §6.1). */
function knownEncoding(part: MimePart): boolean {
  const name = normaliseTransferEncoding(part.encoding);
  return IDENTITY_ENCODINGS.has(name) || DECODED_ENCODINGS.has(name);
}

/**
 * BINARY[part]: the section with its Content-Transfer-Encoding undone. A leaf in base64
 * or quoted-printable is decoded (tolerantly: junk in base64 is skipped); 7bit, 8bit and
 * binary bodies are served as stored. Composite parts and BINARY[] (the whole message)
 * are served as stored too (see the file comment). 'unknown-encoding' when a leaf has any
 * other encoding: the caller answers NO [UNKNOWN-CTE] (RFC 3516 §4.3). Undefined when
 * the part does not exist.
 */
export function decodeSectionBinary(
  raw: Uint8Array,
  root: MimePart,
  part: readonly number[],
): { data: Uint8Array } | 'unknown-encoding' | undefined {
  if (part.length === 0) return { data: raw.subarray(root.headerStart, root.bodyEnd) };
  const found = findSectionPart(root, part);
  if (found === undefined) return undefined;
  const body = raw.subarray(found.bodyStart, found.bodyEnd);
  if (isComposite(found)) return { data: body };
  if (!knownEncoding(found)) return 'unknown-encoding';
  return { data: decodeTransferEncoding(body, found.encoding) };
}

/**
 * BINARY.SIZE[part]: the length decodeSectionBinary would return, from the stored
 * metadata (MimePart.decodedSize, computed at delivery) without reading the message.
 * Metadata stored without decodedSize falls back to decoding `raw` when it is given,
 * else to the stored size. Same 'unknown-encoding' and undefined cases as BINARY.
 */
export function binarySize(
  root: MimePart,
  part: readonly number[],
  raw?: Uint8Array,
): number | 'unknown-encoding' | undefined {
  if (part.length === 0) return root.bodyEnd - root.headerStart;
  const found = findSectionPart(root, part);
  if (found === undefined) return undefined;
  const size = found.bodyEnd - found.bodyStart;
  if (isComposite(found)) return size;
  if (!knownEncoding(found)) return 'unknown-encoding';
  if (typeof found.decodedSize === 'number') return found.decodedSize;
  if (raw !== undefined) return decodedSize(raw.subarray(found.bodyStart, found.bodyEnd), found.encoding);
  return size;
}
