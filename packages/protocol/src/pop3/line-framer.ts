// Frames what a POP3 client sends into command lines (RFC 1939 §3: CRLF-terminated). A
// bare LF also ends a line, as most servers accept; a bare CR is part of the line. The
// framer keeps at most one line's worth of bytes: a line over the limit is dropped as it
// arrives and reported once its end comes, so the next command is framed correctly.

import type { InputProgress } from '../input-deadline.js';

const CR = 0x0d;
const LF = 0x0a;

export type Pop3Frame = { readonly kind: 'line'; readonly line: Buffer } | { readonly kind: 'too-long' };

export class Pop3LineFramer {
  private buffer: Buffer = Buffer.alloc(0);
  private tooLong = false;
  /** Lines framed so far: tells one unfinished line from the next. */
  private lines = 0;

  /** Bytes received but not yet framed: after STLS, any are a plaintext injection. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Part of a line received and its end not yet, as of the last next(): for the line deadline. */
  get progress(): InputProgress | undefined {
    return this.buffer.length > 0 || this.tooLong ? { kind: 'line', unit: this.lines } : undefined;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.buffer = this.buffer.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.buffer, bytes]);
  }

  /**
   * The next line without its line end, or undefined until more bytes arrive. `maxBytes`
   * counts the line end too (RFC 2449 §4: "255 octets, including the terminating CRLF").
   */
  next(maxBytes: number): Pop3Frame | undefined {
    const lf = this.buffer.indexOf(LF);
    if (lf < 0) {
      if (this.buffer.length > maxBytes) {
        // Keep only a possible trailing CR: its LF may come in the next chunk.
        this.tooLong = true;
        this.buffer = Buffer.from(this.buffer.subarray(this.buffer.length - 1));
      }
      return undefined;
    }
    const consumed = lf + 1;
    const end = lf > 0 && this.buffer[lf - 1] === CR ? lf - 1 : lf;
    const frame: Pop3Frame =
      this.tooLong || consumed > maxBytes
        ? { kind: 'too-long' }
        : { kind: 'line', line: Buffer.from(this.buffer.subarray(0, end)) };
    this.tooLong = false;
    this.lines++;
    this.buffer = this.buffer.subarray(consumed);
    return frame;
  }

  /** Forgets what is buffered; returns how many bytes that was. */
  discardBuffered(): number {
    const discarded = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    this.tooLong = false;
    return discarded;
  }
}
