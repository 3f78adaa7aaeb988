import { createServer } from 'node:net';

// Ports handed out by this process: the kernel may give the same free port to two binds in
// a row, and a test that asks for two ports (a service's ops and gRPC ports) must not get
// one port twice (seen in CI: dns-resolver's gRPC port and its ops port the same,
// EADDRINUSE).
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago and not handed out before by this process (tests bind loopback only). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await boundAndReleased();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port that was not handed out already');
}

function boundAndReleased(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
