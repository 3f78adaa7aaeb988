// The IMAP command reader (RFC 3501 §2.2, §4, §9; RFC 9051 §2.2; RFC 7888 LITERAL+/-):
// bytes in, one command at a time out, pull-driven so the session decides when to read on.
//
// A command is one or more lines: a line that ends in a literal marker `{n}` / `{n+}` /
// `~{n}` is followed by exactly n octets, then the command goes on. Literal octets are
// kept as Buffers (never decoded to a string), and a synchronising literal is read only
// after the session has agreed to it and sent `+` — it may refuse instead (too big), and
// the client then abandons the command.
//
// Every octet of a command counts against one total (issue 13: `LOGIN` followed by
// thousands of 64 KiB LITERAL+ literals grew a process by 743 MB before login): its line
// parts with their line ends, and its literals. A literal that would go over is announced
// as such and must be refused; a line that would go over is answered at once. What is
// refused is skipped as it arrives, never kept: the reader holds at most the limit.

import type { InputProgress } from '../input-deadline.js';
import {
  CommandArguments,
  type ImapToken,
  indexOfSpace,
  LITERAL_MARKER_MAX,
  type LiteralMarker,
  literalMarker,
  validTag,
} from './command-tokens.js';

export type { ImapToken } from './command-tokens.js';

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
   * A line of a command would take it over its size limit (`limit` octets). Answer it now
   * (BAD [TOOBIG]); the reader skips the rest of the command as it comes, literals included.
   */
  | { readonly kind: 'too-long'; readonly tag: string | undefined; readonly limit: number }
  /**
   * A literal is announced. Call acceptLiteral() (and, when `synchronising`, send a
   * continuation) or rejectLiteral() before calling next() again; when `over` is set the
   * literal breaks a limit and must be refused.
   */
  | {
      readonly kind: 'literal';
      readonly tag: string;
      readonly name: string;
      readonly size: number;
      readonly synchronising: boolean;
      /** Literals before this one in the same command. */
      readonly index: number;
      /** The command carries messages (APPEND, REPLACE, UID REPLACE): APPENDLIMIT applies. */
      readonly message: boolean;
      /** The limit the literal would break: the command's total, or LITERAL-'s 4096 octets. */
      readonly over?: { readonly limit: number; readonly rule: 'command-size' | 'literal-minus' };
    }
  /** A refused literal ended the command: answer `tag` (the session chose the words when it refused). */
  | { readonly kind: 'rejected'; readonly tag: string }
  /** In line mode (IDLE's DONE, AUTHENTICATE responses): one line, without its CRLF. */
  | { readonly kind: 'line'; readonly text: string }
  /** A line in line mode over the limit: skipped. */
  | { readonly kind: 'line-too-long' };

export interface CommandReaderLimits {
  /**
   * The most octets one command may take: everything the client sends for it, from the
   * tag to the final line end, literals included. In line mode, the longest line.
   */
  readonly maxCommandBytes: number;
  /**
   * The total of a command that carries messages instead (APPEND, all its messages
   * together; REPLACE and UID REPLACE): each message may be up to APPENDLIMIT; the line
   * parts stay within maxCommandBytes. Undefined: they are held to maxCommandBytes too.
   */
  readonly maxAppendBytes?: number;
  /** RFC 7888 LITERAL-: the largest non-synchronising literal. Undefined: LITERAL+, no such limit. */
  readonly maxNonSyncLiteral?: number;
  /** Deepest list nesting. */
  readonly maxDepth: number;
  /** Most tokens in one command, nested ones included. */
  readonly maxTokens: number;
}

/**
 * After login (Dovecot's imap_max_line_length is 64 KiB, literals included). Tokens: a
 * 64 KiB command of two-octet arguments has 32k, each a small object; half that is more
 * than any client sends (a UID set is one token).
 */
export const DEFAULT_READER_LIMITS: CommandReaderLimits = {
  maxCommandBytes: 65_536,
  maxDepth: 32,
  maxTokens: 16_384,
};

const CR = 0x0d;
const LF = 0x0a;

type State =
  | { readonly at: 'line' }
  | {
      readonly at: 'awaiting-decision';
      readonly size: number;
      readonly synchronising: boolean;
      readonly binary: boolean;
      readonly fits: boolean;
    }
  | {
      readonly at: 'literal';
      readonly size: number;
      readonly binary: boolean;
      readonly chunks: Buffer[];
      got: number;
    }
  /** Throwing away the octets of a refused non-synchronising literal as they come. */
  | { readonly at: 'discarding'; readonly size: number; remaining: number }
  /**
   * Throwing away a line as it comes (too long, or part of a refused command), keeping only
   * its last octets: a literal marker there means octets follow that are not commands.
   */
  | { readonly at: 'skipping-line'; tail: string; readonly command: boolean };

export class ImapCommandReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** How far the buffer is known to hold no LF, so a slowly sent line is not searched again. */
  private scanned = 0;
  private state: State = { at: 'line' };
  private mode: 'command' | 'line' = 'command';
  // The command being read across its lines and literals.
  private tag: string | undefined;
  private name: string | undefined;
  /** Its arguments so far; undefined between commands and once it is refused. */
  private args: CommandArguments | undefined;
  private literals = 0;
  private lineBytes = 0;
  private literalBytes = 0;
  /**
   * Set when the rest of the command is thrown away: the event to give once it is over
   * ('answered': none, the session has answered already).
   */
  private failed: ReaderEvent | 'answered' | undefined;
  private pendingEnd = false;
  /** Lines and literals completed so far: tells one unfinished line from the next. */
  private units = 0;

  constructor(private limits: CommandReaderLimits = DEFAULT_READER_LIMITS) {}

  /** New limits from the next command on (the session's, once logged in). */
  setLimits(limits: CommandReaderLimits): void {
    this.limits = limits;
  }

  push(chunk: Uint8Array): void {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
  }

  /** Bytes received and not yet read (after STARTTLS they must be thrown away). */
  get buffered(): number {
    return this.buffer.length;
  }

  discardBuffered(): void {
    this.buffer = Buffer.alloc(0);
    this.scanned = 0;
  }

  /**
   * Takes the bytes received and not yet read, between commands: after COMPRESS they are
   * the client's first compressed octets (RFC 4978 §3), for the session to inflate.
   */
  takeBuffered(): Buffer {
    const rest = this.buffer;
    this.discardBuffered();
    return rest;
  }

  /**
   * The line or literal the client has begun and not finished, as of the last next(), for
   * the session's deadlines; undefined between lines and while the session decides on a
   * literal.
   */
  get progress(): InputProgress | undefined {
    const state = this.state;
    if (state.at === 'literal') return { kind: 'literal', unit: this.units, received: state.got };
    if (state.at === 'discarding')
      return { kind: 'literal', unit: this.units, received: state.size - state.remaining };
    if (state.at === 'skipping-line' || (state.at === 'line' && this.buffer.length > 0))
      return { kind: 'line', unit: this.units };
    return undefined;
  }

  /** 'line': the next lines are raw (IDLE's DONE, SASL responses), until set back to 'command'. */
  setMode(mode: 'command' | 'line'): void {
    this.mode = mode;
  }

  acceptLiteral(): void {
    if (this.state.at !== 'awaiting-decision') throw new Error('no literal is waiting');
    if (!this.state.fits) throw new Error('a literal over the limits must be refused');
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
    const { size, synchronising } = this.state;
    this.dropCommand();
    this.failed = { kind: 'rejected', tag };
    if (synchronising) {
      this.state = { at: 'line' };
      this.pendingEnd = true;
    } else {
      this.state = { at: 'discarding', size, remaining: size };
    }
  }

  /** The next event, or undefined until more bytes arrive. */
  next(): ReaderEvent | undefined {
    for (;;) {
      if (this.pendingEnd) {
        this.pendingEnd = false;
        const event = this.endFailed();
        if (event) return event;
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
          this.units++;
          this.args?.add({ type: 'string', value, literal: true, ...(state.binary && { binary: true }) });
          this.literals++;
          this.literalBytes += state.size;
          continue;
        }
        case 'discarding': {
          const take = Math.min(state.remaining, this.buffer.length);
          this.buffer = this.buffer.subarray(take);
          state.remaining -= take;
          if (state.remaining > 0) return undefined;
          this.units++;
          // The refused command goes on after its literal: skipped too, to its end.
          this.state = { at: 'skipping-line', tail: '', command: true };
          continue;
        }
        case 'skipping-line': {
          const event = this.skipLine(state);
          if (event === 'more') return undefined;
          if (event) return event;
          continue;
        }
        case 'line': {
          const room = this.lineRoom();
          const eol = this.buffer.indexOf(LF, this.scanned);
          if (eol < 0) {
            this.scanned = this.buffer.length;
            // Not even its line end would fit.
            if (this.buffer.length > 0 && this.buffer.length >= room) return this.lineTooLong(room);
            return undefined;
          }
          this.scanned = 0;
          if (eol + 1 > room) return this.lineTooLong(room);
          let end = eol;
          if (end > 0 && this.buffer[end - 1] === CR) end--;
          const line = this.buffer.subarray(0, end);
          this.buffer = this.buffer.subarray(eol + 1);
          this.units++;
          if (this.mode === 'line' && this.tag === undefined) {
            return { kind: 'line', text: line.toString('utf8') };
          }
          this.lineBytes += eol + 1;
          const event = this.segment(line);
          if (event) return event;
        }
      }
    }
  }

  /** Octets the next line may take, its line end included. */
  private lineRoom(): number {
    const { maxCommandBytes } = this.limits;
    if (this.tag === undefined) return maxCommandBytes;
    return Math.min(maxCommandBytes - this.lineBytes, this.budget() - this.lineBytes - this.literalBytes);
  }

  /** The current command's total. */
  private budget(): number {
    return this.carriesMessages()
      ? (this.limits.maxAppendBytes ?? this.limits.maxCommandBytes)
      : this.limits.maxCommandBytes;
  }

  /** APPEND, REPLACE and UID REPLACE (RFC 8508) carry messages. */
  private carriesMessages(): boolean {
    if (this.name === 'APPEND' || this.name === 'REPLACE') return true;
    return this.name === 'UID' && this.args?.firstAtom() === 'REPLACE';
  }

  /** Answered at once; the line, and the rest of its command, are skipped as they arrive. */
  private lineTooLong(room: number): ReaderEvent {
    this.scanned = 0;
    if (this.mode === 'line' && this.tag === undefined) {
      this.skipNow(false);
      return { kind: 'line-too-long' };
    }
    let tag = this.tag;
    if (tag === undefined) {
      const first = this.buffer.subarray(0, Math.max(0, indexOfSpace(this.buffer, 0))).toString('latin1');
      if (validTag(first)) tag = first;
    }
    // Which limit this line breaks: its command's lines together, or the command's total.
    const { maxCommandBytes } = this.limits;
    const limit = room === maxCommandBytes - this.lineBytes ? maxCommandBytes : this.budget();
    this.dropCommand();
    this.failed = 'answered';
    this.skipNow(true);
    return { kind: 'too-long', tag, limit };
  }

  /** Starts skipping the line in the buffer, and drops what of it is here already. */
  private skipNow(command: boolean): void {
    const state: State & { at: 'skipping-line' } = { at: 'skipping-line', tail: '', command };
    this.state = state;
    // Nothing to report from it: the line is answered already.
    this.skipLine(state);
  }

  /**
   * Drops the buffered part of a skipped line; at its end, a command that goes on (a
   * non-synchronising literal follows) is skipped further, else it is over.
   */
  private skipLine(state: State & { at: 'skipping-line' }): ReaderEvent | 'more' | undefined {
    const eol = this.buffer.indexOf(LF);
    const part = this.buffer.subarray(0, eol < 0 ? this.buffer.length : eol);
    state.tail = (state.tail + part.subarray(-LITERAL_MARKER_MAX).toString('latin1')).slice(
      -LITERAL_MARKER_MAX - 1,
    );
    if (eol < 0) {
      this.buffer = Buffer.alloc(0);
      return 'more';
    }
    this.buffer = this.buffer.subarray(eol + 1);
    this.units++;
    this.state = { at: 'line' };
    if (!state.command) return undefined;
    const marker = literalMarker(state.tail.endsWith('\r') ? state.tail.slice(0, -1) : state.tail);
    if (marker !== undefined && marker !== 'invalid' && !marker.synchronising) {
      this.state = { at: 'discarding', size: marker.size, remaining: marker.size };
      return undefined;
    }
    // No literal follows (a synchronising one waits for a "+" that never comes): it is over.
    return this.endFailed();
  }

  /** One line of the current command (the first, or one after a literal). */
  private segment(line: Buffer): ReaderEvent | undefined {
    let pos = 0;
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
      this.args = new CommandArguments(this.limits);
      pos = nameEnd;
    }
    const result = this.args!.read(line, pos);
    if (result.kind === 'error') {
      const tag = this.tag;
      this.reset();
      return { kind: 'bad', tag, text: result.text };
    }
    if (result.kind === 'literal') return this.announce(result);
    // The command is complete.
    const args = this.args!.complete();
    if (!args) {
      const tag = this.tag;
      this.reset();
      return { kind: 'bad', tag, text: 'unbalanced parentheses' };
    }
    const command: ImapCommand = { tag: this.tag!, name: this.name!, args };
    this.reset();
    return { kind: 'command', command };
  }

  private announce(marker: LiteralMarker): ReaderEvent {
    const { size, synchronising } = marker;
    const budget = this.budget();
    const minus = this.limits.maxNonSyncLiteral;
    // It must leave room for the CRLF that at least follows it, or the command can never end.
    const over =
      this.lineBytes + this.literalBytes + size + 2 > budget
        ? ({ limit: budget, rule: 'command-size' } as const)
        : !synchronising && minus !== undefined && size > minus
          ? ({ limit: minus, rule: 'literal-minus' } as const)
          : undefined;
    this.state = { at: 'awaiting-decision', size, synchronising, binary: marker.binary, fits: !over };
    return {
      kind: 'literal',
      tag: this.tag!,
      name: this.name!,
      size,
      synchronising,
      index: this.literals,
      message: this.carriesMessages(),
      ...(over && { over }),
    };
  }

  private endFailed(): ReaderEvent | undefined {
    const failed = this.failed;
    this.reset();
    return failed === 'answered' ? undefined : failed;
  }

  /** Lets go of what the command holds (its tokens) as soon as it is refused. */
  private dropCommand(): void {
    this.args = undefined;
  }

  private reset(): void {
    this.tag = undefined;
    this.name = undefined;
    this.args = undefined;
    this.failed = undefined;
    this.literals = 0;
    this.lineBytes = 0;
    this.literalBytes = 0;
  }
}
