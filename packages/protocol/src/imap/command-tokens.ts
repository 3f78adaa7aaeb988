// The lexical pieces of an IMAP command line (RFC 3501 §9, RFC 9051 §9) that the command
// reader puts together: tags, quoted strings, atoms, and the literal marker that ends a line.

const CR = 0x0d;
const LF = 0x0a;

/** The largest literal the grammar allows: `number` is an unsigned 32-bit integer. */
export const MAX_LITERAL = 4_294_967_295;

/** The longest literal marker, `~{4294967295+}`: what must be kept of a line to find one. */
export const LITERAL_MARKER_MAX = 14;

export interface LiteralMarker {
  readonly size: number;
  readonly synchronising: boolean;
  /** literal8 (`~{n}`, RFC 3516). */
  readonly binary: boolean;
}

/**
 * The literal marker `{n}`, `{n+}` or `~{n}` at the very end of `text` (`whole`: that is
 * all of `text`); undefined when there is none, 'invalid' when its number is too large.
 */
export function literalMarker(text: string, whole = false): LiteralMarker | 'invalid' | undefined {
  const marker = (whole ? WHOLE_MARKER : MARKER_AT_END).exec(text);
  if (!marker) return undefined;
  const size = Number(marker[2]);
  if (size > MAX_LITERAL) return 'invalid';
  return { size, synchronising: marker[3] !== '+', binary: marker[1] === '~' };
}

const MARKER_AT_END = /(~?)\{(\d{1,10})(\+?)\}$/;
const WHOLE_MARKER = /^(~?)\{(\d{1,10})(\+?)\}$/;

export function indexOfSpace(line: Buffer, from: number): number {
  return line.indexOf(0x20, from);
}

// tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR excludes ( ) { SP CTL % * " \
// (atom-specials) but allows ].
export function validTag(tag: string): boolean {
  return tag.length > 0 && /^[\x21-\x7e]+$/.test(tag) && !/[(){%*"\\+]/.test(tag);
}

export function readQuoted(line: Buffer, start: number): { value: Buffer; end: number } | undefined {
  const out: number[] = [];
  for (let pos = start + 1; pos < line.length; pos++) {
    const c = line[pos]!;
    if (c === 0x22) return { value: Buffer.from(out), end: pos + 1 };
    if (c === 0x5c /* \ */) {
      const next = line[pos + 1];
      // RFC 3501 §9: only \\ and \" are quoted-specials.
      if (next !== 0x5c && next !== 0x22) return undefined;
      out.push(next);
      pos++;
      continue;
    }
    if (c === CR || c === LF || c === 0) return undefined;
    out.push(c);
  }
  return undefined;
}

/**
 * An atom in the wide sense the command layer interprets: a run up to a space, `(` or `)`.
 * A `[` opens a section (`BODY[HEADER.FIELDS (A B)]<0.10>`, `BODY.PEEK[1.2]`), read to
 * its matching `]` with spaces and parentheses inside, so FETCH items stay one token.
 */
export function readAtom(line: Buffer, start: number): { value: string; end: number } | undefined {
  let pos = start;
  while (pos < line.length) {
    const c = line[pos]!;
    if (c === 0x20 || c === 0x28 || c === 0x29) break;
    if (c === 0x22 || c === 0x7b || c < 0x20 || c === 0x7f) return undefined;
    if (c === 0x5b /* [ */) {
      const close = line.indexOf(0x5d, pos);
      if (close < 0) return undefined;
      const inside = line.subarray(pos + 1, close);
      if (inside.some((b) => b < 0x20 || b === 0x7f || b === 0x7b)) return undefined;
      pos = close + 1;
      continue;
    }
    pos++;
  }
  if (pos === start) return undefined;
  return { value: line.subarray(start, pos).toString('utf8'), end: pos };
}
