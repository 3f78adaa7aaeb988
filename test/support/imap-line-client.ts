import { connect, type Socket } from 'node:net';

// An IMAP client that keeps every line the server sends, asked for or not: what a test of
// unsolicited responses (IDLE, NOTIFY) needs, and what ImapTestClient, which reads
// responses one command at a time, does not give. Literals are not parsed: the tests that
// use it send and expect none in responses.

export class ImapLineClient {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private tagCount = 0;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      let end = this.buffer.indexOf('\r\n');
      while (end >= 0) {
        this.lines.push(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 2);
        end = this.buffer.indexOf('\r\n');
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<ImapLineClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(s));
      s.once('error', reject);
    });
    const client = new ImapLineClient(socket);
    await client.waitFor((line) => line.startsWith('* OK') || line.startsWith('* PREAUTH'), 10_000);
    return client;
  }

  /** Writes the line with CRLF; returns its tag ("" when the line is not a command). */
  send(line: string, tagged = true): string {
    const tag = tagged ? `t${++this.tagCount}` : '';
    this.socket.write(`${tagged ? `${tag} ` : ''}${line}\r\n`);
    return tag;
  }

  /** A command and every line up to and with its tagged answer (the answer last). */
  async command(line: string, timeoutMs = 10_000): Promise<string[]> {
    const tag = this.send(line);
    const seen: string[] = [];
    await this.waitFor((l) => {
      seen.push(l);
      return l.startsWith(`${tag} `);
    }, timeoutMs);
    return seen;
  }

  /** Takes lines until one matches (inclusive); throws after timeoutMs with what came. */
  async waitFor(match: (line: string) => boolean, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const taken: string[] = [];
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        taken.push(line);
        if (match(line)) return taken;
        continue;
      }
      if (this.closed) throw new Error(`connection closed; got ${JSON.stringify(taken)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`not seen within ${timeoutMs} ms; got ${JSON.stringify(taken)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Every line that comes within `ms`. */
  async linesWithin(ms: number): Promise<string[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.lines.splice(0);
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
