// The IMAP command reader (RFC 3501 §2.2, §4, §9; RFC 9051 §2.2; RFC 7888 LITERAL+/-):
// bytes in, one command at a time out, pull-driven so the session decides when to read on.
//
// A command is one or more lines: a line that ends in a literal marker `{n}` / `{n+}` /
// `~{n}` is followed by exactly n octets, then the command goes on. Literal octets are
// kept as Buffers (never decoded to a string), and a synchronising literal is read only
// after the session has agreed to it and sent `+` — it may refuse instead (too big), and
// the client then abandons the command. Every limit ends in an event the session answers
// with BAD or NO; the reader then resumes at the next command, never stuck and never
// holding more than the limits allow.

export type ImapToken =
  /** Atoms, numbers, flags, sequence sets, and FETCH items with their `[section]<partial>`. */
  | { readonly type: 'atom'; readonly value: string }
  /** A quoted string or a literal; `binary` for a literal8 (`~{n}`, RFC 3516). */
  | { readonly type: 'string'; readonly value: Buffer; readonly literal: boolean; readonly binary?: boolean }
  | { readonly type: 'list'; readonly items: readonly ImapToken[] };

export interface ImapCommand {
  readonly tag: string;
  /** Upper case. */
  readonly name: string;
  readonly args: readonly ImapToken[];
}

export type ReaderEvent =
  | { readonly kind: 'command'; readonly command: ImapCommand }
  /** Not a valid command; the reader has skipped past it. `tag` is undefined when even that was unreadable. */
  | { readonly kind: 'bad'; readonly tag: string | undefined; readonly text: string }
  /**
   * A literal is announced. Call acceptLiteral() (and, when `synchronising`, send a
   * continuation) or rejectLiteral() before calling next() again.
   */
  | {
      readonly kind: 'literal';
      readonly tag: string;
      readonly name: string;
      readonly size: number;
      readonly synchronising: boolean;
      /** Literals before this one in the same command (MULTIAPPEND's messages). */
      readonly index: number;
    }
  /** A refused literal ended the command: answer `tag` (the session chose the words when it refused). */
  | { readonly kind: 'rejected'; readonly tag: string }
  /** In line mode (IDLE's DONE, AUTHENTICATE responses): one line, without its CRLF. */
  | { readonly kind: 'line'; readonly text: string }
  /** A line in line mode over the line limit: skipped. */
  | { readonly kind: 'line-too-long' };

export interface CommandReaderLimits {
  /** Longest line, CRLF and literals not counted (Dovecot's imap_max_line_length is 64 KiB). */
  readonly maxLineLength: number;
  /** Deepest list nesting. */
  readonly maxDepth: number;
  /** Most tokens in one command, nested ones included. */
  readonly maxTokens: number;
}

export const DEFAULT_READER_LIMITS: CommandReaderLimits = {
  maxLineLength: 65_536,
  maxDepth: 32,
  maxTokens: 100_000,
};

const CR = 0x0d;
const LF = 0x0a;
const MAX_LITERAL = 4_294_967_295;

interface Open {
  readonly items: ImapToken[];
}

type State =
  | { readonly at: 'line' }
  | {
      readonly at: 'awaiting-decision';
      readonly size: number;
      readonly synchronising: boolean;
      readonly binary: boolean;
    }
  | {
      readonly at: 'literal';
      readonly size: number;
      readonly binary: boolean;
      readonly chunks: Buffer[];
      got: number;
    }
  /** Throwing away a refused non-synchronising literal, then the rest of the command. */
  | { readonly at: 'discarding'; remaining: number }
  /** Skipping to the end of a line that was too long (already answered). */
  | { readonly at: 'skipping-line' };

export class ImapCommandReader {
  private buffer: Buffer = Buffer.alloc(0);
  private state: State = { at: 'line' };
  private mode: 'command' | 'line' = 'command';
  // The command being read across its lines and literals.
  private tag: string | undefined;
  private name: string | undefined;
  private stack: Open[] = [];
  private tokens = 0;
  private literals = 0;
  /** Set when a refused literal or an error means the rest of the command is thrown away. */
  private failed: ReaderEvent | undefined;

  constructor(private readonly limits: CommandReaderLimits = DEFAULT_READER_LIMITS) {}

  push(chunk: Uint8Array): void {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
  }

  /** Bytes received and not yet read (after STARTTLS they must be thrown away). */
  get buffered(): number {
    return this.buffer.length;
  }

  discardBuffered(): void {
    this.buffer = Buffer.alloc(0);
  }

  /** 'line': the next lines are raw (IDLE's DONE, SASL responses), until set back to 'command'. */
  setMode(mode: 'command' | 'line'): void {
    this.mode = mode;
  }

  acceptLiteral(): void {
    if (this.state.at !== 'awaiting-decision') throw new Error('no literal is waiting');
    this.state = { at: 'literal', size: this.state.size, binary: this.state.binary, chunks: [], got: 0 };
  }

  /**
   * Refuses the announced literal. A synchronising one was never sent: the command ends
   * here. A non-synchronising one is on its way and is read and thrown away, with the rest
   * of the command; either way next() reports 'rejected' once the command is over.
   */
  rejectLiteral(): void {
    if (this.state.at !== 'awaiting-decision') throw new Error('no literal is waiting');
    const tag = this.tag ?? '*';
    this.failed = { kind: 'rejected', tag };
    if (this.state.synchronising) {
      this.state = { at: 'line' };
      this.pendingEnd = true;
    } else {
      this.state = { at: 'discarding', remaining: this.state.size };
    }
  }

  private pendingEnd = false;

  /** The next event, or undefined until more bytes arrive. */
  next(): ReaderEvent | undefined {
    for (;;) {
      if (this.pendingEnd) {
        this.pendingEnd = false;
        return this.finishFailed();
      }
      const state = this.state;
      switch (state.at) {
        case 'awaiting-decision':
          throw new Error('acceptLiteral() or rejectLiteral() first');
        case 'literal': {
          const take = Math.min(state.size - state.got, this.buffer.length);
          if (take > 0) {
            state.chunks.push(this.buffer.subarray(0, take));
            state.got += take;
            this.buffer = this.buffer.subarray(take);
          }
          if (state.got < state.size) return undefined;
          const value =
            state.chunks.length === 1 ? Buffer.from(state.chunks[0]!) : Buffer.concat(state.chunks);
          this.state = { at: 'line' };
          this.add({ type: 'string', value, literal: true, ...(state.binary && { binary: true }) });
          this.literals++;
          continue;
        }
        case 'discarding': {
          const take = Math.min(state.remaining, this.buffer.length);
          this.buffer = this.buffer.subarray(take);
          state.remaining -= take;
          if (state.remaining > 0) return undefined;
          this.state = { at: 'line' };
          continue;
        }
        case 'skipping-line': {
          const eol = this.buffer.indexOf(LF);
          if (eol < 0) {
            this.buffer = Buffer.alloc(0);
            return undefined;
          }
          this.buffer = this.buffer.subarray(eol + 1);
          this.state = { at: 'line' };
          continue;
        }
        case 'line': {
          const eol = this.buffer.indexOf(LF);
          if (eol < 0) {
            if (this.buffer.length > this.limits.maxLineLength + 1) return this.lineTooLong();
            return undefined;
          }
          let end = eol;
          if (end > 0 && this.buffer[end - 1] === CR) end--;
          if (end > this.limits.maxLineLength) {
            const event = this.lineTooLongEvent();
            this.buffer = this.buffer.subarray(eol + 1);
            return event;
          }
          const line = this.buffer.subarray(0, end);
          this.buffer = this.buffer.subarray(eol + 1);
          if (this.mode === 'line' && this.tag === undefined) {
            return { kind: 'line', text: line.toString('utf8') };
          }
          const event = this.segment(line);
          if (event) return event;
        }
      }
    }
  }

  /** Answered at once; the rest of the line is skipped as it arrives. */
  private lineTooLong(): ReaderEvent {
    const event = this.lineTooLongEvent();
    this.buffer = Buffer.alloc(0);
    this.state = { at: 'skipping-line' };
    return event;
  }

  private lineTooLongEvent(): ReaderEvent {
    if (this.mode === 'line' && this.tag === undefined) return { kind: 'line-too-long' };
    let tag = this.tag;
    if (tag === undefined) {
      const first = this.buffer.subarray(0, Math.max(0, indexOfSpace(this.buffer, 0))).toString('latin1');
      if (validTag(first)) tag = first;
    }
    this.reset();
    return { kind: 'bad', tag, text: 'line too long' };
  }

  /** One line of the current command (the first, or one after a literal). */
  private segment(line: Buffer): ReaderEvent | undefined {
    let pos = 0;
    const failed = this.failed;
    if (this.tag === undefined) {
      // A new command: tag SP command-name.
      const tagEnd = indexOfSpace(line, 0);
      const tag = line.subarray(0, tagEnd < 0 ? line.length : tagEnd).toString('latin1');
      if (!validTag(tag)) {
        this.reset();
        return {
          kind: 'bad',
          tag: undefined,
          text: line.length === 0 ? 'empty command line' : 'invalid tag',
        };
      }
      if (tagEnd < 0) {
        this.reset();
        return { kind: 'bad', tag, text: 'command name missing' };
      }
      pos = tagEnd + 1;
      let nameEnd = indexOfSpace(line, pos);
      if (nameEnd < 0) nameEnd = line.length;
      const name = line.subarray(pos, nameEnd).toString('latin1').toUpperCase();
      if (!/^[A-Z][A-Z0-9.-]*$/.test(name)) {
        this.reset();
        return { kind: 'bad', tag, text: 'invalid command name' };
      }
      this.tag = tag;
      this.name = name;
      this.stack = [{ items: [] }];
      this.tokens = 0;
      this.literals = 0;
      pos = nameEnd;
    }
    const result = this.tokenize(line, pos);
    if (result.kind === 'error') {
      if (failed) return this.finishFailed();
      const tag = this.tag;
      this.reset();
      return { kind: 'bad', tag, text: result.text };
    }
    if (result.kind === 'literal') {
      if (failed) {
        if (result.synchronising) return this.finishFailed();
        this.state = { at: 'discarding', remaining: result.size };
        return undefined;
      }
      this.state = {
        at: 'awaiting-decision',
        size: result.size,
        synchronising: result.synchronising,
        binary: result.binary,
      };
      return {
        kind: 'literal',
        tag: this.tag!,
        name: this.name!,
        size: result.size,
        synchronising: result.synchronising,
        index: this.literals,
      };
    }
    // The command is complete.
    if (failed) return this.finishFailed();
    if (this.stack.length !== 1) {
      const tag = this.tag;
      this.reset();
      return { kind: 'bad', tag, text: 'unbalanced parentheses' };
    }
    const command: ImapCommand = { tag: this.tag!, name: this.name!, args: this.stack[0]!.items };
    this.reset();
    return { kind: 'command', command };
  }

  private finishFailed(): ReaderEvent {
    const failed = this.failed!;
    this.reset();
    return failed;
  }

  private reset(): void {
    this.tag = undefined;
    this.name = undefined;
    this.stack = [];
    this.failed = undefined;
    this.tokens = 0;
  }

  private add(token: ImapToken): void {
    this.stack.at(-1)!.items.push(token);
  }

  private tokenize(
    line: Buffer,
    start: number,
  ):
    | { kind: 'done' }
    | { kind: 'error'; text: string }
    | { kind: 'literal'; size: number; synchronising: boolean; binary: boolean } {
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
        const marker = /^(~?)\{(\d{1,10})(\+?)\}$/.exec(line.subarray(pos).toString('latin1'));
        if (!marker) return { kind: 'error', text: 'invalid literal' };
        const size = Number(marker[2]);
        if (size > MAX_LITERAL) return { kind: 'error', text: 'literal too large' };
        return { kind: 'literal', size, synchronising: marker[3] !== '+', binary: marker[1] === '~' };
      }
      const atom = readAtom(line, pos);
      if (!atom) return { kind: 'error', text: 'invalid characters in an argument' };
      this.add({ type: 'atom', value: atom.value });
      pos = atom.end;
    }
    return { kind: 'done' };
  }
}

function indexOfSpace(line: Buffer, from: number): number {
  return line.indexOf(0x20, from);
}

// tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR excludes ( ) { SP CTL % * " \
// (atom-specials) but allows ].
function validTag(tag: string): boolean {
  return tag.length > 0 && /^[\x21-\x7e]+$/.test(tag) && !/[(){%*"\\+]/.test(tag);
}

function readQuoted(line: Buffer, start: number): { value: Buffer; end: number } | undefined {
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
function readAtom(line: Buffer, start: number): { value: string; end: number } | undefined {
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
