// Splits a raw message into its MIME tree (RFC 2045, RFC 2046 §5) with byte
// offsets, in one pass over the bytes, the way Dovecot's message-parser does
// it, so that part numbers, sizes and line counts agree with Dovecot's:
//
// - A boundary line is "--" + boundary at the start of a line; only the
//   prefix has to match (RFC 2046 §5.1.1). Every open multipart's boundary is
//   looked for at once and the longest match wins, so an inner part cannot
//   run past its parent's boundary, and a missing close delimiter ends at the
//   parent's next boundary or at the end of the message.
// - The [CR]LF before a boundary line belongs to the boundary, not the body.
// - Content-* fields count only in MIME entities: parts of a multipart, or
//   entities with MIME-Version or Content-Type (Dovecot's non-strict rule).
//
// Nothing here throws on bad input, and nesting is capped so a hostile
// message cannot exhaust the stack.

import { buildEnvelope } from './envelope.js';
import { findHeaderEnd, firstField, type HeaderField, parseHeaderFields } from './header-parser.js';
import {
  decodeParams,
  type MimeParam,
  parseContentDisposition,
  parseContentLanguage,
  parseContentType,
} from './mime-parameters.js';
import type { MimeDisposition, MimePart } from './mime-part.js';
import { decodedSize } from './transfer-encoding.js';

/** Deeper nesting is treated as an opaque leaf (Dovecot caps nesting too). */
export const MAX_NESTING_DEPTH = 100;
/** Parts past this count are still skipped over correctly but not recorded. */
export const MAX_RECORDED_PARTS = 10_000;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

interface OpenBoundary {
  bytes: Uint8Array;
}

interface BoundaryHit {
  /** Index in the stack of open boundaries. */
  index: number;
  /** Offset of the "--" that starts the boundary line. */
  lineStart: number;
  /** Where the content before it ends: before the [CR]LF that precedes the line. */
  contentEnd: number;
  /** Offset just after the boundary line (after its LF, or the end of the message). */
  lineEnd: number;
  closing: boolean;
}

interface ParseContext {
  raw: Uint8Array;
  open: OpenBoundary[];
  recordedParts: number;
  /** LFs before each LINE_BLOCK-octet block, counted once when first needed (countLines). */
  lfBefore: Uint32Array | null;
}

interface Sections {
  /** Section when the entity turns out to be a multipart. */
  multipart: string;
  /** Section when it is a single part. */
  leaf: string;
}

interface EntityResult {
  part: MimePart;
  /** The boundary line that ended this entity, or null at the end of the message. */
  hit: BoundaryHit | null;
}

function matchBoundaryAt(ctx: ParseContext, lineStart: number): { index: number; length: number } | null {
  const { raw, open } = ctx;
  if (raw[lineStart] !== DASH || raw[lineStart + 1] !== DASH) return null;
  let best: { index: number; length: number } | null = null;
  // innermost first; a longer match further out wins (Dovecot's boundary_find)
  for (let index = open.length - 1; index >= 0; index--) {
    const bytes = open[index]!.bytes;
    if (best && best.length >= bytes.length) continue;
    if (lineStart + 2 + bytes.length > raw.length) continue;
    let equal = true;
    for (let k = 0; k < bytes.length; k++) {
      if (raw[lineStart + 2 + k] !== bytes[k]) {
        equal = false;
        break;
      }
    }
    if (equal) best = { index, length: bytes.length };
  }
  return best;
}

/** Finds the next boundary line of any open multipart starting at or after `from` and before `limit`. */
function findBoundary(ctx: ParseContext, from: number, limit = ctx.raw.length): BoundaryHit | null {
  const { raw } = ctx;
  if (ctx.open.length === 0) return null;
  let lineStart = from;
  if (from > 0 && raw[from - 1] !== LF) {
    const lf = raw.indexOf(LF, from);
    if (lf < 0) return null;
    lineStart = lf + 1;
  }
  while (lineStart < limit) {
    const match = matchBoundaryAt(ctx, lineStart);
    if (match) {
      let contentEnd = lineStart;
      if (lineStart > from) {
        contentEnd = lineStart - 1;
        if (contentEnd > from && raw[contentEnd - 1] === CR) contentEnd--;
      }
      const after = lineStart + 2 + match.length;
      const lf = raw.indexOf(LF, after);
      return {
        index: match.index,
        lineStart,
        contentEnd,
        lineEnd: lf < 0 ? raw.length : lf + 1,
        closing: raw[after] === DASH && raw[after + 1] === DASH,
      };
    }
    const lf = raw.indexOf(LF, lineStart);
    if (lf < 0) return null;
    lineStart = lf + 1;
  }
  return null;
}

function countLf(raw: Uint8Array, start: number, end: number): number {
  let lines = 0;
  for (let i = start; i < end; i++) if (raw[i] === LF) lines++;
  return lines;
}

/** Octets per block of ParseContext.lfBefore. */
const LINE_BLOCK = 1 << 16;

/** LFs in raw[0, offset): the counts of whole blocks, then at most one block counted. */
function lfBefore(ctx: ParseContext, offset: number): number {
  if (ctx.lfBefore === null) {
    const counts = new Uint32Array(Math.floor(ctx.raw.length / LINE_BLOCK) + 1);
    for (let block = 1; block < counts.length; block++) {
      counts[block] = counts[block - 1]! + countLf(ctx.raw, (block - 1) * LINE_BLOCK, block * LINE_BLOCK);
    }
    ctx.lfBefore = counts;
  }
  const block = Math.floor(offset / LINE_BLOCK);
  return ctx.lfBefore[block]! + countLf(ctx.raw, block * LINE_BLOCK, offset);
}

/**
 * LFs in raw[start, end). Every part counts the lines of its body, and nested parts share
 * theirs with every part around them: counted afresh, a 25 MB message nested 100 deep had
 * its lines counted 100 times over, half a minute of CPU (issue 21, found by fuzzing). Large
 * bodies are counted from per-block totals instead, each octet once per message.
 */
function countLines(ctx: ParseContext, start: number, end: number): number {
  if (end - start <= 2 * LINE_BLOCK) return countLf(ctx.raw, start, end);
  return lfBefore(ctx, end) - lfBefore(ctx, start);
}

function childSection(parent: string, index: number): string {
  return parent === '' ? String(index) : `${parent}.${index}`;
}

interface ContentFields {
  type: string;
  subtype: string;
  writtenType: string | null;
  writtenSubtype: string | null;
  params: MimeParam[];
  id: string | null;
  description: string | null;
  encoding: string | null;
  md5: string | null;
  disposition: MimeDisposition | null;
  language: string[] | null;
  location: string | null;
}

function readContentFields(
  fields: readonly HeaderField[],
  inMultipart: boolean,
  inDigest: boolean,
): ContentFields {
  const contentTypeField = firstField(fields, 'Content-Type');
  const isMime =
    inMultipart || contentTypeField !== undefined || firstField(fields, 'MIME-Version') !== undefined;
  // Outside MIME, Content-* fields mean nothing (RFC 2045 §4); Dovecot forgets them too.
  const field = (name: string) => (isMime ? firstField(fields, name)?.value : undefined) ?? null;
  const contentType = contentTypeField ? parseContentType(contentTypeField.value) : null;
  const encodingValue = field('Content-Transfer-Encoding');
  const encoding = encodingValue === null ? null : (/^[^\s;()]+/.exec(encodingValue)?.[0] ?? null);
  const dispositionValue = field('Content-Disposition');
  const disposition = dispositionValue === null ? null : parseContentDisposition(dispositionValue);
  const languageValue = field('Content-Language');
  const language = languageValue === null ? null : parseContentLanguage(languageValue);
  const defaults = inDigest ? ['message', 'rfc822'] : ['text', 'plain'];
  return {
    type: contentType ? contentType.type.toLowerCase() : defaults[0]!,
    subtype: contentType ? contentType.subtype.toLowerCase() : defaults[1]!,
    writtenType: contentType?.type ?? null,
    writtenSubtype: contentType?.subtype ?? null,
    params: contentType?.params ?? [],
    id: field('Content-ID'),
    description: field('Content-Description'),
    encoding,
    md5: field('Content-MD5'),
    disposition,
    language: language && language.length > 0 ? language : null,
    location: field('Content-Location'),
  };
}

function parseEntity(
  ctx: ParseContext,
  start: number,
  sections: Sections,
  parent: { digest: boolean } | null,
  depth: number,
  record: boolean,
): EntityResult {
  const { raw } = ctx;
  // The header ends at the first blank line, or before a boundary line that comes first.
  const blankLineEnd = findHeaderEnd(raw, start, raw.length);
  const headerHit = findBoundary(ctx, start, blankLineEnd >= 0 ? blankLineEnd : raw.length);
  const bodyStart = headerHit ? headerHit.contentEnd : blankLineEnd >= 0 ? blankLineEnd : raw.length;
  const fields = parseHeaderFields(raw, start, bodyStart);
  const content = readContentFields(fields, parent !== null, parent?.digest ?? false);
  const decoded = decodeParams(content.params);
  const canNest = depth < MAX_NESTING_DEPTH;
  const isMultipart = content.type === 'multipart';
  if (record) ctx.recordedParts++;

  const part: MimePart = {
    section: isMultipart ? sections.multipart : sections.leaf,
    headerStart: start,
    bodyStart,
    bodyEnd: bodyStart,
    ...content,
    decodedParams: decoded,
    size: 0,
    lines: 0,
    decodedSize: 0,
    children: [],
    message: null,
  };

  let hit: BoundaryHit | null;
  const boundary = decoded['boundary'];
  if (isMultipart && boundary && canNest) {
    const ownIndex = ctx.open.length;
    ctx.open.push({ bytes: new TextEncoder().encode(boundary) });
    hit = findBoundary(ctx, bodyStart);
    let childNumber = 0;
    while (hit && hit.index === ownIndex && !hit.closing) {
      childNumber++;
      const keep = record && ctx.recordedParts < MAX_RECORDED_PARTS;
      const child = parseEntity(
        ctx,
        hit.lineEnd,
        { multipart: childSection(part.section, childNumber), leaf: childSection(part.section, childNumber) },
        { digest: content.subtype === 'digest' },
        depth + 1,
        keep,
      );
      if (keep) part.children.push(child.part);
      hit = child.hit;
    }
    ctx.open.length = ownIndex; // our boundary closes, and any a broken child left open
    if (hit && hit.index === ownIndex) {
      // close delimiter: the epilogue runs to the parent's next boundary or the end
      hit = findBoundary(ctx, hit.lineEnd);
    }
    part.bodyEnd = hit ? hit.contentEnd : raw.length;
  } else if (content.type === 'message' && content.subtype === 'rfc822' && canNest) {
    const nested = parseEntity(
      ctx,
      bodyStart,
      { multipart: part.section, leaf: childSection(part.section, 1) },
      null,
      depth + 1,
      record,
    );
    const nestedFields = parseHeaderFields(raw, nested.part.headerStart, nested.part.bodyStart);
    part.message = { envelope: buildEnvelope(nestedFields), root: nested.part };
    hit = nested.hit;
    part.bodyEnd = nested.part.bodyEnd;
  } else {
    hit = findBoundary(ctx, bodyStart);
    part.bodyEnd = hit ? hit.contentEnd : raw.length;
  }

  part.bodyEnd = Math.max(part.bodyEnd, bodyStart);
  part.size = part.bodyEnd - bodyStart;
  part.lines = countLines(ctx, bodyStart, part.bodyEnd);
  part.decodedSize =
    isMultipart || part.message
      ? part.size
      : decodedSize(raw.subarray(bodyStart, part.bodyEnd), part.encoding);
  return { part, hit };
}

/** Parses the MIME structure of a whole message. The root covers raw[0, raw.length). */
export function parseMimeTree(raw: Uint8Array): MimePart {
  const ctx: ParseContext = { raw, open: [], recordedParts: 0, lfBefore: null };
  // With no boundary open at the top, the root always runs to the end of the message.
  return parseEntity(ctx, 0, { multipart: '', leaf: '1' }, null, 0, true).part;
}
