import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

/**
 * A raw line-oriented client for protocol tests: send exact bytes, read exact lines.
 * Certificates are not verified (test servers use self-signed ones).
 */
export class LineClient {
  private buffer = '';
  private waiter: (() => void) | undefined;
  private closed = false;

  private constructor(private socket: Socket) {
    this.attach(socket);
  }

  static async connect(
    port: number,
    options: { tls?: boolean; host?: string; localAddress?: string } = {},
  ): Promise<LineClient> {
    const host = options.host ?? '127.0.0.1';
    const socket: Socket = options.tls
      ? await new Promise<TLSSocket>((resolve, reject) => {
          const s = connectTls({ host, port, rejectUnauthorized: false, servername: 'localhost' }, () =>
            resolve(s),
          );
          s.once('error', reject);
        })
      : await new Promise<Socket>((resolve, reject) => {
          const s = connectTcp(
            { host, port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) },
            () => resolve(s),
          );
          s.once('error', reject);
        });
    return new LineClient(socket);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** One line without its CRLF; rejects when the server closes first or time runs out. */
  async readLine(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return line;
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      await this.wait(deadline - Date.now());
    }
  }

  /** An SMTP reply: lines until one whose fourth character is a space. */
  async readReply(timeoutMs = 10_000): Promise<{ code: number; lines: string[]; text: string }> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine(timeoutMs);
      lines.push(line);
      if (/^\d{3}( |$)/.test(line)) break;
    }
    return { code: Number(lines[lines.length - 1]!.slice(0, 3)), lines, text: lines.join('\n') };
  }

  /** Sends a command and returns the reply. */
  async command(line: string, timeoutMs?: number): Promise<{ code: number; lines: string[]; text: string }> {
    this.write(`${line}\r\n`);
    return this.readReply(timeoutMs);
  }

  /**
   * Sends an IMAP command line (it may carry LITERAL+ literals) and returns every line
   * up to and including the tagged completion; the tag is the line's first word.
   */
  async tagged(line: string, timeoutMs?: number): Promise<string[]> {
    const tag = line.split(' ', 1)[0];
    this.write(`${line}\r\n`);
    const lines: string[] = [];
    for (;;) {
      const l = await this.readLine(timeoutMs);
      lines.push(l);
      if (l.startsWith(`${tag} `)) return lines;
    }
  }

  /** Resolves when the server has closed the connection. */
  async closedByServer(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) await this.wait(deadline - Date.now());
  }

  /** Upgrades to TLS in place (after the server's go-ahead for STARTTLS). */
  async startTls(): Promise<void> {
    this.socket.removeAllListeners('data');
    const secured = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connectTls({ socket: this.socket, rejectUnauthorized: false, servername: 'localhost' }, () =>
        resolve(s),
      );
      s.once('error', reject);
    });
    this.socket = secured;
    this.buffer = '';
    this.attach(secured);
  }

  close(): void {
    this.socket.destroy();
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      this.waiter?.();
    });
    const onClose = () => {
      this.closed = true;
      this.waiter?.();
    };
    socket.on('close', onClose);
    socket.on('end', onClose);
    socket.on('error', onClose);
  }

  private wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.reject(new Error(`timed out; unread: ${JSON.stringify(this.buffer)}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`timed out; unread: ${JSON.stringify(this.buffer)}`));
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
    });
  }
}
