import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import {
  type ForwardPath,
  reply,
  reversePathAddress,
  type SaslCredentialLookup,
  type SmtpEnvelope,
  type SmtpReply,
  type SmtpRole,
  SmtpSession,
  type SmtpSessionConfig,
  serializeReply,
} from '@tegami/protocol';
import {
  type AbuseTracker,
  type Logger,
  logFailedLogin,
  logRelayDenied,
  logThrottledLogin,
  logUnknownRecipient,
} from '@tegami/runtime';
import type { ActivityCounter, LoginThrottle } from '@tegami/store';
import type { ConnectionChecker } from './connection-checks.js';
import { type AcceptorDeps, acceptMessage } from './message-acceptor.js';
import type { SmtpMetrics } from './metrics.js';
import type { RelayPolicy } from './policy.js';
import { SocketSource } from './socket-source.js';

export interface ConnectionDeps {
  readonly listener: string;
  readonly role: SmtpRole;
  readonly sessionConfig: SmtpSessionConfig;
  readonly secureContext: SecureContext | undefined;
  readonly policy: RelayPolicy;
  readonly abuse: AbuseTracker;
  readonly lookupCredentials: SaslCredentialLookup;
  /** Failed logins per account, across addresses and replicas. */
  readonly loginThrottle: LoginThrottle;
  /** The admin dashboard's login counts. */
  readonly activity: ActivityCounter;
  readonly acceptor: AcceptorDeps;
  readonly metrics: SmtpMetrics;
  readonly logger: Logger;
  readonly tlsHandshakeTimeoutMs: number;
  /** Port 25's checks of the client (DNSBL, reverse DNS, HELO); none on submission. */
  readonly connectionChecks?: ConnectionChecker;
}

export interface ServedSmtpConnection {
  /** Resolves when the conversation is over, with whether TLS was in use at the end. */
  readonly done: Promise<boolean>;
  /** Graceful shutdown: 421 between transactions; one in progress finishes first. */
  drain(): void;
  /** The drain deadline passed: 421 now and close, whatever the session is doing. */
  abort(): void;
}

/**
 * Serves one SMTP connection: wires the socket to a protocol session and the session's
 * questions to policy, storage and the queue. A bug (an exception) is logged with its
 * context and answered 421, never a crash of the process.
 */
export function serveSmtpConnection(
  socket: Socket,
  clientAddress: string,
  deps: ConnectionDeps,
): ServedSmtpConnection {
  let current: Socket = socket;
  let source = new SocketSource(socket);
  let tlsUsed = deps.sessionConfig.tls === 'implicit';
  const send = (text: string) => {
    if (!current.destroyed && current.writable) current.write(text);
  };
  const logins = deps.loginThrottle.forClient(clientAddress, {
    refused: (user) => logThrottledLogin(deps.logger, { client: clientAddress, protocol: 'smtp', user }),
    error: (err) => deps.logger.warn({ err }, 'could not record a login attempt'),
  });
  // The envelope sender of the transaction in progress (MAIL was accepted), for refusal logs.
  let sender = '';
  // Recipients accepted for another address (SRS bounces), by the address given at RCPT.
  const redirected = new Map<string, string>();
  const checks = deps.connectionChecks?.forClient(clientAddress, deps.listener, () =>
    deps.policy.grantedByPop({ address: clientAddress }),
  );
  const session = new SmtpSession(
    deps.sessionConfig,
    {
      send,
      startTls: async () => {
        if (!deps.secureContext) return null;
        source.detach();
        const secured = await upgradeToTls(current, deps.secureContext, deps.tlsHandshakeTimeoutMs);
        if (!secured) return null;
        current = secured;
        tlsUsed = true;
        source = new SocketSource(secured);
        return source;
      },
      lookupCredentials: logins.guard(deps.lookupCredentials),
      checkSender: async (client, from) => {
        const refusal = await deps.policy.checkSender(client, from);
        if (!refusal) {
          sender = reversePathAddress(from);
          redirected.clear();
        }
        return refusal;
      },
      postmasterDomain: () => deps.policy.postmasterDomain(deps.sessionConfig.hostname),
      heloReceived: (client) => checks?.heloReceived(client.helo ?? ''),
      reverseName: () => checks?.reverseName,
      checkRecipient: async (client, to) => {
        const refused = await checks?.refusalFor(client, sender, to);
        if (refused) return refused;
        const verdict = await deps.policy.checkRecipient(client, to);
        if (verdict.refusal) {
          logRecipientRefusal(deps, clientAddress, sender, to, verdict.refusal);
          return verdict.refusal;
        }
        if (verdict.deliverTo !== undefined) {
          const address = `${to.mailbox.localPart}@${to.mailbox.domain}`;
          redirected.set(address, verdict.deliverTo);
          deps.logger.info(
            {
              client: clientAddress,
              listener: deps.listener,
              from: sender,
              to: address,
              deliverTo: verdict.deliverTo,
            },
            'bounce to an SRS address: returned to the original sender',
          );
        }
        return undefined;
      },
      deliver: (client, envelope, message) =>
        acceptMessage(
          deps.acceptor,
          deps.listener,
          deps.role,
          client,
          redirectRecipients(envelope, redirected),
          message,
        ),
      penalise: async (client, kind) => deps.abuse.penalise(client.address, kind),
      commandDone: (verb, result, seconds) => deps.metrics.commands.observe(verb, result, seconds),
      authSucceeded: (client, mechanism) => {
        logins.succeeded();
        deps.abuse.forgiveAuth(client.address);
        deps.metrics.auth.inc({ mechanism, result: 'success' });
        deps.activity.login('smtp', 'ok');
      },
      authFailed: (client, mechanism) => {
        deps.metrics.auth.inc({ mechanism, result: 'failure' });
        deps.activity.login('smtp', 'failed');
        const failure = logins.failed();
        if (failure)
          logFailedLogin(deps.logger, { client: client.address, protocol: 'smtp', mechanism, ...failure });
      },
    },
    source,
    clientAddress,
  );
  const done = (async () => {
    try {
      await session.run();
    } catch (err) {
      deps.metrics.errors.inc({ kind: 'session' });
      deps.logger.error({ err, client: clientAddress, listener: deps.listener }, 'SMTP session failed');
      send(
        serializeReply(
          reply(421, '4.3.0', `${deps.sessionConfig.hostname} Error: internal error, try again later`),
        ),
      );
    } finally {
      checks?.close();
      current.end();
      // A client that never reads its last reply must not hold the socket forever.
      setTimeout(() => current.destroy(), 5_000).unref();
    }
    return tlsUsed;
  })();
  return {
    done,
    drain: () => session.drain(),
    abort() {
      // Whatever was in progress is not acknowledged: the client sends it again later.
      send(
        serializeReply(
          reply(421, '4.3.2', `${deps.sessionConfig.hostname} Service shutting down, try again later`),
        ),
      );
      current.end();
      setTimeout(() => current.destroy(), 1_000).unref();
    },
  };
}

/**
 * The envelope as it is queued: a recipient the policy accepted for another address is
 * recorded as that address, with the address given at RCPT as its ORCPT (RFC 3461 §4.2)
 * unless the client gave one.
 */
function redirectRecipients(envelope: SmtpEnvelope, redirected: ReadonlyMap<string, string>): SmtpEnvelope {
  if (redirected.size === 0) return envelope;
  return {
    ...envelope,
    recipients: envelope.recipients.map((r) => {
      const deliverTo = redirected.get(r.address);
      if (deliverTo === undefined) return r;
      return {
        ...r,
        address: deliverTo,
        params: { ...r.params, orcpt: r.params.orcpt ?? { addressType: 'rfc822', address: r.address } },
      };
    }),
  };
}

/**
 * One log line for a recipient refused as unknown or as relaying (the fail2ban filter
 * tegami-smtp.conf keys on them), told apart by the enhanced status code the policy chose
 * (RFC 3463: 5.1.1 bad destination mailbox, 5.7.1 delivery not authorized).
 */
function logRecipientRefusal(
  deps: ConnectionDeps,
  client: string,
  from: string,
  to: ForwardPath,
  refusal: SmtpReply,
): void {
  if (to.kind !== 'mailbox' || refusal.code < 500) return;
  const refused = {
    client,
    listener: deps.listener,
    code: refusal.code,
    from,
    to: `${to.mailbox.localPart}@${to.mailbox.domain}`,
  };
  if (refusal.enhanced === '5.1.1') logUnknownRecipient(deps.logger, refused);
  else if (refusal.enhanced === '5.7.1') logRelayDenied(deps.logger, refused);
}

/** The server side of a STARTTLS handshake on the existing socket; null when it fails. */
function upgradeToTls(
  socket: Socket,
  secureContext: SecureContext,
  timeoutMs: number,
): Promise<TLSSocket | null> {
  return new Promise((resolve) => {
    const secured = new TLSSocket(socket, { isServer: true, secureContext });
    const timer = setTimeout(() => finish(null), timeoutMs);
    const finish = (result: TLSSocket | null) => {
      clearTimeout(timer);
      secured.off('secure', onSecure);
      secured.off('error', onError);
      if (!result) secured.destroy();
      resolve(result);
    };
    const onSecure = () => finish(secured);
    const onError = () => finish(null);
    secured.once('secure', onSecure);
    secured.once('error', onError);
  });
}
