import { createServer, type Server, type Socket } from 'node:net';
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContext,
  TLSSocket,
} from 'node:tls';
import type { MailBus } from '@tegami/bus';
import {
  type MtaStsPolicy,
  reply,
  type SmtpRole,
  type SmtpSessionConfig,
  type SrsOptions,
  serializeReply,
  type TransferLimits,
  type VerifiedPasswordCache,
} from '@tegami/protocol';
import type { ResolverClient } from '@tegami/rpc';
import {
  type AbuseLimits,
  AbuseTracker,
  acceptProxiedConnection,
  ConfigError,
  ConnectionLimits,
  closeIfProxyHeader,
  createTlsContextOptions,
  DEFAULT_ABUSE_LIMITS,
  type Logger,
  NO_PROXY,
  type ProxyPolicy,
  type TlsPolicy,
} from '@tegami/runtime';
import {
  type ActivityCounter,
  createAcceptanceBatcher,
  createActivityCounter,
  createDmarcResultBuffer,
  type LegacySaslPolicy,
  type LoginClock,
  LoginThrottle,
  type LoginThrottlePolicy,
  listLocalDomains,
  refreshedLocalDomains,
  saslLogins,
} from '@tegami/store';
import type pg from 'pg';
import type { Registry } from 'prom-client';

import { isLoopbackAddress } from './client-address.js';
import { type ConnectionCheckSettings, createConnectionChecker } from './connection-checks.js';
import type { AcceptorDeps } from './message-acceptor.js';
import { createSmtpMetrics } from './metrics.js';
import { type MtaStsHost, startMtaStsHost } from './mta-sts-host.js';
import { RelayPolicy } from './policy.js';
import { type ServedSmtpConnection, serveSmtpConnection } from './smtp-connection.js';

export interface SmtpListenerSpec {
  /** Name in logs and metrics: mx, submission, submissions. */
  readonly name: string;
  readonly role: SmtpRole;
  readonly port: number;
  /** 465: TLS from the first byte (RFC 8314). */
  readonly implicitTls: boolean;
}

export interface SmtpIngressDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly hostname: string;
  readonly host: string;
  readonly listeners: readonly SmtpListenerSpec[];
  /** PEM certificate and key; without them there is no STARTTLS and no port 465. */
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** Ciphers and oldest version of STARTTLS and 465 (TEGAMI_TLS_*); the default policy when absent. */
  readonly tlsPolicy?: TlsPolicy;
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly commandTimeoutMs: number;
  readonly dataTimeoutMs: number;
  /** Slow clients: a deadline per command line and a minimum rate for bodies; none when absent. */
  readonly deadlines?: TransferLimits;
  readonly allowPlaintextAuth: boolean;
  /**
   * CRAM-MD5 and DIGEST-MD5 on (with the key that opens their sealed secrets) or off
   * (TEGAMI_SASL_LEGACY_MECHANISMS, TEGAMI_SECRETS_KEY_FILE); off when absent.
   */
  readonly legacySasl?: LegacySaslPolicy;
  /** The verified-credential cache of this protocol's logins (TEGAMI_AUTH_CACHE_*); none when absent. */
  readonly passwordCache?: VerifiedPasswordCache | undefined;
  /** PLAIN and LOGIN in clear from loopback clients (default true: nothing crosses a wire). */
  readonly plaintextAuthOnLoopback?: boolean;
  readonly abuseLimits?: AbuseLimits;
  /** Failed logins per account, across addresses and replicas (TEGAMI_AUTH_FAILURE_DELAY_MAX). */
  readonly loginThrottle?: LoginThrottlePolicy;
  /** The login delay's clock (tests watch the waits through it). */
  readonly loginClock?: LoginClock;
  /** Relay for client addresses with a POP-before-SMTP grant (the pop-gateway writes them). */
  readonly popBeforeSmtp?: boolean;
  /**
   * SPF/DKIM/DMARC/ARC and the spam filter for mail received on port 25 (`inboundChecks()`);
   * none when absent.
   */
  readonly inbound?: AcceptorDeps['inbound'];
  /**
   * Count the DMARC results of port 25 for the daily aggregate reports the delivery-worker
   * sends (TEGAMI_REPORTS); needs the inbound checks' mail authentication.
   */
  readonly recordDmarcResults?: boolean;
  /**
   * Authenticate loopback clients' mail too (SPF, DKIM, DMARC, ARC). Off in a deployment: a
   * client on the same host is a local program (OpenDMARC's IgnoreHosts and rspamd's
   * local_addrs default to it), whose mail is still scanned for spam; tests, which can only
   * connect from loopback, turn it on.
   */
  readonly checkLoopbackClients?: boolean;
  /** stop(): how long transactions in progress may take to finish before they get 421. */
  readonly drainTimeoutMs?: number;
  /**
   * The MTA-STS policy host of the local domains (TEGAMI_MTA_STS_*), on `port` (ports['mta-sts']),
   * over HTTPS with `tls` when `https`; none when absent.
   */
  readonly mtaSts?:
    | { readonly port: number; readonly policy: MtaStsPolicy; readonly https: boolean }
    | undefined;
  /**
   * PROXY protocol behind a load balancer (TEGAMI_PROXY_PROTOCOL): the client address the
   * header carries is what relay rules, limits, Received and the logs use.
   */
  readonly proxy?: ProxyPolicy;
  /** Port 25's DNSBL, reverse DNS and HELO checks (TEGAMI_SMTP_DNSBL…); none when absent. */
  readonly connectionChecks?: ConnectionCheckSettings;
  /** The dns-resolver (TEGAMI_RESOLVER_TARGET): needed when a connection check is on. */
  readonly resolver?: ResolverClient;
  /**
   * The SRS secrets (TEGAMI_SRS_SECRET_FILE): RCPT to a valid SRS address of a local domain (a
   * bounce of mail an alias forwarded) is taken for the original sender. None when absent.
   */
  readonly srs?: SrsOptions;
  /**
   * TEGAMI_RECIPIENT_DELIMITER: RCPT to `user+tag@domain` is taken for user@domain (RFC 5233);
   * '' turns that off. Default '+'.
   */
  readonly recipientDelimiter?: string;
  /**
   * Where AUTH results and the spam filter's verdicts are counted for the admin dashboard: the
   * standalone's, shared by its services (it stops it). Absent: one of the service's own,
   * stopped with it.
   */
  readonly activity?: ActivityCounter;
}

export interface SmtpIngress {
  /** The bound port of each listener by name (tests bind port 0). */
  readonly ports: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

const MAX_COMMAND_LINE_BYTES = 1000;
const MAX_ERRORS_PER_SESSION = 20;
// Refreshed rather than read per session: DIGEST-MD5 offers them as realms.
const DOMAIN_REFRESH_MS = 30_000;

export async function startSmtpIngress(deps: SmtpIngressDeps): Promise<SmtpIngress> {
  const metrics = createSmtpMetrics(deps.metrics);
  // First: a check without a resolver fails the start before anything runs.
  const connectionChecks = createConnectionChecker(deps, metrics, () => realms.current());
  const abuse = new AbuseTracker(deps.abuseLimits ?? DEFAULT_ABUSE_LIMITS);
  const limits = new ConnectionLimits(deps.maxConnections, deps.maxConnectionsPerAddress);
  const tlsOptions = deps.tls ? createTlsContextOptions(deps.tls, deps.tlsPolicy) : undefined;
  const secureContext: SecureContext | undefined = tlsOptions ? createSecureContext(tlsOptions) : undefined;
  if (deps.mtaSts?.https && !tlsOptions) {
    throw new ConfigError(
      'TEGAMI_MTA_STS_TLS',
      'the MTA-STS policy host is to speak HTTPS, but there is no certificate (TEGAMI_TLS_CERT_FILE); behind a proxy or Ingress that terminates TLS, set it to false',
    );
  }
  const realms = refreshedLocalDomains(deps.pool, await listLocalDomains(deps.pool), DOMAIN_REFRESH_MS);
  const { mechanisms, lookupCredentials } = saslLogins(deps.pool, deps.legacySasl, deps.logger, {
    cache: deps.passwordCache,
  });
  // Shared through Postgres with every replica and with POP3 and IMAP.
  const loginThrottle = new LoginThrottle(deps.pool, deps.loginThrottle, deps.loginClock);
  const sweeping = loginThrottle.startSweeping((err) =>
    deps.logger.warn({ err }, 'could not sweep the login failure records'),
  );
  // Batched: a received message costs a Map update; Postgres sees one upsert every few seconds.
  const dmarcResults =
    deps.recordDmarcResults && deps.inbound?.auth
      ? createDmarcResultBuffer(deps.pool, {
          onError: (err) =>
            deps.logger.warn({ err }, 'could not write DMARC report counts; kept for the next try'),
        })
      : undefined;
  const activity =
    deps.activity ??
    createActivityCounter(deps.pool, {
      onError: (err) =>
        deps.logger.warn({ err }, 'could not write the login and spam counts; kept for the next try'),
    });
  // Group commit: the messages of concurrent sessions share a transaction, a statement and
  // a WAL flush (docs/architecture/acceptance-order.md).
  const acceptance = createAcceptanceBatcher(deps.pool);
  const connections = new Set<ServedSmtpConnection>();
  const servers: Server[] = [];
  const ports: Record<string, number> = {};
  let draining = false;

  for (const spec of deps.listeners) {
    if (spec.implicitTls && !secureContext) {
      deps.logger.warn(
        { listener: spec.name, port: spec.port },
        'no TLS certificate: implicit-TLS listener not started',
      );
      continue;
    }
    const sessionConfig: SmtpSessionConfig = {
      hostname: deps.hostname,
      role: spec.role,
      tls: spec.implicitTls ? 'implicit' : secureContext ? 'starttls' : 'unavailable',
      allowPlaintextAuth: false,
      maxMessageBytes: deps.maxMessageBytes,
      maxRecipients: deps.maxRecipients,
      maxCommandLineBytes: MAX_COMMAND_LINE_BYTES,
      commandTimeoutMs: deps.commandTimeoutMs,
      dataTimeoutMs: deps.dataTimeoutMs,
      ...(deps.deadlines && { deadlines: deps.deadlines }),
      maxErrors: MAX_ERRORS_PER_SESSION,
      realms: realms.current,
      saslMechanisms: mechanisms,
    };
    const policy = new RelayPolicy(
      deps.pool,
      spec.role,
      deps.popBeforeSmtp ?? false,
      deps.srs,
      deps.recipientDelimiter,
    );
    // Behind a PROXY-speaking load balancer the header comes before the TLS handshake of
    // port 465, so that listener accepts plain TCP and starts TLS itself after the header.
    const tlsAfterProxy = spec.implicitTls && deps.proxy?.enabled === true;
    const onConnection = async (raw: Socket) => {
      raw.on('error', () => undefined);
      const origin = await acceptProxiedConnection(raw, deps.proxy ?? NO_PROXY);
      if (!origin || draining) {
        raw.destroy();
        return;
      }
      const socket = tlsAfterProxy ? startImplicitTls(raw, secureContext!) : raw;
      if (deps.proxy?.enabled && !origin.proxied && !spec.implicitTls) {
        // A PROXY header from a peer not trusted to send one: closed, never served. Added
        // before the session's own reader, so it sees the first bytes first.
        socket.once('data', (chunk: Buffer) => closeIfProxyHeader(chunk, socket));
      }
      const { address } = origin;
      const slot = limits.acquire(address);
      if (slot !== 'ok') {
        metrics.refusedConnections.inc({ listener: spec.name, reason: slot });
        const why = slot === 'total' ? 'too many connections' : 'too many connections from your address';
        socket.end(serializeReply(reply(421, '4.7.0', `${deps.hostname} Error: ${why}, try again later`)));
        setTimeout(() => socket.destroy(), 2_000).unref();
        return;
      }
      metrics.activeConnections.inc({ listener: spec.name });
      const loopback = (deps.plaintextAuthOnLoopback ?? true) && isLoopbackAddress(address);
      const connection = serveSmtpConnection(socket, address, {
        listener: spec.name,
        role: spec.role,
        sessionConfig: { ...sessionConfig, allowPlaintextAuth: deps.allowPlaintextAuth || loopback },
        secureContext,
        policy,
        abuse,
        lookupCredentials,
        loginThrottle,
        activity,
        acceptor: {
          pool: deps.pool,
          bus: deps.bus,
          acceptance,
          hostname: deps.hostname,
          logger: deps.logger,
          metrics,
          ...(deps.inbound && { inbound: deps.inbound }),
          popBeforeSmtp: deps.popBeforeSmtp ?? false,
          checkLoopbackClients: deps.checkLoopbackClients ?? false,
          ...(dmarcResults && { recordDmarc: (row) => dmarcResults.add(row) }),
          recordSpamVerdict: (verdict) => activity.spamVerdict(verdict),
        },
        metrics,
        logger: deps.logger,
        tlsHandshakeTimeoutMs: 30_000,
        ...(spec.role === 'mx' && connectionChecks && { connectionChecks }),
      });
      connections.add(connection);
      if (draining) connection.drain();
      connection.done
        .then((tlsUsed) => metrics.connections.inc({ listener: spec.name, tls: String(tlsUsed) }))
        .catch((err) => deps.logger.error({ err }, 'SMTP connection failed'))
        .finally(() => {
          connections.delete(connection);
          limits.release(address);
          metrics.activeConnections.dec({ listener: spec.name });
        });
    };
    // A failure while taking one connection is that connection's end, never the process's.
    const take = (socket: Socket) =>
      onConnection(socket).catch((err: unknown) => {
        deps.logger.error({ err, listener: spec.name }, 'could not take an SMTP connection');
        socket.destroy();
      });
    const server =
      spec.implicitTls && !tlsAfterProxy
        ? createTlsServer({ ...tlsOptions, handshakeTimeout: 30_000 }, (socket) => take(socket))
        : createServer((socket) => take(socket));
    // A failed TLS handshake on 465 is the client's problem, not the server's.
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(spec.port, deps.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    ports[spec.name] = typeof address === 'object' && address ? address.port : spec.port;
    servers.push(server);
    deps.logger.info(
      { listener: spec.name, role: spec.role, port: ports[spec.name], tls: spec.implicitTls },
      'SMTP listening',
    );
  }

  let mtaStsHost: MtaStsHost | undefined;
  if (deps.mtaSts) {
    mtaStsHost = await startMtaStsHost({
      host: deps.host,
      port: deps.mtaSts.port,
      policy: deps.mtaSts.policy,
      localDomains: async () => realms.current(),
      tls: deps.mtaSts.https ? tlsOptions : undefined,
      logger: deps.logger,
    });
    ports['mta-sts'] = mtaStsHost.port;
  }

  return {
    ports,
    async stop() {
      draining = true;
      await mtaStsHost?.stop();
      realms.stop();
      sweeping.stop();
      // close() resolves only once every connection has ended, so it is awaited last.
      const closed = Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
      // RFC 5321 §3.8: 421 to sessions between transactions now; a transaction in progress
      // finishes (its 250 means it is stored and queued) unless the deadline passes first.
      for (const connection of connections) connection.drain();
      const drained = Promise.all([...connections].map((c) => c.done.catch(() => undefined)));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), deps.drainTimeoutMs ?? 10_000);
      });
      if ((await Promise.race([drained, deadline])) === 'deadline') {
        deps.logger.warn({ open: connections.size }, 'drain deadline passed: closing SMTP sessions with 421');
        for (const connection of connections) connection.abort();
      }
      clearTimeout(timer);
      await closed;
      await dmarcResults?.stop();
      if (activity !== deps.activity) await activity.stop();
    },
  };
}

/** Server-side TLS on an accepted socket, given up if the handshake takes too long. */
function startImplicitTls(raw: Socket, secureContext: SecureContext): TLSSocket {
  const secured = new TLSSocket(raw, { isServer: true, secureContext });
  secured.on('error', () => undefined);
  const timer = setTimeout(() => secured.destroy(), 30_000);
  timer.unref();
  secured.once('secure', () => clearTimeout(timer));
  secured.once('close', () => clearTimeout(timer));
  return secured;
}
