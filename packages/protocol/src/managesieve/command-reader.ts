// The ManageSieve command reader (RFC 5804 §4): bytes in, one command at a time out. A
// command is a name and arguments separated by spaces, ending in CRLF: atoms (the command
// name, HAVESPACE's number), quoted strings ("…" with \" and \\ escaped) and literals. The
// client's literals are `{n+}` (§4 literal-c2s: non-synchronising, the octets follow the
// CRLF at once); `{n}` is accepted the same way, as Dovecot's server does, since a client
// sending it has no continuation to wait for in this protocol. A SASL response is a line
// of one string, so it is read the same way.
//
// Limits: the line parts of one command (everything but literal octets) are held to
// `maxLineBytes`, a literal to `maxLiteralBytes` and the literals of one command together
// too, so a client costs at most their sum in memory whatever it sends (issue 13: the
// literals of one IMAP command once grew a process by 743 MB before login). A literal
// over its limit is skipped as it arrives, never kept, and the command is answered as
// such; a line over its limit cannot be resynchronised with (its literals were not read),
// so the session closes the connection.

import type { InputProgress } from '../input-deadline.js';

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;

/** RFC 5804 §4 number: up to 4294967296 (1*10DIGIT). */
const MAX_LITERAL_DIGITS = 10;
/** No command takes more than two strings (PUTSCRIPT, RENAMESCRIPT): a few more are a client's bug. */
const MAX_LITERALS_PER_COMMAND = 4;

export type ManageSieveWord =
  /** An atom: the command name, a number, ACTIVE… (RFC 5804 §4 atom), as sent. */
  | { readonly type: 'atom'; readonly value: string }
  /** A quoted string (escapes resolved) or a literal's octets, undecoded. */
  | { readonly type: 'string'; readonly value: Buffer; readonly literal: boolean };

export type ManageSieveFrame =
  | { readonly kind: 'command'; readonly words: readonly ManageSieveWord[] }
  /**
   * A command with a literal over the limit: its octets were skipped, the rest of the line
   * read. `words` holds what was read, the skipped literal left out.
   */
  | {
      readonly kind: 'literal-too-large';
      readonly words: readonly ManageSieveWord[];
      readonly size: number;
      readonly limit: number;
    }
  /** Not a command: the reader skipped to the line's end. */
  | { readonly kind: 'bad'; readonly reason: string }
  /** The line parts went over the limit: the rest cannot be framed safely. */
  | { readonly kind: 'too-long'; readonly limit: number };

export interface ManageSieveReaderLimits {
  readonly maxLineBytes: number;
  readonly maxLiteralBytes: number;
}

type Mode =
  | { readonly kind: 'words' }
  /** A literal's octets: kept (chunks) or skipped (null). */
  | { readonly kind: 'literal'; remaining: number; readonly size: number; readonly chunks: Buffer[] | null }
  /** After a syntax error: everything up to the next LF goes. */
  | { readonly kind: 'skip-line'; readonly reason: string };

export class ManageSieveCommandReader {
  private buffer: Buffer = Buffer.alloc(0);
  private mode: Mode = { kind: 'words' };
  private words: ManageSieveWord[] = [];
  /** Octets of the command's line parts consumed so far (literal octets not counted). */
  private lineBytes = 0;
  private literalBytes = 0;
  private literals = 0;
  /** A space was read since the last word (it may have come in an earlier chunk). */
  private spaced = false;
  private oversized: { size: number; limit: number } | undefined;
  /** Commands framed so far: tells one unfinished command from the next, for the deadlines. */
  private commands = 0;

  constructor(private limits: ManageSieveReaderLimits) {}

  /** From the next command on (after login, a script may be as long as the quota allows). */
  setLimits(limits: ManageSieveReaderLimits): void {
    this.limits = limits;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.buffer = this.buffer.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.buffer, bytes]);
  }

  /** What is unfinished, as of the last next(): part of a command line, or a literal. */
  get progress(): InputProgress | undefined {
    const mode = this.mode;
    if (mode.kind === 'literal')
      return {
        kind: 'literal',
        unit: this.commands * MAX_LITERALS_PER_COMMAND + this.literals,
        received: mode.size - mode.remaining,
      };
    const begun = this.buffer.length > 0 || this.words.length > 0 || mode.kind === 'skip-line';
    return begun ? { kind: 'line', unit: this.commands } : undefined;
  }

  /** Forgets what is buffered (the bytes after STARTTLS came in clear); returns how many. */
  discardBuffered(): number {
    const discarded = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    this.reset();
    return discarded;
  }

  /** The next command, or undefined until more bytes arrive. */
  next(): ManageSieveFrame | undefined {
    for (;;) {
      const mode = this.mode;
      if (mode.kind === 'literal') {
        if (!this.readLiteral(mode)) return undefined;
        continue;
      }
      if (mode.kind === 'skip-line') {
        const lf = this.buffer.indexOf(LF);
        if (lf < 0) {
          this.buffer = Buffer.alloc(0);
          return undefined;
        }
        this.buffer = this.buffer.subarray(lf + 1);
        this.reset();
        return { kind: 'bad', reason: mode.reason };
      }
      const step = this.readWord();
      if (step === 'more') {
        if (this.lineBytes + this.buffer.length > this.limits.maxLineBytes) return this.tooLong();
        return undefined;
      }
      if (this.lineBytes > this.limits.maxLineBytes) return this.tooLong();
      if (step === 'word') continue;
      if (step === 'literal') continue;
      if (step.kind === 'end') return this.finish();
      this.mode = { kind: 'skip-line', reason: step.reason };
    }
  }

  private tooLong(): ManageSieveFrame {
    const limit = this.limits.maxLineBytes;
    this.buffer = Buffer.alloc(0);
    this.reset();
    return { kind: 'too-long', limit };
  }

  private finish(): ManageSieveFrame {
    const words = this.words;
    const oversized = this.oversized;
    this.reset();
    if (words.length === 0) return { kind: 'bad', reason: 'empty command line' };
    return oversized ? { kind: 'literal-too-large', words, ...oversized } : { kind: 'command', words };
  }

  private reset(): void {
    this.mode = { kind: 'words' };
    this.words = [];
    this.lineBytes = 0;
    this.literalBytes = 0;
    this.literals = 0;
    this.spaced = false;
    this.oversized = undefined;
    this.commands++;
  }

  /** Takes a word, the line end or a literal marker from the buffer, consuming what it read. */
  private readWord(): 'more' | 'word' | 'literal' | { kind: 'end' } | { kind: 'bad'; reason: string } {
    let at = 0;
    while (at < this.buffer.length && this.buffer[at] === SP) at++;
    if (at > 0) this.spaced = true;
    if (at === this.buffer.length) {
      this.consume(at);
      return 'more';
    }
    const first = this.buffer[at]!;
    if (first === LF) {
      this.consume(at + 1);
      return { kind: 'end' };
    }
    if (first === CR) {
      if (at + 1 >= this.buffer.length) {
        this.consume(at);
        return 'more';
      }
      if (this.buffer[at + 1] !== LF) return this.bad(at + 1, 'CR without LF');
      this.consume(at + 2);
      return { kind: 'end' };
    }
    if (this.words.length > 0 && !this.spaced) return this.bad(0, 'arguments must be separated by a space');
    if (first === DQUOTE) return this.readQuoted(at);
    if (first === OPEN_BRACE) return this.readLiteralMarker(at);
    return this.readAtom(at);
  }

  private readAtom(start: number): 'more' | 'word' | { kind: 'bad'; reason: string } {
    let end = start;
    while (end < this.buffer.length) {
      const byte = this.buffer[end]!;
      if (byte === SP || byte === CR || byte === LF) break;
      // RFC 5804 §4 ATOM-CHAR: no CTL, no specials; atoms here are ASCII words.
      if (byte < 0x21 || byte > 0x7e || byte === DQUOTE || byte === OPEN_BRACE || byte === BACKSLASH)
        return this.bad(end, 'invalid character in an atom');
      end++;
    }
    if (end === this.buffer.length) return 'more';
    this.addWord({ type: 'atom', value: this.buffer.toString('latin1', start, end) });
    this.consume(end);
    return 'word';
  }

  private readQuoted(start: number): 'more' | 'word' | { kind: 'bad'; reason: string } {
    const octets: number[] = [];
    for (let i = start + 1; i < this.buffer.length; i++) {
      const byte = this.buffer[i]!;
      if (byte === DQUOTE) {
        this.addWord({ type: 'string', value: Buffer.from(octets), literal: false });
        this.consume(i + 1);
        return 'word';
      }
      if (byte === CR || byte === LF || byte === 0) return this.bad(i, 'CR, LF or NUL in a quoted string');
      if (byte === BACKSLASH) {
        if (i + 1 >= this.buffer.length) return 'more';
        const escaped = this.buffer[++i]!;
        // §4 QUOTED-SPECIALS: only the quote and the backslash are escaped.
        if (escaped !== DQUOTE && escaped !== BACKSLASH)
          return this.bad(i, 'invalid escape in a quoted string');
        octets.push(escaped);
        continue;
      }
      octets.push(byte);
    }
    return 'more';
  }

  private readLiteralMarker(start: number): 'more' | 'literal' | { kind: 'bad'; reason: string } {
    const lf = this.buffer.indexOf(LF, start);
    if (lf < 0) {
      // The marker and its CRLF are short: anything longer is not one.
      return this.buffer.length - start > MAX_LITERAL_DIGITS + 4
        ? this.bad(start, 'invalid literal')
        : 'more';
    }
    const marker = /^\{(\d{1,10})(\+?)\}\r?$/.exec(this.buffer.toString('latin1', start, lf));
    if (!marker) return this.bad(start, 'invalid literal');
    const size = Number(marker[1]);
    if (++this.literals > MAX_LITERALS_PER_COMMAND) return this.bad(start, 'too many literals');
    this.consume(lf + 1);
    const limit = this.limits.maxLiteralBytes;
    const keep = size <= limit && this.literalBytes + size <= limit && !this.oversized;
    if (!keep) this.oversized ??= { size, limit };
    else this.literalBytes += size;
    this.mode = { kind: 'literal', remaining: size, size, chunks: keep ? [] : null };
    return 'literal';
  }

  /** True once the literal is complete. */
  private readLiteral(mode: Extract<Mode, { kind: 'literal' }>): boolean {
    const take = Math.min(mode.remaining, this.buffer.length);
    if (take > 0) {
      mode.chunks?.push(Buffer.from(this.buffer.subarray(0, take)));
      this.buffer = this.buffer.subarray(take);
      mode.remaining -= take;
    }
    if (mode.remaining > 0) return false;
    if (mode.chunks) this.addWord({ type: 'string', value: Buffer.concat(mode.chunks), literal: true });
    // A skipped literal still separates what comes before it from what comes after.
    else this.spaced = false;
    this.mode = { kind: 'words' };
    return true;
  }

  private addWord(word: ManageSieveWord): void {
    this.words.push(word);
    this.spaced = false;
  }

  private bad(at: number, reason: string): { kind: 'bad'; reason: string } {
    this.consume(at);
    return { kind: 'bad', reason };
  }

  /** Drops `octets` from the buffer, counting them against the command's line parts. */
  private consume(octets: number): void {
    this.lineBytes += octets;
    this.buffer = this.buffer.subarray(octets);
  }
}
