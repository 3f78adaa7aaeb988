// One message to a hundred local recipients is one blob: each recipient's copy is a few
// header lines of its own (Return-Path, RFC 5321 §4.4, and Delivered-To) stored apart and
// served in front of the shared blob. What IMAP serves of the copy (offsets, sizes, the
// header fields SEARCH sees) is what describeMessage(prefix + blob) would say; this
// derives it from the blob's description, parsed once per message, without parsing the
// blob again for every recipient.
//
// Why the derivation is exact: the root header of prefix + blob is the prefix's fields
// followed by the blob's, the blank line that ends it is the blob's, and everything after
// it is the blob's bytes moved by prefix.length (the parser looks at no byte before a
// part's own start, and no boundary is open at the top). It holds when
// - the prefix is whole header lines: it ends with LF and holds no blank line;
// - the blob does not begin with SP or HT, which would fold its first line into the
//   prefix's last field (RFC 5322 §2.2.3);
// - no prefix field is one the parser reads from the top-level header (Content-*,
//   MIME-Version, the ENVELOPE fields), where the prefix's would come first;
// - the blob was parsed (the parser's safety net, a text/plain leaf from offset 0, is not
//   shifted; an empty blob is described that way too).
// Otherwise the copy is described whole: the same result, at the cost of a parse.

import {
  crlfSize,
  describeMessage,
  type MessageDescription,
  type MessageMetadata,
  stripNul,
} from './describe-message.js';
import { findHeaderEnd, parseHeaderFields } from './header-parser.js';
import type { MimePart } from './mime-part.js';
import {
  capSearchHeaders,
  MAX_HEADER_SEARCH_TEXT,
  type SearchHeader,
  searchHeadersIn,
} from './search-text.js';

const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;

/** What a description's metadata holds that a header prefix changes. */
type PrefixedFields = Pick<
  MessageMetadata,
  'size' | 'crlfSize' | 'root' | 'searchHeaders' | 'searchTruncated'
>;

/** Top-level fields the parser reads for the MIME tree and ENVELOPE (mime-tree.ts, envelope.ts). */
const ENVELOPE_FIELDS = new Set([
  'date',
  'subject',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'in-reply-to',
  'message-id',
  'mime-version',
]);

function readByParser(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('content-') || ENVELOPE_FIELDS.has(lower);
}

/**
 * The description of `prefix + blob`, from `described` = describeMessage(blob): equal,
 * key for key, to describeMessage(Buffer.concat([prefix, blob])). The prefix is header
 * lines with their CRLFs ("Return-Path: <a@b>\r\nDelivered-To: c@d\r\n").
 */
export function withHeaderPrefix(
  blob: Uint8Array,
  described: MessageDescription,
  prefix: Uint8Array,
): MessageDescription {
  if (prefix.length === 0) return described;
  const whole = () => describeMessage(Buffer.concat([prefix, blob]));
  const stored = described.metadata;
  const wholeLines = prefix[prefix.length - 1] === LF && findHeaderEnd(prefix, 0, prefix.length) < 0;
  const folds = blob[0] === SP || blob[0] === HT;
  if (!wholeLines || folds || !(stored.root?.bodyStart > 0)) return whole();
  const fields = parseHeaderFields(prefix, 0, prefix.length);
  if (fields.some((field) => readByParser(field.name))) return whole();

  const search = prefixedSearchHeaders(blob, stored, searchHeadersIn(prefix, 0, prefix.length));
  const metadata: MessageMetadata = {
    ...stored,
    size: prefix.length + stored.size,
    // The prefix ends with LF, so no CR of it pairs with an LF of the blob: the sizes add.
    crlfSize: crlfSize(prefix) + stored.crlfSize,
    root: shiftPart(stored.root, prefix.length, true),
    searchHeaders: search.headers,
    searchTruncated: search.truncated,
  };
  return { metadata, searchText: described.searchText };
}

/**
 * The prefix's search headers before the blob's, under the same cap as buildSearchText.
 * The cap counts lengths before NULs are stripped, and the stored blob headers are
 * stripped: when the cap could matter, the blob's top-level header (only) is read again.
 */
function prefixedSearchHeaders(
  blob: Uint8Array,
  stored: PrefixedFields,
  prefixHeaders: readonly SearchHeader[],
): { headers: SearchHeader[]; truncated: boolean } {
  const length = (headers: readonly SearchHeader[]) =>
    headers.reduce((n, h) => n + h.name.length + h.value.length + 2, 0);
  // Each NUL stripped from a stored header came from at least one byte of the blob's header.
  const atMost = length(prefixHeaders) + length(stored.searchHeaders) + stored.root.bodyStart;
  if (!stored.searchTruncated && atMost <= MAX_HEADER_SEARCH_TEXT) {
    return { headers: [...prefixHeaders.map(withoutNul), ...stored.searchHeaders], truncated: false };
  }
  const capped = capSearchHeaders([...prefixHeaders, ...searchHeadersIn(blob, 0, stored.root.bodyStart)]);
  return {
    headers: capped.headers.map(withoutNul),
    // A blob whose own header text was cut is cut with the prefix too; body text cut stays cut.
    truncated: capped.truncated || stored.searchTruncated,
  };
}

function withoutNul(header: SearchHeader): SearchHeader {
  return { name: stripNul(header.name), value: stripNul(header.value) };
}

/** The part `by` bytes further on; the root still starts at 0, where the prefix now is. */
function shiftPart(part: MimePart, by: number, isRoot: boolean): MimePart {
  return {
    ...part,
    headerStart: isRoot ? part.headerStart : part.headerStart + by,
    bodyStart: part.bodyStart + by,
    bodyEnd: part.bodyEnd + by,
    children: part.children.map((child) => shiftPart(child, by, false)),
    message: part.message && { ...part.message, root: shiftPart(part.message.root, by, false) },
  };
}
