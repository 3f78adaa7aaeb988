// The Sieve lexer (RFC 5228 §8.1): turns the script text into tokens, skipping white
// space and comments. It follows Pigeonhole where the RFC leaves room, so that a script
// that works with Dovecot works here:
// - a bare LF ends a line as CRLF does, and line ends inside strings become CRLF (the
//   value of a `text:` string keeps CRLF line ends, RFC 5228 §2.4.2);
// - a CR not followed by LF is an error inside a string, and white space elsewhere;
// - a hash comment may end at the end of the script without a line end;
// - `\x` in a quoted string is `x` for any x (§2.4.2: unknown escapes drop the backslash);
// - number quantifiers may be lower case (`10k`).
// Numbers are limited to JavaScript's safe integers (2^53 - 1): RFC 5228 §2.4.1 asks for
// at least 2^31 - 1, and anything larger than a double holds exactly would silently
// compare wrong.

import { SieveError, type SourcePosition } from './types.js';

export type SieveTokenType =
  | 'identifier'
  | 'tag'
  | 'number'
  | 'string'
  | '['
  | ']'
  | '('
  | ')'
  | '{'
  | '}'
  | ';'
  | ','
  | 'end';

export interface SieveToken {
  readonly type: SieveTokenType;
  /** Identifier and tag names (lower-cased, a tag without its colon), and string values. */
  readonly text: string;
  /** The number's value, quantifier applied; 0 for other tokens. */
  readonly value: number;
  readonly position: SourcePosition;
}

/** The largest number a script may write (RFC 5228 §2.4.1 asks for at least 2^31 - 1). */
export const MAX_SIEVE_NUMBER = Number.MAX_SAFE_INTEGER;

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const HASH = 0x23;
const STAR = 0x2a;
const SLASH = 0x2f;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

const punctuation: Record<string, SieveTokenType> = {
  '[': '[',
  ']': ']',
  '(': '(',
  ')': ')',
  '{': '{',
  '}': '}',
  ';': ';',
  ',': ',',
};

const quantifiers: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function isAlpha(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** How a character is shown in an error: printable ASCII as itself, others as U+XXXX. */
export function describeCharacter(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (code > 0x20 && code < 0x7f) return `'${char}'`;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Reads tokens one at a time with one token of lookahead. */
export class SieveLexer {
  private offset = 0;
  private line = 1;
  private lineStart = 0;
  // Columns count characters, not UTF-16 units: this caches how far the current line
  // has been counted, so positions cost O(script) in total.
  private countedLineStart = 0;
  private countedOffset = 0;
  private countedColumn = 1;
  private lookahead: SieveToken | null = null;

  constructor(private readonly source: string) {
    // Pigeonhole refuses NUL anywhere; checking once here keeps the loops below simple.
    const nul = source.indexOf('\0');
    if (nul >= 0) {
      this.skipTo(nul);
      throw new SieveError('NUL character in the script', this.positionAt(nul));
    }
  }

  peek(): SieveToken {
    if (this.lookahead === null) this.lookahead = this.scan();
    return this.lookahead;
  }

  next(): SieveToken {
    const token = this.peek();
    this.lookahead = null;
    return token;
  }

  /** The position of `offset`, which must be on the current line or a later one. */
  private positionAt(offset: number): SourcePosition {
    if (this.countedLineStart !== this.lineStart || this.countedOffset > offset) {
      this.countedLineStart = this.lineStart;
      this.countedOffset = this.lineStart;
      this.countedColumn = 1;
    }
    const source = this.source;
    let column = this.countedColumn;
    for (let i = this.countedOffset; i < offset; i++) {
      const code = source.charCodeAt(i);
      // The second half of a surrogate pair is part of the character before it.
      if (code < 0xdc00 || code > 0xdfff) column++;
    }
    this.countedOffset = offset;
    this.countedColumn = column;
    return { line: this.line, column };
  }

  /** Moves to `offset`, counting the line ends passed. */
  private skipTo(offset: number): void {
    const source = this.source;
    let lf = source.indexOf('\n', this.offset);
    while (lf >= 0 && lf < offset) {
      this.line++;
      this.lineStart = lf + 1;
      lf = source.indexOf('\n', lf + 1);
    }
    this.offset = offset;
  }

  private error(reason: string, position: SourcePosition): never {
    throw new SieveError(reason, position);
  }

  private token(type: SieveTokenType, text: string, value: number, position: SourcePosition): SieveToken {
    return { type, text, value, position };
  }

  private scan(): SieveToken {
    const source = this.source;
    const length = source.length;
    for (;;) {
      this.skipWhiteSpace();
      const start = this.offset;
      if (start >= length) return this.token('end', '', 0, this.positionAt(start));
      const code = source.charCodeAt(start);
      const position = this.positionAt(start);
      const char = source[start]!;
      const single = punctuation[char];
      if (single !== undefined) {
        this.offset = start + 1;
        return this.token(single, char, 0, position);
      }
      if (code === HASH) {
        // hash-comment (RFC 5228 §2.3): to the end of the line, or of the script.
        const lf = source.indexOf('\n', start);
        this.skipTo(lf < 0 ? length : lf + 1);
        continue;
      }
      if (code === SLASH) {
        if (source.charCodeAt(start + 1) !== STAR) this.error(`unexpected character '/'`, position);
        // bracket-comment: "/*" … "*/", not nested.
        const end = source.indexOf('*/', start + 2);
        if (end < 0) this.error('unterminated bracket comment: "/*" without "*/"', position);
        this.skipTo(end + 2);
        continue;
      }
      if (code === QUOTE) return this.scanQuotedString(position);
      if (isDigit(code)) return this.scanNumber(position);
      if (code === COLON) {
        const nameStart = start + 1;
        if (!isAlpha(source.charCodeAt(nameStart))) {
          this.error(`expected a tag name after ':'`, position);
        }
        const nameEnd = this.identifierEnd(nameStart);
        this.offset = nameEnd;
        return this.token('tag', source.slice(nameStart, nameEnd).toLowerCase(), 0, position);
      }
      if (isAlpha(code)) {
        const end = this.identifierEnd(start);
        const name = source.slice(start, end).toLowerCase();
        if (name === 'text' && source.charCodeAt(end) === COLON) {
          this.offset = end + 1;
          return this.scanMultiLine(position);
        }
        this.offset = end;
        return this.token('identifier', name, 0, position);
      }
      const character = String.fromCodePoint(source.codePointAt(start)!);
      this.error(`unexpected character ${describeCharacter(character)}`, position);
    }
  }

  private skipWhiteSpace(): void {
    const source = this.source;
    let offset = this.offset;
    for (;;) {
      const code = source.charCodeAt(offset);
      if (code === SPACE || code === TAB || code === CR) offset++;
      else if (code === LF) {
        offset++;
        this.line++;
        this.lineStart = offset;
      } else break;
    }
    this.offset = offset;
  }

  private identifierEnd(start: number): number {
    const source = this.source;
    let end = start;
    for (;;) {
      const code = source.charCodeAt(end);
      if (isAlpha(code) || isDigit(code)) end++;
      else return end;
    }
  }

  private scanNumber(position: SourcePosition): SieveToken {
    const source = this.source;
    const start = this.offset;
    let end = start;
    while (isDigit(source.charCodeAt(end))) end++;
    let value = Number(source.slice(start, end));
    const quantifier = quantifiers[source[end]?.toLowerCase() ?? ''];
    if (quantifier !== undefined) {
      value *= quantifier;
      end++;
    }
    if (isAlpha(source.charCodeAt(end)) || isDigit(source.charCodeAt(end))) {
      this.error(
        `invalid number "${source.slice(start, this.identifierEnd(end))}": a number may only end in K, M or G`,
        position,
      );
    }
    if (value > MAX_SIEVE_NUMBER) {
      this.error(`number ${source.slice(start, end)} is too large (at most ${MAX_SIEVE_NUMBER})`, position);
    }
    this.offset = end;
    return this.token('number', source.slice(start, end), value, position);
  }

  // quoted-string (RFC 5228 §2.4.2): `\\` and `\"` escape, any other `\x` is `x`; line
  // ends inside become CRLF.
  private scanQuotedString(position: SourcePosition): SieveToken {
    const source = this.source;
    const length = source.length;
    let value = '';
    let runStart = this.offset + 1;
    let i = runStart;
    for (;;) {
      if (i >= length) {
        this.error(`unterminated quoted string: end of script before the closing '"'`, position);
      }
      const code = source.charCodeAt(i);
      if (code === QUOTE) {
        value += source.slice(runStart, i);
        this.skipTo(i + 1);
        return this.token('string', value, 0, position);
      }
      if (code === BACKSLASH) {
        value += source.slice(runStart, i);
        i++;
        if (i >= length) continue;
        const escaped = source.charCodeAt(i);
        if (escaped === CR || escaped === LF) {
          runStart = i;
          continue;
        }
        runStart = i;
        i++;
        continue;
      }
      if (code === CR) {
        if (source.charCodeAt(i + 1) !== LF) {
          this.skipTo(i);
          this.error('stray CR (carriage return without line feed) in a quoted string', this.positionAt(i));
        }
        value += source.slice(runStart, i);
        value += '\r\n';
        i += 2;
        runStart = i;
        continue;
      }
      if (code === LF) {
        value += source.slice(runStart, i);
        value += '\r\n';
        i++;
        runStart = i;
        continue;
      }
      i++;
    }
  }

  // multi-line (RFC 5228 §2.4.2): "text:", blanks, an optional hash comment, a line end;
  // then lines up to one holding a single "."; a leading ".." stands for "."; the value
  // keeps CRLF after every line, the last one's included.
  private scanMultiLine(position: SourcePosition): SieveToken {
    const source = this.source;
    const length = source.length;
    let i = this.offset;
    while (source.charCodeAt(i) === SPACE || source.charCodeAt(i) === TAB) i++;
    const code = source.charCodeAt(i);
    if (code === HASH) {
      const lf = source.indexOf('\n', i);
      if (lf < 0) this.error('unterminated multi-line string: end of script after "text:"', position);
      i = lf + 1;
    } else if (code === LF) {
      i++;
    } else if (code === CR && source.charCodeAt(i + 1) === LF) {
      i += 2;
    } else {
      this.skipTo(i);
      if (i >= length) this.error('unterminated multi-line string: end of script after "text:"', position);
      const character = String.fromCodePoint(source.codePointAt(i)!);
      this.error(
        `unexpected character ${describeCharacter(character)} after "text:" (only a comment may follow it on its line)`,
        this.positionAt(i),
      );
    }
    const lines: string[] = [];
    for (;;) {
      const lf = source.indexOf('\n', i);
      if (lf < 0) {
        this.skipTo(length);
        this.error(
          `unterminated multi-line string: end of script before the line holding only "."`,
          position,
        );
      }
      let line = source.slice(i, source.charCodeAt(lf - 1) === CR && lf - 1 >= i ? lf - 1 : lf);
      const cr = line.indexOf('\r');
      if (cr >= 0) {
        this.skipTo(i + cr);
        this.error(
          'stray CR (carriage return without line feed) in a multi-line string',
          this.positionAt(i + cr),
        );
      }
      i = lf + 1;
      if (line.charCodeAt(0) === DOT) {
        if (line.length === 1) break;
        if (line.charCodeAt(1) === DOT) line = line.slice(1);
      }
      lines.push(line);
    }
    this.skipTo(i);
    const value = lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
    return this.token('string', value, 0, position);
  }
}
