import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';

// The client's side of COMPRESS=DEFLATE (RFC 4978) for tests: one raw DEFLATE stream each
// way, kept across calls as a real client keeps them, flushed after every message it sends.

export class DeflatePeer {
  private readonly deflater: DeflateRaw = createDeflateRaw();
  private readonly inflater: InflateRaw = createInflateRaw();
  private readonly compressed: Buffer[] = [];
  private readonly plain: Buffer[] = [];

  constructor() {
    this.deflater.on('data', (out: Buffer) => this.compressed.push(out));
    this.inflater.on('data', (out: Buffer) => this.plain.push(out));
  }

  /** What the client sends for `text` (latin1 for strings: one character per octet). */
  async compress(text: string | Uint8Array): Promise<Buffer> {
    this.deflater.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
    await new Promise<void>((resolve) => this.deflater.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    return Buffer.concat(this.compressed.splice(0));
  }

  /** What the server's compressed octets say, latin1. */
  async decompress(bytes: Uint8Array): Promise<string> {
    if (bytes.length > 0) {
      this.inflater.write(bytes);
      await new Promise<void>((resolve, reject) => {
        this.inflater.once('error', reject);
        this.inflater.flush(constants.Z_SYNC_FLUSH, () => {
          this.inflater.off('error', reject);
          resolve();
        });
      });
    }
    return Buffer.concat(this.plain.splice(0)).toString('latin1');
  }

  close(): void {
    this.deflater.destroy();
    this.inflater.destroy();
  }
}
