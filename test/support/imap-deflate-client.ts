import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';

// An IMAP client that can turn on COMPRESS=DEFLATE (RFC 4978) by hand: after the tagged OK
// it writes through its own raw DEFLATE stream (flushed with Z_SYNC_FLUSH after each
// command, as clients do) and reads through a raw inflater. Over plain TCP, after
// STARTTLS, or on implicit TLS. Counts the octets on the wire and the octets they carry,
// so a test can see that the server really compresses.

const CRLF = Buffer.from('\r\n');
const literalAtEnd = /~?\{(\d+)\+?\}$/;

export interface DeflateClientResponse {
  readonly tagged: string;
  /** Untagged responses without their final CRLF (literals included), latin1. */
  readonly untagged: string[];
}

export class ImapDeflateClient {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed = false;
  private deflater: DeflateRaw | undefined;
  private inflater: InflateRaw | undefined;
  private nextTag = 1;
  /** Octets read off the socket since COMPRESS, and the octets they inflated to. */
  wireIn = 0;
  plainIn = 0;
  greeting = '';

  private constructor(private socket: Socket) {
    this.listen(socket);
  }

  static async connect(port: number, tls = false): Promise<ImapDeflateClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s: Socket = tls
        ? connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s))
        : connectTcp({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const client = new ImapDeflateClient(socket);
    client.greeting = await client.readResponse();
    return client;
  }

  get compressing(): boolean {
    return this.deflater !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (this.inflater) {
        this.wireIn += chunk.length;
        this.inflater.write(chunk);
      } else this.received(chunk);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const over = () => {
        this.closed = true;
        this.wake();
      };
      // What the inflater still works on was sent before the close: read it first.
      if (this.inflater && !this.inflater.destroyed) this.inflater.flush(constants.Z_SYNC_FLUSH, over);
      else over();
    });
  }

  private received(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async more(deadline: number): Promise<void> {
    if (this.closed)
      throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('no response in time')),
        Math.max(0, deadline - Date.now()),
      );
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One response (literals read by count) without its final CRLF, latin1. */
  async readResponse(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let from = 0;
    for (;;) {
      const end = this.buffer.indexOf(CRLF, from);
      if (end < 0) {
        await this.more(deadline);
        continue;
      }
      const announced = literalAtEnd.exec(
        this.buffer.subarray(Math.max(0, end - 24), end).toString('latin1'),
      );
      if (announced) {
        const after = end + 2 + Number(announced[1]);
        if (this.buffer.length < after) {
          await this.more(deadline);
          continue;
        }
        from = after;
        continue;
      }
      const response = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 2);
      return response;
    }
  }

  /** Sends octets, compressed once COMPRESS is on (and flushed, so the server sees them now). */
  async write(data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (!this.deflater) {
      this.socket.write(bytes);
      return;
    }
    this.deflater.write(bytes);
    await new Promise<void>((resolve) => this.deflater!.flush(constants.Z_SYNC_FLUSH, () => resolve()));
  }

  /** Raw octets on the wire, past the compressor (bad input, for tests). */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  tag(): string {
    return `C${String(this.nextTag++).padStart(3, '0')}`;
  }

  async collect(tag: string): Promise<DeflateClientResponse> {
    const untagged: string[] = [];
    for (;;) {
      const response = await this.readResponse();
      if (response.startsWith(`${tag} `)) return { tagged: response, untagged };
      if (response.startsWith('* ') || response.startsWith('+')) untagged.push(response);
      else throw new Error(`unexpected response waiting for ${tag}: ${response}`);
    }
  }

  async command(text: string): Promise<DeflateClientResponse> {
    const tag = this.tag();
    await this.write(`${tag} ${text}\r\n`);
    return this.collect(tag);
  }

  /** COMPRESS DEFLATE; on OK, both directions are DEFLATE from the next octet on. */
  async compress(): Promise<DeflateClientResponse> {
    const tag = this.tag();
    await this.write(`${tag} COMPRESS DEFLATE\r\n`);
    const answer = await this.collect(tag);
    if (!answer.tagged.startsWith(`${tag} OK`) || this.deflater) return answer;
    const inflater = createInflateRaw();
    inflater.on('data', (plain: Buffer) => {
      this.plainIn += plain.length;
      this.received(plain);
    });
    inflater.on('error', (err) => {
      this.received(Buffer.from(`* CLIENT-INFLATE-ERROR ${err.message}\r\n`));
    });
    const deflater = createDeflateRaw();
    deflater.on('data', (out: Buffer) => this.socket.write(out));
    // What came behind the OK is compressed already.
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    this.inflater = inflater;
    this.deflater = deflater;
    if (rest.length > 0) {
      this.wireIn += rest.length;
      inflater.write(rest);
    }
    return answer;
  }

  /** STARTTLS and the handshake (any certificate accepted: a test's own). */
  async startTls(): Promise<DeflateClientResponse> {
    const answer = await this.command('STARTTLS');
    if (!/^\S+ OK/.test(answer.tagged)) return answer;
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure: TLSSocket = await new Promise((resolve, reject) => {
      const s = connectTls({ socket: this.socket, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
    return answer;
  }

  /** APPEND with a synchronising literal: waits for "+", then sends the message. */
  async append(mailbox: string, raw: Buffer): Promise<DeflateClientResponse> {
    const tag = this.tag();
    await this.write(`${tag} APPEND ${mailbox} {${raw.length}}\r\n`);
    const go = await this.readResponse();
    if (!go.startsWith('+')) return { tagged: go, untagged: [] };
    await this.write(Buffer.concat([raw, CRLF]));
    return this.collect(tag);
  }

  /** Waits until the socket closes. */
  async ended(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the server did not close the connection');
      await this.more(deadline).catch(() => undefined);
    }
  }

  close(): void {
    this.deflater?.destroy();
    this.inflater?.destroy();
    this.socket.destroy();
  }
}
