import { TransferDeadline, type TransferLimits } from '../input-deadline.js';
import { type ByteSource, ReadTimeout } from './byte-source.js';

export type LineRead = { kind: 'line'; line: Buffer } | { kind: 'too-long' } | { kind: 'eof' };

/**
 * How a DATA body ended. Only `<CRLF>.<CRLF>` ends it (RFC 5321 §4.1.1.4). A bare CR or LF
 * stops reading at once with `smuggling`: the session refuses the message and closes the
 * connection, so `<LF>.<LF>`, `<CR>.<CR>` or `<LF>.<CRLF>` can never split one message into
 * two, here or at a next hop that reads line ends differently (the SMTP smuggling attacks
 * of 2023; Postfix's smtpd_forbid_bare_newline does the same).
 */
export type DataRead =
  | { kind: 'complete'; size: number }
  | { kind: 'too-big'; size: number }
  | { kind: 'smuggling' }
  | { kind: 'eof' };

export interface DataSink {
  /** Unstuffed message bytes, in order; not called once the message is too big or refused. */
  write(chunk: Buffer): void;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * Frames what an SMTP client sends: command lines, dot-stuffed DATA bodies, and BDAT
 * chunks of a given size. It pulls from the source only when it needs more, so a fast
 * client is held back by TCP rather than by a growing buffer here.
 *
 * Each read waits at most `timeoutMs()` for the next bytes. With `deadlines`, a command
 * line must also be whole within `lineMs` of its first byte (Postfix's
 * smtpd_per_record_deadline), and a body (DATA, a BDAT chunk) starts with `timeoutMs()`
 * and earns 1/rate seconds per octet, never banking more than that (Postfix's
 * smtpd_min_data_rate): one byte every few seconds no longer holds a connection open.
 * Running out of time rejects with ReadTimeout, as a silent client does.
 */
export class SmtpReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(
    private readonly source: ByteSource,
    private readonly timeoutMs: () => number,
    private readonly deadlines?: TransferLimits,
  ) {}

  /** Bytes received but not yet consumed: after STARTTLS, any are a plaintext injection. */
  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * One command line without its CRLF. A line longer than maxBytes (CRLF included) is read
   * to its end and reported as too long, so the next command is framed correctly.
   */
  async readLine(maxBytes: number): Promise<LineRead> {
    let tooLong = false;
    // From the line's first byte: what was buffered came while the session was busy.
    let transfer = this.buffer.length > 0 ? this.lineDeadline() : undefined;
    for (;;) {
      const lf = this.buffer.indexOf(LF);
      if (lf >= 0) {
        const line = this.buffer.subarray(0, lf > 0 && this.buffer[lf - 1] === CR ? lf - 1 : lf);
        const consumed = lf + 1;
        const result: LineRead =
          tooLong || consumed > maxBytes ? { kind: 'too-long' } : { kind: 'line', line: Buffer.from(line) };
        this.buffer = this.buffer.subarray(consumed);
        return result;
      }
      if (this.buffer.length > maxBytes) {
        // Keep only a possible trailing CR: its LF may arrive in the next chunk.
        tooLong = true;
        this.buffer = this.buffer.subarray(this.buffer.length - 1);
      }
      if (!(await this.fill(transfer))) return { kind: 'eof' };
      if (!transfer && this.buffer.length > 0) transfer = this.lineDeadline();
    }
  }

  /**
   * A DATA body after the 354 reply: removes dot-stuffing (§4.5.2) and stops after the
   * terminator, leaving anything pipelined behind it in the buffer.
   */
  async readData(sink: DataSink, maxBytes: number): Promise<DataRead> {
    // Where we are relative to line starts: the DATA command's own CRLF counts, so a
    // body of just ".\r\n" is an empty message.
    let atLineStart = true;
    let size = 0;
    const transfer = this.bodyDeadline();
    for (;;) {
      let i = 0;
      let chunkStart = 0;
      const buf = this.buffer;
      const emit = (end: number) => {
        if (end > chunkStart && size + (end - chunkStart) <= maxBytes)
          sink.write(buf.subarray(chunkStart, end));
        size += end - chunkStart;
      };
      while (i < buf.length) {
        if (atLineStart && buf[i] === DOT) {
          // Whether this is the terminator takes the two bytes after the dot, but a byte other
          // than CR already says it is not: "<CRLF>.<LF>" from a client that then waits for
          // the answer is refused at once, not after the data timeout (found by fuzzing).
          if (i + 1 >= buf.length || (buf[i + 1] === CR && i + 2 >= buf.length)) break;
          if (buf[i + 1] === CR && buf[i + 2] === LF) {
            emit(i);
            this.buffer = buf.subarray(i + 3);
            return size > maxBytes ? { kind: 'too-big', size } : { kind: 'complete', size };
          }
          // A stuffed dot: drop it and go on with the line.
          emit(i);
          chunkStart = i + 1;
          i += 1;
          atLineStart = false;
          continue;
        }
        const byte = buf[i];
        if (byte === CR) {
          if (i + 1 >= buf.length) break; // is an LF next? wait for it
          if (buf[i + 1] === LF) {
            i += 2;
            atLineStart = true;
            continue;
          }
          return this.refuseBareLineEnd();
        } else if (byte === LF) {
          return this.refuseBareLineEnd();
        }
        atLineStart = false;
        i += 1;
      }
      emit(i);
      this.buffer = buf.subarray(i);
      if (!(await this.fill(transfer))) return { kind: 'eof' };
    }
  }

  private refuseBareLineEnd(): DataRead {
    this.buffer = Buffer.alloc(0);
    return { kind: 'smuggling' };
  }

  /** Exactly `size` bytes of a BDAT chunk (RFC 3030: no dot-stuffing, any octets). */
  async readChunk(size: number, sink: DataSink | undefined): Promise<'complete' | 'eof'> {
    let remaining = size;
    const transfer = this.bodyDeadline();
    for (;;) {
      const take = Math.min(remaining, this.buffer.length);
      if (take > 0) {
        sink?.write(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        remaining -= take;
      }
      if (remaining === 0) return 'complete';
      if (!(await this.fill(transfer))) return 'eof';
    }
  }

  /** Forgets what is buffered (after STARTTLS: never act on plaintext sent before the handshake). */
  discardBuffered(): number {
    const discarded = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    return discarded;
  }

  private lineDeadline(): TransferDeadline | undefined {
    return this.deadlines && new TransferDeadline(Date.now(), this.deadlines.lineMs);
  }

  private bodyDeadline(): TransferDeadline | undefined {
    return (
      this.deadlines && new TransferDeadline(Date.now(), this.timeoutMs(), this.deadlines.minBytesPerSecond)
    );
  }

  private async fill(transfer?: TransferDeadline): Promise<boolean> {
    let timeoutMs = this.timeoutMs();
    if (transfer) {
      const left = transfer.at - Date.now();
      if (left <= 0) throw new ReadTimeout(timeoutMs);
      timeoutMs = Math.min(timeoutMs, left);
    }
    const chunk = await this.source.read(timeoutMs);
    if (chunk === null) return false;
    transfer?.received(chunk.length, Date.now());
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    return true;
  }
}
