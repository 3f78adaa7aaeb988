// The body test (RFC 5173): :raw is the body as received, after the header; :content
// "type" the parts of those media types, transfer-decoded and, for text, charset-decoded
// to UTF-8 (§5.2); :text (the default) every text part as text, HTML turned into its text
// as Pigeonhole does. Each part is one value, so a key never matches across two parts.
//
// What a :content value is, as RFC 5173 §5.2 and Pigeonhole read it: a leaf part's body; a
// multipart's prologue (the text before its first boundary, one value even when empty) and,
// when there is text after its close delimiter, its epilogue (a second value); a
// message/rfc822 part's enclosed header (the enclosed message's parts follow as parts of
// their own). A part whose header is not ended by a blank line has no body, so no value.

import { decodeCharset, decodeUndeclared } from '../mime/charset.js';
import { htmlToText } from '../mime/html-text.js';
import type { MimePart } from '../mime/mime-part.js';
import { decodeTransferEncoding } from '../mime/transfer-encoding.js';
import type { BoundArguments } from './bind-arguments.js';
import type { ScriptContext } from './run-context.js';
import type { SieveTest } from './types.js';

const LF = 0x0a;
const CR = 0x0d;

/** RFC 5173 §5.2: "" is every type, "text" every text/*, "text/plain" just that. */
function typeMatches(part: MimePart, wanted: string): boolean {
  const type = wanted.toLowerCase();
  if (type === '') return true;
  const slash = type.indexOf('/');
  if (slash < 0) return part.type === type;
  return part.type === type.slice(0, slash) && part.subtype === type.slice(slash + 1);
}

/** Where the blank line that ends the part's header starts, or -1 when there is none. */
function blankLineStart(raw: Uint8Array, part: MimePart): number {
  const end = part.bodyStart;
  if (end <= part.headerStart || raw[end - 1] !== LF) return -1;
  let start = end - 1;
  if (start > part.headerStart && raw[start - 1] === CR) start--;
  return start === part.headerStart || raw[start - 1] === LF ? start : -1;
}

/** The offset of the first byte after the line that starts at or after `from`. */
function lineEnd(raw: Uint8Array, from: number): number {
  const lf = raw.indexOf(LF, from);
  return lf < 0 ? raw.length : lf + 1;
}

/** A multipart's prologue: up to the [CR]LF before its first boundary line (RFC 2046 §5.1.1). */
function prologue(raw: Uint8Array, part: MimePart): [number, number] {
  const first = part.children[0];
  if (first === undefined) return [part.bodyStart, part.bodyEnd];
  // The first child starts after its boundary line: that line begins after the LF before it.
  const lineStart = raw.lastIndexOf(LF, first.headerStart - 2) + 1;
  if (lineStart <= part.bodyStart) return [part.bodyStart, part.bodyStart];
  const end = lineStart - 1 > part.bodyStart && raw[lineStart - 2] === CR ? lineStart - 2 : lineStart - 1;
  return [part.bodyStart, end];
}

/** A multipart's epilogue: after its close delimiter line, when it has one. */
function epilogue(raw: Uint8Array, part: MimePart): [number, number] | null {
  const last = part.children.at(-1);
  // Without a close delimiter the last child runs to the multipart's end: no epilogue.
  if (last === undefined || part.bodyEnd <= last.bodyEnd) return null;
  let closeLine = last.bodyEnd;
  if (raw[closeLine] === CR && raw[closeLine + 1] === LF) closeLine += 2;
  else if (raw[closeLine] === LF) closeLine++;
  const start = lineEnd(raw, closeLine);
  return start < part.bodyEnd ? [start, part.bodyEnd] : null;
}

/** The enclosed message's header as Pigeonhole gives it: its lines as written, each ending CRLF. */
function enclosedHeader(raw: Uint8Array, enclosed: MimePart): string {
  const blank = blankLineStart(raw, enclosed);
  const end = blank < 0 ? enclosed.bodyStart : blank;
  const text = decodeUndeclared(raw.subarray(enclosed.headerStart, end));
  return text.replace(/\r?\n/g, '\r\n');
}

function decodedBody(raw: Uint8Array, part: MimePart, start: number, end: number): string {
  const bytes = decodeTransferEncoding(raw.subarray(start, end), part.encoding);
  return part.type === 'text' ? decodeCharset(bytes, part.decodedParams['charset']) : decodeUndeclared(bytes);
}

interface ContentValue {
  readonly part: MimePart;
  readonly text: () => string;
}

/** Every :content value of the part and the parts in it, in message order. */
function* contentValues(ctx: ScriptContext, raw: Uint8Array, part: MimePart): Generator<ContentValue> {
  ctx.tick();
  const hasBody = blankLineStart(raw, part) >= 0;
  if (part.type === 'multipart') {
    if (hasBody) {
      const [start, end] = prologue(raw, part);
      yield { part, text: () => decodedBody(raw, part, start, end) };
    }
    for (const child of part.children) yield* contentValues(ctx, raw, child);
    const after = epilogue(raw, part);
    if (after !== null) yield { part, text: () => decodedBody(raw, part, after[0], after[1]) };
    return;
  }
  const enclosed = part.message?.root;
  if (enclosed !== undefined) {
    if (hasBody) yield { part, text: () => enclosedHeader(raw, enclosed) };
    yield* contentValues(ctx, raw, enclosed);
    return;
  }
  if (hasBody) yield { part, text: () => decodedBody(raw, part, part.bodyStart, part.bodyEnd) };
}

function bodyValues(ctx: ScriptContext, args: BoundArguments): string[] {
  const message = ctx.state.message;
  const raw = message.raw;
  if (args.tags.has('raw')) return [decodeUndeclared(raw.subarray(message.bodyStart))];
  const content = args.tags.get('content')?.value;
  const types = content === undefined || content === null ? null : ctx.strings(content);
  const values: string[] = [];
  for (const { part, text } of contentValues(ctx, raw, message.mime())) {
    if (types === null) {
      // :text: the text parts only, not a multipart's prologue nor an enclosed header.
      if (part.type !== 'text') continue;
      values.push(part.subtype === 'html' ? htmlToText(text()) : text());
    } else if (types.some((type) => typeMatches(part, type))) {
      values.push(text());
    }
  }
  return values;
}

/** Pigeonhole's body test leaves the match variables alone: so does this one. */
export function testBody(ctx: ScriptContext, test: SieveTest, args: BoundArguments): boolean {
  return ctx.match(test, args, bodyValues(ctx, args), ctx.strings(args.positional[0]), undefined, false);
}
