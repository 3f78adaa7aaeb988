import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import {
  reply,
  type SaslCredentialLookup,
  type SmtpRole,
  SmtpSession,
  type SmtpSessionConfig,
  serializeReply,
} from '@tegami/protocol';
import type { AbuseTracker, Logger } from '@tegami/runtime';
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
  readonly acceptor: AcceptorDeps;
  readonly metrics: SmtpMetrics;
  readonly logger: Logger;
  readonly tlsHandshakeTimeoutMs: number;
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
      lookupCredentials: deps.lookupCredentials,
      checkSender: (client, from) => deps.policy.checkSender(client, from),
      postmasterDomain: () => deps.policy.postmasterDomain(deps.sessionConfig.hostname),
      checkRecipient: (client, to) => deps.policy.checkRecipient(client, to),
      deliver: (client, envelope, message) =>
        acceptMessage(deps.acceptor, deps.listener, deps.role, client, envelope, message),
      penalise: async (client, kind) => deps.abuse.penalise(client.address, kind),
      authSucceeded: (client, mechanism) => {
        deps.abuse.forgiveAuth(client.address);
        deps.metrics.auth.inc({ mechanism, result: 'success' });
      },
      authFailed: (_client, mechanism) => deps.metrics.auth.inc({ mechanism, result: 'failure' }),
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
