import { createServer, type Server, type Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { ConnectionLimits } from './connection-limits.js';
import { acceptProxiedConnection, closeIfProxyHeader, NO_PROXY, type ProxyPolicy } from './proxy-protocol.js';

// The socket side that POP3 and IMAP share (SMTP has its own, older, reader): listeners
// with implicit TLS or STARTTLS, connection limits, an idle timeout, the engine's input
// deadlines, writes that wait for the socket to drain, and input handed to an I/O-free
// protocol session strictly in order.

/** What the protocol engines (Pop3Session, ImapSession) offer the socket side. */
export interface ProtocolSession {
  receive(chunk: Uint8Array): Promise<'continue' | 'close' | 'starttls'>;
  tlsStarted(): void;
  /**
   * When the client runs out of time for what it has begun to send or for logging in (a
   * Date.now reading), and what to write before closing then. The engine knows what is
   * unfinished; the server holds it to it, however slowly the bytes trickle in, where the
   * idle timeout starts again with every byte.
   */
  inputDeadline?(): { readonly at: number; readonly goodbye: string } | undefined;
  /**
   * Writes the server's goodbye (idle timeout, deadline, a refusal) itself when the session
   * transforms what it sends (IMAP COMPRESS=DEFLATE), resolving once it is written;
   * undefined: the server writes the text as it is.
   */
  sayGoodbye?(text: string): Promise<void> | undefined;
}

export interface ServedConnection<L extends string> {
  readonly listener: L;
  /** The client's address, IPv4-mapped IPv6 unwrapped. */
  readonly address: string;
  readonly loopback: boolean;
  /** Writes to the client; a promise when the socket is full (resolves once it drains or closes). */
  send(chunk: string | Uint8Array): void | Promise<void>;
  /** Says goodbye and closes (destroying the socket if the client does not close its end). */
  end(goodbye?: string): void;
}

export interface ProtocolServerOptions<L extends string> {
  readonly host: string;
  /** Each listener's port (0: any free one; undefined: not started) and whether TLS is implicit. */
  readonly listeners: readonly {
    readonly name: L;
    readonly port: number | undefined;
    readonly implicitTls: boolean;
  }[];
  readonly secureContext: SecureContext | undefined;
  readonly idleTimeoutMs: number;
  /** Written before an idle connection is closed, e.g. `* BYE autologout\r\n`. */
  readonly idleGoodbye: string;
  readonly limits: ConnectionLimits;
  /**
   * PROXY protocol (behind a load balancer): the client address comes from the header a
   * trusted peer sends; a header from anyone else closes the connection.
   */
  readonly proxy?: ProxyPolicy;
  /** Written to a connection over the limits before it is closed. */
  refusal(reason: 'total' | 'per-address'): string;
  /** A new connection (within the limits): its session, and what to do when it closes. */
  open(connection: ServedConnection<L>): { readonly session: ProtocolSession; closed(): void };
}

export interface ProtocolServer<L extends string> {
  readonly ports: Partial<Record<L, number>>;
  /** Connections open now. */
  readonly connections: number;
  /**
   * Drains: stops listening and reading, lets the command each connection is running
   * finish (up to `graceMs`, default 5 s) so what was acknowledged is answered, then lets
   * `farewell` write a last word (IMAP's BYE) and closes.
   */
  stop(
    farewell?: (connection: ServedConnection<L>) => Promise<void>,
    options?: { readonly graceMs?: number },
  ): Promise<void>;
}

/** Pending inputs past which a connection stops reading (the client fills its own TCP window). */
const MAX_PENDING_INPUTS = 2;

export async function startProtocolServer<L extends string>(
  options: ProtocolServerOptions<L>,
): Promise<ProtocolServer<L>> {
  const servers: Server[] = [];
  const ports: Partial<Record<L, number>> = {};
  const open = new Map<Socket, OpenConnection<L>>();
  // Connections still in their implicit-TLS handshake: not sessions yet, ended on stop().
  const handshaking = new Set<Socket>();
  let draining = false;

  const serve = async (listener: L, implicitTls: boolean, raw: Socket) => {
    raw.on('error', () => undefined);
    // The real client: what limits, throttles and logs use.
    const origin = await acceptProxiedConnection(raw, options.proxy ?? NO_PROXY);
    if (!origin || draining) {
      raw.destroy();
      return;
    }
    const { address } = origin;
    // An untrusted peer's PROXY header shows in its first bytes (on a TLS port the
    // handshake fails on it instead).
    let watchFirstChunk = options.proxy?.enabled === true && !origin.proxied && !implicitTls;
    const slot = options.limits.acquire(address);
    if (slot !== 'ok') {
      raw.end(options.refusal(slot));
      setTimeout(() => raw.destroy(), 2_000).unref();
      return;
    }
    raw.setNoDelay(true);
    let socket: Socket = raw;
    if (implicitTls) {
      // The session starts once the handshake is done: a greeting written before it would
      // turn a refused handshake (a cipher outside the policy) into a bare EOF for the
      // client instead of a TLS alert saying why.
      const secured = await implicitHandshake(raw, options.secureContext, handshaking);
      if (!secured || draining) {
        options.limits.release(address);
        raw.destroy();
        return;
      }
      socket = secured;
    }
    socket.on('error', () => undefined);
    let ending = false;
    // Set once open() returns: end() asks it how to write a goodbye.
    let served: ProtocolSession | undefined;
    const connection: ServedConnection<L> = {
      listener,
      address,
      loopback: address === '::1' || address.startsWith('127.'),
      send(chunk) {
        const s = socket;
        if (s.destroyed || s.write(chunk)) return;
        // A corked socket would never drain: flush it first.
        while (s.writableCorked) s.uncork();
        return new Promise<void>((resolve) => {
          const done = () => {
            s.off('drain', done);
            s.off('close', done);
            resolve();
          };
          s.on('drain', done);
          s.on('close', done);
        });
      },
      end(goodbye) {
        ending = true;
        const said = goodbye === undefined ? undefined : served?.sayGoodbye?.(goodbye);
        if (said) {
          const s = socket;
          void said.then(
            () => s.end(),
            () => s.end(),
          );
        } else if (goodbye !== undefined) socket.end(goodbye);
        else socket.end();
        // Nothing more is read: a flood behind a refused command costs no memory or work.
        socket.pause();
        setTimeout(() => raw.destroy(), 1_000).unref();
      },
    };
    const { session, closed } = options.open(connection);
    served = session;
    // The input the session is handling now; stop() waits for it before closing.
    let handling: Promise<unknown> = Promise.resolve();
    let finished = false;
    // The engine's input deadline, looked at again whenever it has read something.
    let deadlineTimer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const holdToDeadline = () => {
      clearTimeout(deadlineTimer);
      deadlineTimer = undefined;
      if (finished || draining || timedOut) return;
      const deadline = session.inputDeadline?.();
      if (!deadline) return;
      const wait = deadline.at - Date.now();
      if (wait > 0) {
        deadlineTimer = setTimeout(holdToDeadline, wait);
        return;
      }
      timedOut = true;
      connection.end(deadline.goodbye);
    };
    const entry: OpenConnection<L> = {
      connection,
      settled: () => handling,
      quiet: () => {
        // Draining: the shutdown says goodbye, not a deadline.
        clearTimeout(deadlineTimer);
        socket.pause();
      },
    };
    open.set(raw, entry);
    raw.on('close', () => {
      if (finished) return;
      finished = true;
      clearTimeout(deadlineTimer);
      options.limits.release(address);
      open.delete(raw);
      closed();
    });

    let pending = 0;
    const attach = (s: Socket) => {
      s.setTimeout(options.idleTimeoutMs, () => connection.end(options.idleGoodbye));
      s.on('data', (chunk: Buffer) => {
        if (watchFirstChunk) {
          watchFirstChunk = false;
          if (closeIfProxyHeader(chunk, raw)) return;
        }
        // One write per answer: a status line and a short body must not go as two small
        // segments, or Nagle's algorithm and the client's delayed ACK add ~40 ms.
        s.cork();
        if (++pending > MAX_PENDING_INPUTS) s.pause();
        const received = session.receive(chunk);
        handling = received.catch(() => undefined);
        void received
          .then((action) => {
            if (action === 'close') connection.end();
            else if (action === 'starttls') startTls();
          })
          .finally(() => {
            // A draining server reads nothing more: no new command starts.
            if (--pending <= MAX_PENDING_INPUTS && !draining && !ending) s.resume();
            process.nextTick(() => s.uncork());
            holdToDeadline();
          });
      });
    };
    const startTls = () => {
      // What the client pipelined behind STARTTLS/STLS came in clear: the engine drops it.
      raw.removeAllListeners('data');
      raw.removeAllListeners('timeout');
      const secure = new TLSSocket(raw, { isServer: true, secureContext: options.secureContext });
      secure.on('error', () => undefined);
      secure.on('secure', () => session.tlsStarted());
      socket = secure;
      attach(secure);
    };
    attach(socket);
    // The login deadline runs from here (after an implicit-TLS handshake, which has its own).
    holdToDeadline();
  };

  for (const { name, port, implicitTls } of options.listeners) {
    if (port === undefined) continue;
    await new Promise<void>((resolve, reject) => {
      // A failure while taking one connection is that connection's end, never the process's.
      const server = createServer((s) => serve(name, implicitTls, s).catch(() => s.destroy()));
      server.once('error', reject);
      server.listen(port, options.host, () => {
        const bound = server.address();
        ports[name] = typeof bound === 'object' && bound ? bound.port : port;
        servers.push(server);
        resolve();
      });
    });
  }

  return {
    ports,
    get connections() {
      return open.size;
    },
    async stop(farewell, stopOptions) {
      draining = true;
      // close() calls back only once every connection has ended, so it is awaited last.
      const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      for (const raw of handshaking) raw.destroy();
      const graceMs = stopOptions?.graceMs ?? 5_000;
      await Promise.all(
        [...open].map(async ([raw, { connection, settled, quiet }]) => {
          quiet();
          await within(settled(), graceMs);
          if (farewell) await within(farewell(connection), 500);
          raw.end();
          setTimeout(() => raw.destroy(), 1_000).unref();
        }),
      );
      await closed;
    },
  };
}

// As long as a client may take over its implicit-TLS handshake (the SMTP listener's too).
const HANDSHAKE_TIMEOUT_MS = 30_000;

/** The server side of an implicit-TLS handshake; null when it fails or takes too long. */
function implicitHandshake(
  raw: Socket,
  secureContext: SecureContext | undefined,
  handshaking: Set<Socket>,
): Promise<TLSSocket | null> {
  handshaking.add(raw);
  return new Promise<TLSSocket | null>((resolve) => {
    const secured = new TLSSocket(raw, { isServer: true, secureContext });
    const settle = (result: TLSSocket | null) => {
      clearTimeout(timer);
      handshaking.delete(raw);
      secured.off('close', failed);
      resolve(result);
    };
    const failed = () => settle(null);
    const timer = setTimeout(failed, HANDSHAKE_TIMEOUT_MS);
    secured.on('error', () => undefined);
    secured.once('secure', () => settle(secured));
    secured.once('close', failed);
  });
}

interface OpenConnection<L extends string> {
  readonly connection: ServedConnection<L>;
  /** Resolves when the session has handled all input it was given. */
  settled(): Promise<unknown>;
  /** Stops reading from the client. */
  quiet(): void;
}

function within(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
