import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { type MtaStsPolicy, mtaStsPolicyId, renderMtaStsPolicy } from '@tegami/protocol';
import type { Logger } from '@tegami/runtime';

// The policy host of our own domains (RFC 8461 §3.3): https://mta-sts.<domain>/.well-known/
// mta-sts.txt answers the policy that describes our MX hosts. It lives in smtp-ingress, beside
// the MX it speaks for, and answers that one path for that one host name per local domain:
// anything else is 404, so it serves nothing a sender did not come for.

export interface MtaStsHostDeps {
  readonly host: string;
  readonly port: number;
  readonly policy: MtaStsPolicy;
  /** The local domains, lower case (read from the store, refreshed by the caller). */
  readonly localDomains: () => Promise<readonly string[]>;
  /** HTTPS with this certificate; undefined: plain HTTP behind a proxy that does TLS. */
  readonly tls?: SecureContextOptions | undefined;
  readonly logger: Logger;
}

export interface MtaStsHost {
  readonly port: number;
  /** The policy file as served, and the id its TXT record carries. */
  readonly policyText: string;
  readonly policyId: string;
  stop(): Promise<void>;
}

const PATH = '/.well-known/mta-sts.txt';
// A policy host answers a few small requests now and then: these bound what one client holds.
const MAX_CONNECTIONS = 256;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_HEADER_BYTES = 8192;

export async function startMtaStsHost(deps: MtaStsHostDeps): Promise<MtaStsHost> {
  const policyText = renderMtaStsPolicy(deps.policy);
  const policyId = mtaStsPolicyId(policyText);
  const body = Buffer.from(policyText, 'utf8');

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, text: string) => {
      res.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    const wanted = (req.method === 'GET' || req.method === 'HEAD') && req.url === PATH;
    const domain = policyDomainOf(req.headers.host);
    if (!wanted || !domain) return reply(404, 'not found\n');
    deps.localDomains().then(
      (domains) => {
        if (!domains.includes(domain)) return reply(404, 'not found\n');
        res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': body.length,
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        deps.logger.warn({ err }, 'MTA-STS policy host: could not read the local domains');
        reply(503, 'try again later\n');
      },
    );
  };

  const options = {
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: REQUEST_TIMEOUT_MS,
  };
  const server: Server = deps.tls
    ? createHttpsServer({ ...deps.tls, ...options }, answer)
    : createHttpServer(options, answer);
  server.maxConnections = MAX_CONNECTIONS;
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A failed handshake or a garbled request is the client's problem, not the service's.
  server.on('tlsClientError', () => undefined);
  server.on('clientError', (_err, socket: Socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  deps.logger.info(
    { port, https: Boolean(deps.tls), mode: deps.policy.mode, mx: deps.policy.mx, policyId },
    'MTA-STS policy host listening',
  );
  return {
    port,
    policyText,
    policyId,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** `mta-sts.example.com[:port]` → `example.com`; undefined for any other Host. */
function policyDomainOf(hostHeader: string | undefined): string | undefined {
  const name = (hostHeader ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  return name.startsWith('mta-sts.') && name.length > 'mta-sts.'.length
    ? name.slice('mta-sts.'.length)
    : undefined;
}
