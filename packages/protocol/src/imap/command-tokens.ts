// The lexical pieces of an IMAP command (RFC 3501 §9, RFC 9051 §9) that the command reader
// puts together: tags, quoted strings, atoms, lists, and the literal marker that ends a line.

export type ImapToken =
  /** Atoms, numbers, flags, sequence sets, and FETCH items with their `[section]<partial>`. */
  | { readonly type: 'atom'; readonly value: string }
  /** A quoted string or a literal; `binary` for a literal8 (`~{n}`, RFC 3516). */
  | { readonly type: 'string'; readonly value: Buffer; readonly literal: boolean; readonly binary?: boolean }
  | { readonly type: 'list'; readonly items: readonly ImapToken[] };

interface Open {
  readonly items: ImapToken[];
}

/**
 * The arguments of one command as its line parts arrive: a tree of tokens, within the
 * nesting and token limits. A literal's octets are added by the reader once they are in.
 */
export class CommandArguments {
  private readonly stack: Open[] = [{ items: [] }];
  private tokens = 0;

  constructor(private readonly limits: { readonly maxDepth: number; readonly maxTokens: number }) {}

  add(token: ImapToken): void {
    this.stack.at(-1)!.items.push(token);
  }

  /** The first argument when it is an atom (UID's subcommand), upper case. */
  firstAtom(): string | undefined {
    const first = this.stack[0]!.items[0];
    return first?.type === 'atom' ? first.value.toUpperCase() : undefined;
  }

  /** The arguments, once the command's last line is read; undefined when a list is still open. */
  complete(): readonly ImapToken[] | undefined {
    return this.stack.length === 1 ? this.stack[0]!.items : undefined;
  }

  /** One line part from `start` (after the command name or a literal); a literal marker ends it. */
  read(
    line: Buffer,
    start: number,
  ): { kind: 'done' } | { kind: 'error'; text: string } | ({ kind: 'literal' } & LiteralMarker) {
    let pos = start;
    // After the command name or a literal, the next token is preceded by a space, or a
    // `)` closes a list, or the line ends.
    while (pos < line.length) {
      const c = line[pos]!;
      if (c === 0x29 /* ) */) {
        if (this.stack.length < 2) return { kind: 'error', text: 'unexpected )' };
        const list = this.stack.pop()!;
        this.add({ type: 'list', items: list.items });
        pos++;
        continue;
      }
      const afterOpen =
        this.stack.length > 1 && this.stack.at(-1)!.items.length === 0 && line[pos - 1] === 0x28;
      if (!afterOpen) {
        if (c !== 0x20) return { kind: 'error', text: 'expected a space between arguments' };
        pos++;
        if (pos >= line.length) return { kind: 'error', text: 'trailing space' };
      }
      if (++this.tokens > this.limits.maxTokens) return { kind: 'error', text: 'too many arguments' };
      const t = line[pos]!;
      if (t === 0x28 /* ( */) {
        if (this.stack.length > this.limits.maxDepth) return { kind: 'error', text: 'lists nested too deep' };
        this.stack.push({ items: [] });
        pos++;
        if (line[pos] === 0x29) {
          // "()": an empty list.
          const list = this.stack.pop()!;
          this.add({ type: 'list', items: list.items });
          pos++;
        }
        continue;
      }
      if (t === 0x22 /* " */) {
        const quoted = readQuoted(line, pos);
        if (!quoted) return { kind: 'error', text: 'invalid quoted string' };
        this.add({ type: 'string', value: quoted.value, literal: false });
        pos = quoted.end;
        continue;
      }
      if (t === 0x7b /* { */ || (t === 0x7e /* ~ */ && line[pos + 1] === 0x7b)) {
        const marker = literalMarker(line.subarray(pos).toString('latin1'), true);
        if (marker === undefined) return { kind: 'error', text: 'invalid literal' };
        if (marker === 'invalid') return { kind: 'error', text: 'literal too large' };
        return { kind: 'literal', ...marker };
      }
      const atom = readAtom(line, pos);
      if (!atom) return { kind: 'error', text: 'invalid characters in an argument' };
      this.add({ type: 'atom', value: atom.value });
      pos = atom.end;
    }
    return { kind: 'done' };
  }
}

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
      // Without a `]` it is no section: `[` is an ATOM-CHAR like any other (a mailbox name
      // or LIST pattern such as `foo[bar` is valid).
      if (close < 0) {
        pos++;
        continue;
      }
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
