import { connect, type Socket } from 'node:net';

// A line reader for the chaos clients. The servers are killed at any moment, so every
// failure (refused, reset, half a reply, silence) surfaces as a rejected read the loop
// catches, never as an 'error' event nobody listens to or an unhandled rejection.

/** The connection is gone or the peer fell silent; what was sent may or may not have happened. */
export class WireLost extends Error {}

export class Wire {
  /** latin1, so a line's bytes survive unchanged whatever they are. */
  private buffer = '';
  private position = 0;
  private closed = false;
  private wake: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.wake?.();
    });
    const onGone = () => {
      this.closed = true;
      this.wake?.();
    };
    socket.on('error', onGone);
    socket.on('end', onGone);
    socket.on('close', onGone);
  }

  static connect(host: string, port: number, timeoutMs: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      // A cut network leaves the SYN unanswered rather than refused.
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new WireLost(`connect to ${port} timed out`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new WireLost(`connect to ${port}: ${error.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new Wire(socket));
      });
    });
  }

  write(data: string): void {
    if (!this.closed) this.socket.write(Buffer.from(data, 'latin1'));
  }

  /** One line without its CRLF. */
  async readLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf('\r\n', this.position);
      if (end >= 0) {
        const line = this.buffer.slice(this.position, end);
        this.position = end + 2;
        return line;
      }
      // Dropping consumed text only when waiting keeps a long RETR from copying the rest per line.
      this.buffer = this.buffer.slice(this.position);
      this.position = 0;
      if (this.closed)
        throw new WireLost(`connection lost; unread: ${JSON.stringify(this.buffer.slice(0, 200))}`);
      await this.waitForData(deadline - Date.now());
    }
  }

  /** An SMTP reply (RFC 5321 §4.2): lines until one whose code is followed by a space or nothing. */
  async readSmtpReply(timeoutMs: number): Promise<SmtpReply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine(timeoutMs);
      lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) return { code: Number(line.slice(0, 3)), text: lines.join(' / ') };
      if (!/^\d{3}-/.test(line)) throw new WireLost(`not an SMTP reply: ${JSON.stringify(line)}`);
    }
  }

  /** A POP3 multi-line body (RFC 1939 §3) after its +OK: lines up to the lone dot, unstuffed. */
  async readPopLines(timeoutMs: number): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine(timeoutMs);
      if (line === '.') return lines;
      lines.push(line.startsWith('.') ? line.slice(1) : line);
    }
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private waitForData(ms: number): Promise<void> {
    if (ms <= 0) return Promise.reject(new WireLost('timed out waiting for a reply'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new WireLost('timed out waiting for a reply'));
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

export interface SmtpReply {
  readonly code: number;
  readonly text: string;
}

export const REPLY_TIMEOUT_MS = 30_000;

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
