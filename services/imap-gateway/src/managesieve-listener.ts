import type { SecureContext } from 'node:tls';
import {
  type InputDeadlines,
  MANAGESIEVE_COMMAND_LABELS,
  ManageSieveSession,
  type SaslCredentialLookup,
  type SaslMechanismName,
} from '@tegami/protocol';
import {
  type AbuseTracker,
  type ConnectionLimits,
  createCommandMetrics,
  createErrorCounter,
  type Logger,
  logFailedLogin,
  logThrottledLogin,
  type ProxyPolicy,
  type ServedConnection,
  startProtocolServer,
} from '@tegami/runtime';
import type { ActivityCounter, LoginThrottle, SieveScriptLimits } from '@tegami/store';
import type pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import { postgresSieveScripts } from './postgres-sieve-scripts.js';

// ManageSieve (RFC 5804) inside the imap-gateway: the engine is packages/protocol/managesieve;
// this owns its socket. It runs here, not as a service of its own, because everything it
// needs besides the scripts is IMAP's: the accounts and their SASL secrets, the failed-login
// throttle (shared through Postgres) and the per-address penalties, the TLS certificate,
// the connection limits, and the replicas the chart scales.

/** What the IMAP side lends the ManageSieve listener: one of each per process. */
export interface ManageSieveListenerDeps {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly hostname: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly proxy?: ProxyPolicy;
  readonly secureContext: SecureContext | undefined;
  readonly idleTimeoutMs: number;
  readonly deadlines?: InputDeadlines;
  readonly limits: ConnectionLimits;
  readonly abuse: AbuseTracker;
  readonly throttle: LoginThrottle;
  /** The dashboard's login counts (the IMAP side stops it). */
  readonly activity: ActivityCounter;
  readonly realms: () => readonly string[];
  readonly mechanisms: readonly SaslMechanismName[];
  readonly lookupCredentials: SaslCredentialLookup;
  readonly allowPlaintextAuth: boolean;
  readonly scriptLimits: SieveScriptLimits;
}

export interface ManageSieveListener {
  readonly port: number;
  /** Sessions open now. */
  readonly sessions: number;
  stop(): Promise<void>;
}

export async function startManageSieveListener(deps: ManageSieveListenerDeps): Promise<ManageSieveListener> {
  const registers = [deps.metrics];
  const metrics = {
    connections: new Counter({
      name: 'tegami_managesieve_connections_total',
      help: 'ManageSieve connections accepted',
      registers,
    }),
    active: new Gauge({
      name: 'tegami_managesieve_connections_active',
      help: 'ManageSieve connections open now',
      registers,
    }),
    logins: new Counter({
      name: 'tegami_managesieve_logins_total',
      help: 'ManageSieve logins, by result (ok, failed)',
      labelNames: ['result'] as const,
      registers,
    }),
    commands: createCommandMetrics(deps.metrics, 'managesieve', new Set(MANAGESIEVE_COMMAND_LABELS)),
    errors: createErrorCounter(deps.metrics),
  };
  const sessions = new Map<ServedConnection<'managesieve'>, ManageSieveSession>();

  const open = (connection: ServedConnection<'managesieve'>) => {
    const { address, loopback, send } = connection;
    metrics.connections.inc();
    metrics.active.inc();
    const logins = deps.throttle.forClient(address, {
      refused: (user) => logThrottledLogin(deps.logger, { client: address, protocol: 'managesieve', user }),
      error: (err) => deps.logger.warn({ err }, 'could not record a login attempt'),
    });
    const session = new ManageSieveSession(
      {
        hostname: deps.hostname,
        tls: deps.secureContext ? 'starttls' : 'unavailable',
        plaintextAllowed: deps.allowPlaintextAuth || loopback,
        realms: deps.realms,
        saslMechanisms: deps.mechanisms,
        maxScriptBytes: deps.scriptLimits.maxBytes,
        ...(deps.deadlines && { deadlines: deps.deadlines }),
      },
      {
        lookupCredentials: logins.guard(deps.lookupCredentials),
        async openScripts(identity) {
          logins.succeeded();
          return postgresSieveScripts(deps.pool, identity.accountId, deps.scriptLimits);
        },
        async authFailed(mechanism) {
          metrics.logins.inc({ result: 'failed' });
          deps.activity.login('managesieve', 'failed');
          const failure = logins.failed();
          if (failure)
            logFailedLogin(deps.logger, { client: address, protocol: 'managesieve', mechanism, ...failure });
          // The same penalties as IMAP's, per address across both protocols: a guesser gains
          // nothing by switching ports.
          const penalty = deps.abuse.penalise(address, 'auth');
          await new Promise((r) => setTimeout(r, penalty.delayMs));
          if (penalty.disconnect)
            setImmediate(() => connection.end('BYE "Too many failed logins, try later"\r\n'));
        },
        authSucceeded(identity) {
          deps.abuse.forgiveAuth(address);
          metrics.logins.inc({ result: 'ok' });
          deps.activity.login('managesieve', 'ok');
          deps.logger.info({ client: address, user: identity.address }, 'ManageSieve login');
        },
        commandFailed(command, err) {
          metrics.errors.inc({ kind: 'storage' });
          deps.logger.warn({ err, command, client: address }, 'ManageSieve command failed');
        },
        commandDone: (command, status, seconds) => metrics.commands.observe(command, status, seconds),
      },
      send,
    );
    sessions.set(connection, session);
    session.greeting();
    return {
      session,
      closed() {
        session.end();
        metrics.active.dec();
        sessions.delete(connection);
      },
    };
  };

  const server = await startProtocolServer<'managesieve'>({
    host: deps.host,
    listeners: [{ name: 'managesieve', port: deps.port, implicitTls: false }],
    secureContext: deps.secureContext,
    idleTimeoutMs: deps.idleTimeoutMs,
    idleGoodbye: 'BYE "Disconnected for inactivity"\r\n',
    limits: deps.limits,
    ...(deps.proxy && { proxy: deps.proxy }),
    refusal: (slot) =>
      `BYE (TRYLATER) "too many connections${slot === 'per-address' ? ' from your address' : ''}"\r\n`,
    open,
  });

  return {
    port: server.ports.managesieve!,
    get sessions() {
      return sessions.size;
    },
    async stop() {
      await server.stop(
        (connection) => sessions.get(connection)?.bye('server shutting down') ?? Promise.resolve(),
      );
    },
  };
}
