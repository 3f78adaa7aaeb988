import { connect as connectTcp, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy a test can cut and restore, to make a shared Postgres or NATS look
 * stopped to the code under test without stopping it for every other test file.
 */
export interface TcpProxy {
  readonly port: number;
  /** Drops every open connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  /**
   * Stops passing bytes one way (the connections stay open, the bytes wait in the proxy):
   * 'upstream' holds what clients send, 'downstream' what the server answers. A crash
   * test uses it to stop a client at an exact step (its request sent, the reply not yet
   * seen). release() passes what waited and all that follows.
   */
  hold(direction: 'upstream' | 'downstream'): void;
  release(): void;
  close(): Promise<void>;
}

export function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let cut = false;
  let held: 'upstream' | 'downstream' | undefined;
  const holdPair = (pair: { client: Socket; upstream: Socket }) => {
    if (held === 'upstream') pair.client.unpipe(pair.upstream).pause();
    if (held === 'downstream') pair.upstream.unpipe(pair.client).pause();
  };
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connectTcp(target);
    open.add(client);
    open.add(upstream);
    const pair = { client, upstream };
    pairs.add(pair);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      pairs.delete(pair);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    client.pipe(upstream);
    upstream.pipe(client);
    holdPair(pair);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        port,
        cut() {
          cut = true;
          for (const socket of open) socket.destroy();
          open.clear();
        },
        restore() {
          cut = false;
        },
        hold(direction) {
          if (held) throw new Error(`already holding ${held}`);
          held = direction;
          for (const pair of pairs) holdPair(pair);
        },
        release() {
          for (const { client, upstream } of pairs) {
            if (held === 'upstream') client.pipe(upstream);
            if (held === 'downstream') upstream.pipe(client);
          }
          held = undefined;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of open) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
