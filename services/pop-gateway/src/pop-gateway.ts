import { randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { MailBus } from '@tegami/bus';
import {
  type InputDeadlines,
  isStoreOutage,
  POP3_COMMAND_LABELS,
  Pop3Session,
  type VerifiedPasswordCache,
} from '@tegami/protocol';
import {
  type AbuseLimits,
  AbuseTracker,
  ConnectionLimits,
  createCommandMetrics,
  createErrorCounter,
  createTlsContextOptions,
  type Logger,
  logFailedLogin,
  logThrottledLogin,
  type ProxyPolicy,
  type ServedConnection,
  startProtocolServer,
  type TlsPolicy,
} from '@tegami/runtime';
import {
  type ActivityCounter,
  createActivityCounter,
  expungeMessages,
  grantPopBeforeSmtp,
  type LegacySaslPolicy,
  type LoginClock,
  LoginThrottle,
  type LoginThrottlePolicy,
  listLocalDomains,
  lockAndOpenMaildrop,
  type Maildrop,
  messagesGone,
  readMessageBytes,
  recordPopLogin,
  refreshedLocalDomains,
  releaseMaildropLock,
  renewMaildropLock,
  saslLogins,
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
  /** PROXY protocol behind a load balancer (TEGAMI_PROXY_PROTOCOL); off when absent. */
  readonly proxy?: ProxyPolicy;
  readonly host: string;
  /** 0 picks a free port; undefined: no such listener. */
  readonly popPort: number | undefined;
  readonly popsPort: number | undefined;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** Ciphers and oldest version of STLS/STARTTLS and the implicit-TLS port (TEGAMI_TLS_*); the default policy when absent. */
  readonly tlsPolicy?: TlsPolicy;
  readonly idleTimeoutMs: number;
  /** Slow clients: deadlines for a command line and for logging in; none when absent. */
  readonly deadlines?: InputDeadlines;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly allowPlaintextAuth: boolean;
  /**
   * CRAM-MD5 and DIGEST-MD5 on (with the key that opens their sealed secrets) or off
   * (TEGAMI_SASL_LEGACY_MECHANISMS, TEGAMI_SECRETS_KEY_FILE); off when absent.
   */
  readonly legacySasl?: LegacySaslPolicy;
  /** The verified-credential cache of this protocol's logins (TEGAMI_AUTH_CACHE_*); none when absent. */
  readonly passwordCache?: VerifiedPasswordCache | undefined;
  /** POP-before-SMTP grant length; undefined: off. */
  readonly popBeforeSmtpTtlMs?: number | undefined;
  /** RFC 2449 LOGIN-DELAY between two logins of one account; undefined: none. */
  readonly loginDelayMs?: number | undefined;
  /** Failed logins per client address, across its connections (the SMTP defaults). */
  readonly abuseLimits?: AbuseLimits;
  /** Failed logins per account, across addresses and replicas (TEGAMI_AUTH_FAILURE_DELAY_MAX). */
  readonly loginThrottle?: LoginThrottlePolicy;
  /** The login delay's clock (tests watch the waits through it). */
  readonly loginClock?: LoginClock;
  /**
   * Where logins are counted for the admin dashboard: the standalone's, shared by its services
   * (it stops it). Absent: one of the gateway's own, stopped with it.
   */
  readonly activity?: ActivityCounter;
}

export interface PopGateway {
  readonly ports: { readonly pop?: number; readonly pops?: number };
  stop(): Promise<void>;
}

const LOCK_LEASE_MS = 30_000;

/** Commands counted by name in metrics: the protocol's command table, INVALID and OTHER. */
const POP3_COMMANDS = new Set<string>(POP3_COMMAND_LABELS);

export async function startPopGateway(deps: PopGatewayDeps): Promise<PopGateway> {
  const limits = new ConnectionLimits(deps.maxConnections, deps.maxConnectionsPerIp);
  // Shared by every connection of this process: a guesser gains nothing by reconnecting.
  const abuse = new AbuseTracker(deps.abuseLimits);
  // Shared through Postgres with every replica and with SMTP AUTH and IMAP.
  const throttle = new LoginThrottle(deps.pool, deps.loginThrottle, deps.loginClock);
  const sweeping = throttle.startSweeping((err) =>
    deps.logger.warn({ err }, 'could not sweep the login failure records'),
  );
  const activity =
    deps.activity ??
    createActivityCounter(deps.pool, {
      onError: (err) => deps.logger.warn({ err }, 'could not write the login counts; kept for the next try'),
    });
  const secureContext: SecureContext | undefined = deps.tls
    ? createSecureContext(createTlsContextOptions(deps.tls, deps.tlsPolicy))
    : undefined;
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
    commands: createCommandMetrics(deps.metrics, 'pop', POP3_COMMANDS),
    errors: createErrorCounter(deps.metrics),
  };
  // DIGEST-MD5's realms; a store not answering at start is no reason not to serve.
  const realms = refreshedLocalDomains(deps.pool, await listLocalDomains(deps.pool).catch(() => []), 60_000);
  const { mechanisms, lookupCredentials } = saslLogins(deps.pool, deps.legacySasl, deps.logger, {
    cache: deps.passwordCache,
  });

  const open = (connection: ServedConnection<'pop' | 'pops'>) => {
    const { listener, address, loopback, send } = connection;
    metrics.connections.inc({ listener });
    metrics.active.inc();
    const sessionId = randomBytes(8).toString('hex');
    const logins = throttle.forClient(address, {
      refused: (user) => logThrottledLogin(deps.logger, { client: address, protocol: 'pop3', user }),
      error: (err) => deps.logger.warn({ err }, 'could not record a login attempt'),
    });
    let maildrop: Maildrop | undefined;
    let reader: MaildropReader | undefined;
    let locked: { accountId: string; renew: NodeJS.Timeout } | undefined;
    let ended = false;

    const releaseLock = (): Promise<void> => {
      if (!locked) return Promise.resolve();
      clearInterval(locked.renew);
      const { accountId } = locked;
      locked = undefined;
      return releaseMaildropLock(deps.pool, accountId, sessionId).catch(() => undefined);
    };
    const session = new Pop3Session(
      {
        hostname: deps.hostname,
        tls: listener === 'pops' ? 'active' : secureContext ? 'starttls' : 'unavailable',
        plaintextAllowed: deps.allowPlaintextAuth || loopback,
        realms: realms.current,
        saslMechanisms: mechanisms,
        ...(deps.loginDelayMs !== undefined && { loginDelaySeconds: Math.ceil(deps.loginDelayMs / 1000) }),
        ...(deps.deadlines && { deadlines: deps.deadlines }),
      },
      {
        lookupCredentials: logins.guard(lookupCredentials),
        async openMaildrop(identity) {
          logins.succeeded();
          try {
            // The lock and the snapshot in one round trip (the login's statements: the
            // throttle's, the credential lookup, this; then the RETRs' batched reads).
            const opened = await lockAndOpenMaildrop(deps.pool, identity.accountId, sessionId, LOCK_LEASE_MS);
            if (opened === 'in-use') {
              metrics.logins.inc({ result: 'in-use' });
              return 'in-use';
            }
            if (ended) {
              // The connection closed (idle timeout, client gone) while the lock was being
              // taken: closed() found nothing to release, so it is let go here, or its
              // renewal would hold the maildrop for good.
              await releaseMaildropLock(deps.pool, identity.accountId, sessionId).catch(() => undefined);
              return 'temp';
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
              await releaseLock();
              return 'too-soon';
            }
            maildrop = opened;
            if (!maildrop) return 'temp';
            const mailboxId = maildrop.mailboxId;
            reader = new MaildropReader(maildrop.messages, (uids) =>
              readMessageBytes(deps.pool, mailboxId, uids),
            );
            return maildrop.messages.map((m) => ({ uid: `${maildrop!.uidValidity}.${m.uid}`, size: m.size }));
          } catch (err) {
            metrics.errors.inc({ kind: 'storage' });
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
          try {
            if (indexes.length === 0 || !maildrop) return;
            const uids = indexes.map((i) => maildrop!.messages[i]!.uid);
            let removed: number[];
            try {
              removed = await expungeMessages(deps.pool, maildrop.mailboxId, uids);
            } catch (err) {
              // Its answer may be what was lost (Postgres restarting): if the messages are
              // gone, they were removed, and QUIT must say +OK (the chaos run found a -ERR
              // after a deletion that had happened).
              if (!isStoreOutage(err) || !(await messagesGone(deps.pool, maildrop.mailboxId, uids)))
                throw err;
              removed = uids;
            }
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
          } finally {
            // The login's outcome is on record by QUIT's answer (it is written after the
            // login's answer, not before): a client back at once is a known address.
            await logins.settled();
            // Released before QUIT's +OK (RFC 1939 §6), not after the socket closes: a
            // client that logs in again at once must not find its own maildrop in use.
            await releaseLock();
          }
        },
        async authFailed(mechanism) {
          metrics.logins.inc({ result: 'failed' });
          activity.login('pop3', 'failed');
          const failure = logins.failed();
          if (failure)
            logFailedLogin(deps.logger, { client: address, protocol: 'pop3', mechanism, ...failure });
          // A guesser waits longer for every answer, and is shown the door after a few.
          const penalty = abuse.penalise(address, 'auth');
          await new Promise((r) => setTimeout(r, penalty.delayMs));
          if (penalty.disconnect) {
            setImmediate(() => connection.end('-ERR [AUTH] too many failed logins, try later\r\n'));
          }
        },
        commandDone: (verb, status, seconds) => metrics.commands.observe(verb, status, seconds),
        authSucceeded(identity) {
          abuse.forgiveAuth(address);
          metrics.logins.inc({ result: 'ok' });
          activity.login('pop3', 'ok');
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

    session.greeting();
    return {
      session,
      closed() {
        ended = true;
        void releaseLock();
        metrics.active.dec();
      },
    };
  };

  const server = await startProtocolServer<'pop' | 'pops'>({
    host: deps.host,
    listeners: [
      { name: 'pop', port: deps.popPort, implicitTls: false },
      { name: 'pops', port: secureContext ? deps.popsPort : undefined, implicitTls: true },
    ],
    secureContext,
    idleTimeoutMs: deps.idleTimeoutMs,
    idleGoodbye: '-ERR autologout: idle too long\r\n',
    limits,
    ...(deps.proxy && { proxy: deps.proxy }),
    refusal: (slot) =>
      `-ERR [SYS/TEMP] too many connections${slot === 'per-address' ? ' from your address' : ''}, try again later\r\n`,
    open,
  });
  if (deps.popsPort !== undefined && !secureContext)
    deps.logger.warn('no TLS certificate: POP3S listener not started');

  return {
    ports: server.ports,
    async stop() {
      realms.stop();
      sweeping.stop();
      // Sessions end without QUIT: their deletions are not applied (RFC 1939 §6).
      await server.stop();
      // The last counts, while the pool is still open.
      if (activity !== deps.activity) await activity.stop();
    },
  };
}
