import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import type { MailBus } from '@tegami/bus';
import { Pop3Session, type SaslCredentials } from '@tegami/protocol';
import { type AbuseLimits, AbuseTracker, ConnectionLimits, type Logger } from '@tegami/runtime';
import {
  acquireMaildropLock,
  expungeMessages,
  findAuthSecrets,
  getBlobs,
  grantPopBeforeSmtp,
  listLocalDomains,
  type Maildrop,
  openMaildrop,
  recordPopLogin,
  releaseMaildropLock,
  renewMaildropLock,
} from '@tegami/store';
import type pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import { MaildropReader } from './maildrop-reader.js';

// The POP3 service (RFC 1939): the session engine is packages/protocol/pop3; this owns
// the sockets, TLS, the maildrop lock across replicas, and the store.

export interface PopGatewayDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly hostname: string;
  readonly host: string;
  /** 0 picks a free port; undefined: no such listener. */
  readonly popPort: number | undefined;
  readonly popsPort: number | undefined;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly allowPlaintextAuth: boolean;
  /** POP-before-SMTP grant length; undefined: off. */
  readonly popBeforeSmtpTtlMs?: number | undefined;
  /** RFC 2449 LOGIN-DELAY between two logins of one account; undefined: none. */
  readonly loginDelayMs?: number | undefined;
  /** Failed logins per client address, across its connections (the SMTP defaults). */
  readonly abuseLimits?: AbuseLimits;
}

export interface PopGateway {
  readonly ports: { readonly pop?: number; readonly pops?: number };
  stop(): Promise<void>;
}

const LOCK_LEASE_MS = 30_000;

export async function startPopGateway(deps: PopGatewayDeps): Promise<PopGateway> {
  const limits = new ConnectionLimits(deps.maxConnections, deps.maxConnectionsPerIp);
  // Shared by every connection of this process: a guesser gains nothing by reconnecting.
  const abuse = new AbuseTracker(deps.abuseLimits);
  const secureContext: SecureContext | undefined = deps.tls ? createSecureContext(deps.tls) : undefined;
  const registers = [deps.metrics];
  const metrics = {
    connections: new Counter({
      name: 'tegami_pop_connections_total',
      help: 'POP3 connections accepted, by listener',
      labelNames: ['listener'] as const,
      registers,
    }),
    active: new Gauge({
      name: 'tegami_pop_connections_active',
      help: 'POP3 connections open now',
      registers,
    }),
    logins: new Counter({
      name: 'tegami_pop_logins_total',
      help: 'POP3 logins, by result (ok, failed, in-use, too-soon)',
      labelNames: ['result'] as const,
      registers,
    }),
    retrieved: new Counter({
      name: 'tegami_pop_messages_retrieved_total',
      help: 'Messages sent by RETR',
      registers,
    }),
    deleted: new Counter({
      name: 'tegami_pop_messages_deleted_total',
      help: 'Messages removed at QUIT',
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

  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const ports: { pop?: number; pops?: number } = {};

  const serve = (listener: 'pop' | 'pops', raw: Socket) => {
    raw.on('error', () => undefined);
    const address = (raw.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    const slot = limits.acquire(address);
    if (slot !== 'ok') {
      raw.end(
        `-ERR [SYS/TEMP] too many connections${slot === 'per-address' ? ' from your address' : ''}, try again later\r\n`,
      );
      setTimeout(() => raw.destroy(), 2_000).unref();
      return;
    }
    metrics.connections.inc({ listener });
    metrics.active.inc();
    sockets.add(raw);
    raw.setNoDelay(true);
    let socket: Socket = listener === 'pops' ? new TLSSocket(raw, { isServer: true, secureContext }) : raw;
    socket.on('error', () => undefined);
    const sessionId = randomBytes(8).toString('hex');
    let maildrop: Maildrop | undefined;
    let reader: MaildropReader | undefined;
    let locked: { accountId: string; renew: NodeJS.Timeout } | undefined;
    const loopback = address === '::1' || address.startsWith('127.');

    // A full socket holds the session back until it drains (a large RETR is streamed in
    // chunks); a corked one is flushed first, or it would never drain.
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
    const releaseLock = () => {
      if (!locked) return;
      clearInterval(locked.renew);
      void releaseMaildropLock(deps.pool, locked.accountId, sessionId).catch(() => undefined);
      locked = undefined;
    };
    const session = new Pop3Session(
      {
        hostname: deps.hostname,
        tls: listener === 'pops' ? 'active' : secureContext ? 'starttls' : 'unavailable',
        plaintextAllowed: deps.allowPlaintextAuth || loopback,
        realms: () => realms,
        ...(deps.loginDelayMs !== undefined && { loginDelaySeconds: Math.ceil(deps.loginDelayMs / 1000) }),
      },
      {
        lookupCredentials,
        async openMaildrop(identity) {
          try {
            if (!(await acquireMaildropLock(deps.pool, identity.accountId, sessionId, LOCK_LEASE_MS))) {
              metrics.logins.inc({ result: 'in-use' });
              return 'in-use';
            }
            const renew = setInterval(() => {
              renewMaildropLock(deps.pool, identity.accountId, sessionId, LOCK_LEASE_MS).catch(
                () => undefined,
              );
            }, LOCK_LEASE_MS / 3);
            locked = { accountId: identity.accountId, renew };
            if (
              deps.loginDelayMs !== undefined &&
              !(await recordPopLogin(deps.pool, identity.accountId, deps.loginDelayMs))
            ) {
              metrics.logins.inc({ result: 'too-soon' });
              releaseLock();
              return 'too-soon';
            }
            maildrop = await openMaildrop(deps.pool, identity.accountId);
            if (!maildrop) return 'temp';
            reader = new MaildropReader(maildrop.messages, (shas) => getBlobs(deps.pool, shas));
            return maildrop.messages.map((m) => ({ uid: `${maildrop!.uidValidity}.${m.uid}`, size: m.size }));
          } catch (err) {
            deps.logger.warn({ err }, 'could not open a maildrop');
            return 'temp';
          }
        },
        async readMessage(index) {
          const data = await reader!.read(index);
          metrics.retrieved.inc();
          return data;
        },
        async commitDeletions(indexes) {
          if (indexes.length === 0 || !maildrop) return;
          const uids = indexes.map((i) => maildrop!.messages[i]!.uid);
          const removed = await expungeMessages(deps.pool, maildrop.mailboxId, uids);
          metrics.deleted.inc(removed.length);
          if (removed.length > 0 && locked) {
            // IMAP sessions of this user learn of it; at most once, they re-read Postgres.
            await deps.bus
              .publishMailboxChanged({
                accountId: locked.accountId,
                mailboxId: maildrop.mailboxId,
                kind: 'expunge',
                uids: removed,
              })
              .catch(() => undefined);
          }
        },
        async authFailed() {
          metrics.logins.inc({ result: 'failed' });
          // A guesser waits longer for every answer, and is shown the door after a few.
          const penalty = abuse.penalise(address, 'auth');
          await new Promise((r) => setTimeout(r, penalty.delayMs));
          if (penalty.disconnect) {
            setImmediate(() => socket.end('-ERR [AUTH] too many failed logins, try later\r\n'));
          }
        },
        authSucceeded(identity) {
          abuse.forgiveAuth(address);
          metrics.logins.inc({ result: 'ok' });
          deps.logger.info({ session: sessionId, client: address, user: identity.address }, 'POP3 login');
          if (deps.popBeforeSmtpTtlMs !== undefined) {
            grantPopBeforeSmtp(deps.pool, address, deps.popBeforeSmtpTtlMs).catch((err) =>
              deps.logger.warn({ err }, 'could not record the POP-before-SMTP grant'),
            );
          }
        },
      },
      send,
    );

    let closed = false;
    const finish = () => {
      if (closed) return;
      closed = true;
      releaseLock();
      limits.release(address);
      metrics.active.dec();
      sockets.delete(raw);
    };
    raw.on('close', finish);

    // The engine frames lines and answers them strictly in order (PIPELINING). While input
    // waits for its turn the socket is paused, so a client that sends without reading
    // answers fills its own TCP window, not our memory.
    let pending = 0;
    const attach = (s: Socket) => {
      s.setTimeout(deps.idleTimeoutMs, () => {
        s.end('-ERR autologout: idle too long\r\n');
        setTimeout(() => raw.destroy(), 1_000).unref();
      });
      s.on('data', (chunk: Buffer) => {
        // One answer, one write: a status line and a small message body must not go as two
        // small segments, or Nagle's algorithm and the client's delayed ACK add ~40 ms.
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
      // Whatever the client pipelined after STLS was sent in clear: the engine drops it.
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

  const listen = (listener: 'pop' | 'pops', port: number) =>
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
  if (deps.popPort !== undefined) await listen('pop', deps.popPort);
  if (deps.popsPort !== undefined && secureContext) await listen('pops', deps.popsPort);
  else if (deps.popsPort !== undefined) deps.logger.warn('no TLS certificate: POP3S listener not started');

  return {
    ports,
    async stop() {
      clearInterval(refreshRealms);
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      for (const s of sockets) s.destroy();
    },
  };
}
