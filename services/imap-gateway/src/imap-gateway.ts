import { createSecureContext, type SecureContext } from 'node:tls';
import type { MailBus } from '@tegami/bus';
import {
  IMAP_METRIC_LABELS,
  ImapSession,
  type InputDeadlines,
  SharedMailboxStates,
  type VerifiedPasswordCache,
} from '@tegami/protocol';
import type { RspamdClient } from '@tegami/rpc';
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
  type LegacySaslPolicy,
  type LoginClock,
  LoginThrottle,
  type LoginThrottlePolicy,
  listLocalDomains,
  refreshedLocalDomains,
  type SieveScriptLimits,
  saslLogins,
} from '@tegami/store';
import type pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import { MailboxIds } from './mailbox-ids.js';
import { MailboxWatchers } from './mailbox-watchers.js';
import { startManageSieveListener } from './managesieve-listener.js';
import { MessageFactsCache } from './message-facts-cache.js';
import { openPostgresAccount } from './postgres-account.js';
import { SpamLearning } from './spam-learning.js';

// The IMAP service: the engine is packages/protocol/imap; this owns the sockets, TLS,
// connection limits (per process, per address, per user), failed-login throttling, and
// the Postgres store behind the engine.

export interface ImapGatewayDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly hostname: string;
  /** PROXY protocol behind a load balancer (TEGAMI_PROXY_PROTOCOL); off when absent. */
  readonly proxy?: ProxyPolicy;
  readonly host: string;
  /** 0 picks a free port; undefined: no such listener. */
  readonly imapPort: number | undefined;
  readonly imapsPort: number | undefined;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** Ciphers and oldest version of STLS/STARTTLS and the implicit-TLS port (TEGAMI_TLS_*); the default policy when absent. */
  readonly tlsPolicy?: TlsPolicy;
  readonly idleTimeoutMs: number;
  /** Slow clients: deadlines for a command line, a literal and logging in; none when absent. */
  readonly deadlines?: InputDeadlines;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerUser: number;
  readonly allowPlaintextAuth: boolean;
  /**
   * CRAM-MD5 and DIGEST-MD5 on (with the key that opens their sealed secrets) or off
   * (TEGAMI_SASL_LEGACY_MECHANISMS, TEGAMI_SECRETS_KEY_FILE); off when absent.
   */
  readonly legacySasl?: LegacySaslPolicy;
  /** The verified-credential cache of this protocol's logins (TEGAMI_AUTH_CACHE_*); none when absent. */
  readonly passwordCache?: VerifiedPasswordCache | undefined;
  readonly maxMessageSize: number;
  /** Commands per second per session (burst: ten seconds' worth); undefined: no limit. */
  readonly maxCommandsPerSecond?: number | undefined;
  /** Bytes of messages' unchanging facts kept for FETCH (TEGAMI_IMAP_MESSAGE_CACHE_SIZE); 0 or absent: none. */
  readonly messageCacheBytes?: number;
  readonly abuseLimits?: AbuseLimits;
  /** Failed logins per account, across addresses and replicas (TEGAMI_AUTH_FAILURE_DELAY_MAX). */
  readonly loginThrottle?: LoginThrottlePolicy;
  /** The login delay's clock (tests watch the waits through it). */
  readonly loginClock?: LoginClock;
  /**
   * rspamd's controller, taught spam and ham as users file messages into and out of Junk
   * (TEGAMI_RSPAMD_CONTROLLER_URL); no learning when absent.
   */
  readonly rspamd?: Pick<RspamdClient, 'learn'>;
  /** ManageSieve (RFC 5804) on this port, on imapHost (TEGAMI_MANAGESIEVE_PORT); undefined: not started. */
  readonly managesievePort?: number | undefined;
  /** What each user may keep (TEGAMI_MANAGESIEVE_MAX_SCRIPTS, _MAX_SCRIPT_SIZE); 100 scripts of 1 MiB when absent. */
  readonly sieveScriptLimits?: SieveScriptLimits;
  /**
   * Where IMAP and ManageSieve logins are counted for the admin dashboard: the standalone's,
   * shared by its services (it stops it). Absent: one of the gateway's own, stopped with it.
   */
  readonly activity?: ActivityCounter;
}

/** Pigeonhole's sieve_max_script_size (1 MiB); its script count is unlimited, this is not. */
const DEFAULT_SIEVE_SCRIPT_LIMITS: SieveScriptLimits = { maxScripts: 100, maxBytes: 1024 * 1024 };

export interface ImapGateway {
  readonly ports: { readonly imap?: number; readonly imaps?: number; readonly managesieve?: number };
  /** Sessions open now. */
  readonly sessions: number;
  stop(): Promise<void>;
}

export async function startImapGateway(deps: ImapGatewayDeps): Promise<ImapGateway> {
  const limits = new ConnectionLimits(deps.maxConnections, deps.maxConnectionsPerIp);
  const abuse = new AbuseTracker(deps.abuseLimits);
  // Shared through Postgres with every replica and with SMTP AUTH and POP3.
  const throttle = new LoginThrottle(deps.pool, deps.loginThrottle, deps.loginClock);
  const sweeping = throttle.startSweeping((err) =>
    deps.logger.warn({ err }, 'could not sweep the login failure records'),
  );
  const activity =
    deps.activity ??
    createActivityCounter(deps.pool, {
      onError: (err) => deps.logger.warn({ err }, 'could not write the login counts; kept for the next try'),
    });
  const watchers = new MailboxWatchers(deps.bus);
  // Sessions on one mailbox hold one copy of its UIDs and flags while they agree.
  const states = new SharedMailboxStates();
  const mailboxIds = new MailboxIds();
  const facts = deps.messageCacheBytes ? new MessageFactsCache(deps.messageCacheBytes) : undefined;
  const learning = deps.rspamd
    ? new SpamLearning({ rspamd: deps.rspamd, pool: deps.pool, logger: deps.logger, metrics: deps.metrics })
    : undefined;
  const perUser = new Map<string, number>();
  const secureContext: SecureContext | undefined = deps.tls
    ? createSecureContext(createTlsContextOptions(deps.tls, deps.tlsPolicy))
    : undefined;
  const registers = [deps.metrics];
  if (facts) {
    // Read when scraped: the cache counts its own hits and misses.
    new Gauge({
      name: 'tegami_imap_message_cache_bytes',
      help: "Estimated bytes held by this process's cache of messages' unchanging facts (TEGAMI_IMAP_MESSAGE_CACHE_SIZE)",
      registers,
      collect() {
        this.set(facts.weight);
      },
    });
    new Gauge({
      name: 'tegami_imap_message_cache_lookups',
      help: 'Lookups in the message facts cache since the process started, by result (hit, miss)',
      labelNames: ['result'] as const,
      registers,
      collect() {
        this.set({ result: 'hit' }, facts.hits);
        this.set({ result: 'miss' }, facts.misses);
      },
    });
  }
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
    commands: createCommandMetrics(deps.metrics, 'imap', IMAP_METRIC_LABELS),
    errors: createErrorCounter(deps.metrics),
  };
  // DIGEST-MD5's realms; a store not answering at start is no reason not to serve.
  const realms = refreshedLocalDomains(deps.pool, await listLocalDomains(deps.pool).catch(() => []), 60_000);
  const { mechanisms, lookupCredentials } = saslLogins(deps.pool, deps.legacySasl, deps.logger, {
    cache: deps.passwordCache,
  });

  const sessions = new Map<ServedConnection<'imap' | 'imaps'>, ImapSession>();

  const open = (connection: ServedConnection<'imap' | 'imaps'>) => {
    const { listener, address, loopback, send } = connection;
    metrics.connections.inc({ listener });
    metrics.active.inc();
    let userSlot: string | undefined;
    const logins = throttle.forClient(address, {
      refused: (user) => logThrottledLogin(deps.logger, { client: address, protocol: 'imap', user }),
      error: (err) => deps.logger.warn({ err }, 'could not record a login attempt'),
    });
    const releaseUserSlot = () => {
      if (userSlot === undefined) return;
      const left = (perUser.get(userSlot) ?? 1) - 1;
      if (left <= 0) perUser.delete(userSlot);
      else perUser.set(userSlot, left);
      userSlot = undefined;
    };
    const session = new ImapSession(
      {
        hostname: deps.hostname,
        tls: listener === 'imaps' ? 'active' : secureContext ? 'starttls' : 'unavailable',
        plaintextAllowed: deps.allowPlaintextAuth || loopback,
        realms: realms.current,
        saslMechanisms: mechanisms,
        maxMessageSize: deps.maxMessageSize,
        ...(deps.deadlines && { deadlines: deps.deadlines }),
        ...(deps.maxCommandsPerSecond !== undefined && {
          commandRate: { perSecond: deps.maxCommandsPerSecond, burst: deps.maxCommandsPerSecond * 10 },
        }),
      },
      {
        lookupCredentials: logins.guard(lookupCredentials),
        async openAccount(identity) {
          logins.succeeded();
          const count = perUser.get(identity.accountId) ?? 0;
          if (count >= deps.maxConnectionsPerUser) {
            metrics.logins.inc({ result: 'too-many' });
            return 'too-many';
          }
          perUser.set(identity.accountId, count + 1);
          userSlot = identity.accountId;
          return openPostgresAccount(
            {
              pool: deps.pool,
              bus: deps.bus,
              watchers,
              states,
              mailboxIds,
              ...(facts && { facts }),
              ...(learning && { learning }),
            },
            identity.accountId,
            identity.address,
          );
        },
        async authFailed(mechanism) {
          metrics.logins.inc({ result: 'failed' });
          activity.login('imap', 'failed');
          const failure = logins.failed();
          if (failure)
            logFailedLogin(deps.logger, { client: address, protocol: 'imap', mechanism, ...failure });
          // A guesser waits longer for every answer, and is shown the door after a few.
          const penalty = abuse.penalise(address, 'auth');
          await new Promise((r) => setTimeout(r, penalty.delayMs));
          if (penalty.disconnect) {
            setImmediate(() => connection.end('* BYE too many failed logins, try later\r\n'));
          }
        },
        commandFailed(command, err) {
          metrics.errors.inc({ kind: 'storage' });
          deps.logger.warn({ err, command, client: address }, 'IMAP command failed');
        },
        commandDone: (command, status, seconds) => metrics.commands.observe(command, status, seconds),
        compressedInputFailed(err) {
          deps.logger.warn(
            { err, client: address },
            'IMAP client sent invalid COMPRESS=DEFLATE data; closing',
          );
        },
        // UNAUTHENTICATE: the user's connection slot is free again.
        loggedOut: () => releaseUserSlot(),
        authSucceeded(identity) {
          abuse.forgiveAuth(address);
          metrics.logins.inc({ result: 'ok' });
          activity.login('imap', 'ok');
          deps.logger.info({ client: address, user: identity.address }, 'IMAP login');
        },
      },
      send,
    );
    sessions.set(connection, session);
    session.greeting();
    return {
      session,
      closed() {
        session.end();
        releaseUserSlot();
        metrics.active.dec();
        sessions.delete(connection);
      },
    };
  };

  const server = await startProtocolServer<'imap' | 'imaps'>({
    host: deps.host,
    listeners: [
      { name: 'imap', port: deps.imapPort, implicitTls: false },
      { name: 'imaps', port: secureContext ? deps.imapsPort : undefined, implicitTls: true },
    ],
    secureContext,
    idleTimeoutMs: deps.idleTimeoutMs,
    idleGoodbye: '* BYE autologout: idle for too long\r\n',
    limits,
    ...(deps.proxy && { proxy: deps.proxy }),
    refusal: (slot) =>
      `* BYE [UNAVAILABLE] too many connections${slot === 'per-address' ? ' from your address' : ''}\r\n`,
    open,
  });
  if (deps.imapsPort !== undefined && !secureContext)
    deps.logger.warn('no TLS certificate: IMAPS listener not started');
  const managesieve =
    deps.managesievePort === undefined
      ? undefined
      : await startManageSieveListener({
          pool: deps.pool,
          logger: deps.logger,
          metrics: deps.metrics,
          hostname: deps.hostname,
          host: deps.host,
          port: deps.managesievePort,
          ...(deps.proxy && { proxy: deps.proxy }),
          secureContext,
          idleTimeoutMs: deps.idleTimeoutMs,
          ...(deps.deadlines && { deadlines: deps.deadlines }),
          limits,
          abuse,
          throttle,
          activity,
          realms: realms.current,
          mechanisms,
          lookupCredentials,
          allowPlaintextAuth: deps.allowPlaintextAuth,
          scriptLimits: deps.sieveScriptLimits ?? DEFAULT_SIEVE_SCRIPT_LIMITS,
        }).catch(async (err) => {
          await server.stop();
          throw err;
        });

  return {
    ports: { ...server.ports, ...(managesieve && { managesieve: managesieve.port }) },
    get sessions() {
      return sessions.size;
    },
    async stop() {
      realms.stop();
      sweeping.stop();
      // RFC 9051 §7.1.5: BYE before the server closes the connection.
      await Promise.all([
        server.stop(
          (connection) => sessions.get(connection)?.bye('server shutting down') ?? Promise.resolve(),
        ),
        managesieve?.stop(),
      ]);
      // No session is left to file anything: what waits is dropped, what runs is aborted.
      await learning?.stop();
      // The last counts, while the pool is still open.
      if (activity !== deps.activity) await activity.stop();
    },
  };
}
