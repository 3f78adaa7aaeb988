import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import type { MailBus } from '@tegami/bus';
import { ImapSession, type SaslCredentials } from '@tegami/protocol';
import { type AbuseLimits, AbuseTracker, ConnectionLimits, type Logger } from '@tegami/runtime';
import { findAuthSecrets, listLocalDomains } from '@tegami/store';
import type pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import { MailboxWatchers } from './mailbox-watchers.js';
import { openPostgresAccount } from './postgres-account.js';

// The IMAP service: the engine is packages/protocol/imap; this owns the sockets, TLS,
// connection limits (per process, per address, per user), failed-login throttling, and
// the Postgres store behind the engine.

export interface ImapGatewayDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly hostname: string;
  readonly host: string;
  /** 0 picks a free port; undefined: no such listener. */
  readonly imapPort: number | undefined;
  readonly imapsPort: number | undefined;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerUser: number;
  readonly allowPlaintextAuth: boolean;
  readonly maxMessageSize: number;
  /** Commands per second per session (burst: ten seconds' worth); undefined: no limit. */
  readonly maxCommandsPerSecond?: number | undefined;
  readonly abuseLimits?: AbuseLimits;
}

export interface ImapGateway {
  readonly ports: { readonly imap?: number; readonly imaps?: number };
  /** Sessions open now. */
  readonly sessions: number;
  stop(): Promise<void>;
}

export async function startImapGateway(deps: ImapGatewayDeps): Promise<ImapGateway> {
  const limits = new ConnectionLimits(deps.maxConnections, deps.maxConnectionsPerIp);
  const abuse = new AbuseTracker(deps.abuseLimits);
  const watchers = new MailboxWatchers(deps.bus);
  const perUser = new Map<string, number>();
  const secureContext: SecureContext | undefined = deps.tls ? createSecureContext(deps.tls) : undefined;
  const registers = [deps.metrics];
  const metrics = {
    connections: new Counter({
      name: 'tegami_imap_connections_total',
      help: 'IMAP connections accepted, by listener',
      labelNames: ['listener'] as const,
      registers,
    }),
    active: new Gauge({
      name: 'tegami_imap_connections_active',
      help: 'IMAP connections open now',
      registers,
    }),
    logins: new Counter({
      name: 'tegami_imap_logins_total',
      help: 'IMAP logins, by result (ok, failed, too-many)',
      labelNames: ['result'] as const,
      registers,
    }),
  };
  let realms: readonly string[] = await listLocalDomains(deps.pool).catch(() => []);
  const refreshRealms = setInterval(() => {
    listLocalDomains(deps.pool).then(
      (r) => (realms = r),
      () => undefined,
    );
  }, 60_000);
  refreshRealms.unref();
  const lookupCredentials = async (username: string): Promise<SaslCredentials | undefined> => {
    const secrets = await findAuthSecrets(deps.pool, username);
    return secrets ? { ...secrets } : undefined;
  };

  const sessions = new Map<Socket, ImapSession>();
  const servers: Server[] = [];
  const ports: { imap?: number; imaps?: number } = {};

  const serve = (listener: 'imap' | 'imaps', raw: Socket) => {
    raw.on('error', () => undefined);
    const address = (raw.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    const slot = limits.acquire(address);
    if (slot !== 'ok') {
      raw.end(
        `* BYE [UNAVAILABLE] too many connections${slot === 'per-address' ? ' from your address' : ''}\r\n`,
      );
      setTimeout(() => raw.destroy(), 2_000).unref();
      return;
    }
    metrics.connections.inc({ listener });
    metrics.active.inc();
    raw.setNoDelay(true);
    let socket: Socket = listener === 'imaps' ? new TLSSocket(raw, { isServer: true, secureContext }) : raw;
    socket.on('error', () => undefined);
    const loopback = address === '::1' || address.startsWith('127.');
    let userSlot: string | undefined;

    const send = (chunk: string | Uint8Array): void | Promise<void> => {
      const s = socket;
      if (s.destroyed || s.write(chunk)) return;
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
    };
    const session = new ImapSession(
      {
        hostname: deps.hostname,
        tls: listener === 'imaps' ? 'active' : secureContext ? 'starttls' : 'unavailable',
        plaintextAllowed: deps.allowPlaintextAuth || loopback,
        realms: () => realms,
        maxMessageSize: deps.maxMessageSize,
        ...(deps.maxCommandsPerSecond !== undefined && {
          commandRate: { perSecond: deps.maxCommandsPerSecond, burst: deps.maxCommandsPerSecond * 10 },
        }),
      },
      {
        lookupCredentials,
        async openAccount(identity) {
          const count = perUser.get(identity.accountId) ?? 0;
          if (count >= deps.maxConnectionsPerUser) {
            metrics.logins.inc({ result: 'too-many' });
            return 'too-many';
          }
          perUser.set(identity.accountId, count + 1);
          userSlot = identity.accountId;
          return openPostgresAccount(
            { pool: deps.pool, bus: deps.bus, watchers },
            identity.accountId,
            identity.address,
          );
        },
        async authFailed() {
          metrics.logins.inc({ result: 'failed' });
          // A guesser waits longer for every answer, and is shown the door after a few.
          const penalty = abuse.penalise(address, 'auth');
          await new Promise((r) => setTimeout(r, penalty.delayMs));
          if (penalty.disconnect) {
            setImmediate(() => socket.end('* BYE too many failed logins, try later\r\n'));
          }
        },
        commandFailed(command, err) {
          deps.logger.warn({ err, command, client: address }, 'IMAP command failed');
        },
        authSucceeded(identity) {
          abuse.forgiveAuth(address);
          metrics.logins.inc({ result: 'ok' });
          deps.logger.info({ client: address, user: identity.address }, 'IMAP login');
        },
      },
      send,
    );
    sessions.set(raw, session);

    let closed = false;
    raw.on('close', () => {
      if (closed) return;
      closed = true;
      session.end();
      if (userSlot !== undefined) {
        const left = (perUser.get(userSlot) ?? 1) - 1;
        if (left <= 0) perUser.delete(userSlot);
        else perUser.set(userSlot, left);
      }
      limits.release(address);
      metrics.active.dec();
      sessions.delete(raw);
    });

    // Input is answered strictly in order; while it waits the socket is paused, so a client
    // that sends without reading fills its own TCP window, not our memory.
    let pending = 0;
    const attach = (s: Socket) => {
      s.setTimeout(deps.idleTimeoutMs, () => {
        s.end('* BYE autologout: idle for too long\r\n');
        setTimeout(() => raw.destroy(), 1_000).unref();
      });
      s.on('data', (chunk: Buffer) => {
        // One write per answer where possible (Nagle and delayed ACK, as in POP3).
        s.cork();
        if (++pending > 2) s.pause();
        void session
          .receive(chunk)
          .then((action) => {
            if (action === 'close') s.end();
            else if (action === 'starttls') startTls();
          })
          .finally(() => {
            if (--pending <= 2) s.resume();
            process.nextTick(() => s.uncork());
          });
      });
    };
    const startTls = () => {
      raw.removeAllListeners('data');
      raw.removeAllListeners('timeout');
      const secure = new TLSSocket(raw, { isServer: true, secureContext });
      secure.on('error', () => undefined);
      secure.on('secure', () => session.tlsStarted());
      socket = secure;
      attach(secure);
    };
    attach(socket);
    session.greeting();
  };

  const listen = (listener: 'imap' | 'imaps', port: number) =>
    new Promise<void>((resolve, reject) => {
      const server = createServer((s) => serve(listener, s));
      server.once('error', reject);
      server.listen(port, deps.host, () => {
        const bound = server.address();
        ports[listener] = typeof bound === 'object' && bound ? bound.port : port;
        servers.push(server);
        resolve();
      });
    });
  if (deps.imapPort !== undefined) await listen('imap', deps.imapPort);
  if (deps.imapsPort !== undefined && secureContext) await listen('imaps', deps.imapsPort);
  else if (deps.imapsPort !== undefined) deps.logger.warn('no TLS certificate: IMAPS listener not started');

  return {
    ports,
    get sessions() {
      return sessions.size;
    },
    async stop() {
      clearInterval(refreshRealms);
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      // RFC 9051 §7.1.5: BYE before the server closes the connection.
      await Promise.all(
        [...sessions].map(async ([raw, session]) => {
          await Promise.race([session.bye('server shutting down'), new Promise((r) => setTimeout(r, 500))]);
          raw.end();
          setTimeout(() => raw.destroy(), 1_000).unref();
        }),
      );
    },
  };
}
