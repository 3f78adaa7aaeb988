import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLimits } from './connection-limits.js';
import { type ProtocolServer, type ProtocolSession, startProtocolServer } from './protocol-server.js';

// The socket side holds a session to the input deadline the session reports (issue 13,
// slow clients), however often bytes trickle in; the idle timeout (10 s here) would not.

/** A session whose one line must end within `lineMs` of its first byte. */
class LineSession implements ProtocolSession {
  lines: string[] = [];
  private partial = '';
  private startedAt: number | undefined;

  constructor(
    private readonly lineMs: number,
    private readonly standing?: number,
  ) {}

  async receive(chunk: Uint8Array): Promise<'continue'> {
    this.partial += Buffer.from(chunk).toString('latin1');
    this.startedAt ??= Date.now();
    let end = this.partial.indexOf('\n');
    while (end >= 0) {
      this.lines.push(this.partial.slice(0, end));
      this.partial = this.partial.slice(end + 1);
      this.startedAt = this.partial ? Date.now() : undefined;
      end = this.partial.indexOf('\n');
    }
    return 'continue';
  }

  tlsStarted(): void {}

  inputDeadline() {
    if (this.standing !== undefined) return { at: this.standing, goodbye: 'BYE login\r\n' };
    return this.startedAt === undefined
      ? undefined
      : { at: this.startedAt + this.lineMs, goodbye: 'BYE slow\r\n' };
  }
}

let server: ProtocolServer<'test'> | undefined;
afterEach(async () => {
  await server?.stop(undefined, { graceMs: 100 });
  server = undefined;
});

async function serve(session: () => ProtocolSession): Promise<number> {
  server = await startProtocolServer<'test'>({
    host: '127.0.0.1',
    listeners: [{ name: 'test', port: 0, implicitTls: false }],
    secureContext: undefined,
    idleTimeoutMs: 10_000,
    idleGoodbye: 'BYE idle\r\n',
    limits: new ConnectionLimits(10, 10),
    refusal: () => 'BYE full\r\n',
    open: () => ({ session: session(), closed: () => undefined }),
  });
  return server.ports.test!;
}

/** Connects; resolves with everything the server wrote once it closes, and when. */
async function client(
  port: number,
): Promise<{ socket: Socket; ended: Promise<{ text: string; at: number }> }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => socket.once('connect', resolve));
  let text = '';
  socket.on('data', (chunk) => {
    text += chunk.toString('latin1');
  });
  socket.on('error', () => undefined);
  const ended = new Promise<{ text: string; at: number }>((resolve) =>
    socket.once('close', () => resolve({ text, at: Date.now() })),
  );
  return { socket, ended };
}

describe('protocol server: input deadlines', () => {
  it('closes with the goodbye when a line trickles in past its deadline, every byte well within the idle timeout', async () => {
    const port = await serve(() => new LineSession(600));
    const { socket, ended } = await client(port);
    const started = Date.now();
    const drip = setInterval(() => socket.writable && socket.write('x'), 100);
    const { text, at } = await ended;
    clearInterval(drip);
    expect(text).toBe('BYE slow\r\n');
    expect(at - started).toBeGreaterThanOrEqual(600);
    // Long before the idle timeout (10 s), which each byte would have started again.
    expect(at - started).toBeLessThan(5_000);
  });

  it('leaves alone a client whose lines each end in time, however long it stays', async () => {
    let session: LineSession | undefined;
    const port = await serve(() => {
      session = new LineSession(600);
      return session;
    });
    const { socket, ended } = await client(port);
    for (let i = 0; i < 6; i++) {
      socket.write('ab');
      await new Promise((r) => setTimeout(r, 150));
      socket.write('c\n');
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(session!.lines).toEqual(Array(6).fill('abc'));
    socket.end();
    expect((await ended).text).toBe('');
  });

  it('holds a connection to a deadline that stands from the start, with no bytes at all', async () => {
    const port = await serve(() => new LineSession(600, Date.now() + 400));
    const { ended } = await client(port);
    expect((await ended).text).toBe('BYE login\r\n');
  });

  it('a draining server says its own farewell, not the deadline’s', async () => {
    const port = await serve(() => new LineSession(300));
    const { socket, ended } = await client(port);
    socket.write('partial');
    await new Promise((r) => setTimeout(r, 50));
    // The drain outlasts the line's deadline (300 ms from its first byte).
    const stopping = server!.stop(async (connection) => {
      await new Promise((r) => setTimeout(r, 400));
      await connection.send('BYE shutting down\r\n');
    });
    server = undefined;
    await stopping;
    expect((await ended).text).toBe('BYE shutting down\r\n');
  });
});

/** A session that writes its own goodbyes (as IMAP does once COMPRESS is on), here upper-cased, late. */
class EncodingSession extends LineSession {
  constructor(private readonly send: (chunk: string) => void | Promise<void>) {
    super(60_000, Date.now() + 300);
  }

  sayGoodbye(text: string): Promise<void> {
    return new Promise<void>((resolve) => setTimeout(resolve, 50)).then(() => this.send(text.toUpperCase()));
  }
}

describe('protocol server: goodbyes a session writes itself', () => {
  it('lets the session write the deadline goodbye, and closes only after it is written', async () => {
    server = await startProtocolServer<'test'>({
      host: '127.0.0.1',
      listeners: [{ name: 'test', port: 0, implicitTls: false }],
      secureContext: undefined,
      idleTimeoutMs: 10_000,
      idleGoodbye: 'BYE idle\r\n',
      limits: new ConnectionLimits(10, 10),
      refusal: () => 'BYE full\r\n',
      open: (connection) => ({
        session: new EncodingSession((chunk) => connection.send(chunk)),
        closed: () => undefined,
      }),
    });
    const { ended } = await client(server.ports.test!);
    expect((await ended).text).toBe('BYE LOGIN\r\n');
  });
});
