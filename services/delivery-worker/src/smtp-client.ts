import type { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { peerTlsOf, trustedRoots, webPkiCheck } from './peer-tls.js';
import type { TlsCheck, TlsRequirement, TlsResultType } from './tls-policy.js';

// The outbound side of SMTP, on nodemailer's SMTP client (STARTTLS, PIPELINING, SIZE,
// DSN and 8BITMIME when the peer offers them). This module turns its callbacks into
// promises and its errors into one reply per recipient, and holds the connection to the
// TLS a policy requires (MTA-STS, DANE, REQUIRETLS: see tls-policy.ts).

export interface SmtpPeer {
  /** The MX host name (for SNI, logs and Remote-MTA). */
  readonly host: string;
  readonly address: string;
  readonly port: number;
}

export interface SmtpClientOptions {
  /** EHLO name. */
  readonly hostname: string;
  readonly localAddress?: string | undefined;
  readonly connectTimeoutMs: number;
  readonly smtpTimeoutMs: number;
  /** Refuse a peer whose certificate fails the WebPKI check even when no policy applies. */
  readonly tlsVerify: boolean;
  /** PEM CA certificate(s) trusted besides Node's roots (TEGAMI_DELIVERY_TLS_CA_FILE). */
  readonly extraCa?: string | undefined;
}

/** How the connection's TLS went, for TLS-RPT (RFC 8460 result types). */
export interface SessionTlsResult {
  readonly resultType: TlsResultType;
  readonly detail?: string | undefined;
}

/** What the peer said about one recipient (or the connection-level failure). */
export interface RecipientReply {
  readonly recipient: string;
  /** 2: accepted, 4: try later, 5: refused for good. */
  readonly kind: 2 | 4 | 5;
  readonly reply: string;
  readonly enhanced: string;
}

export interface OutboundEnvelope {
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly size: number;
  readonly ret?: 'FULL' | 'HDRS' | null | undefined;
  readonly envid?: string | null | undefined;
  readonly notify?: readonly string[] | null | undefined;
  readonly orcpt?: string | null | undefined;
  /**
   * RFC 8689 §4.2.1: REQUIRETLS on MAIL FROM. Only on a session that qualifies (validated
   * TLS, the peer announced REQUIRETLS); nodemailer refuses it otherwise, and so do we.
   */
  readonly requireTls?: boolean | undefined;
}

export interface OutboundSession {
  readonly peer: SmtpPeer;
  readonly secure: boolean;
  /**
   * 'success' when the session is encrypted and the policy's check (enforced or report-only)
   * passed; 'starttls-not-supported' when it runs in clear; else what the report-only check found.
   */
  readonly tlsResult: SessionTlsResult;
  readonly supportsDsn: boolean;
  /** The EHLO keywords the peer announced (after STARTTLS, the encrypted EHLO's). */
  readonly extensions: readonly string[];
  /**
   * One transaction. Resolves with a reply per recipient; rejects only when the
   * connection broke (then no recipient has an answer and another host may be tried).
   */
  send(envelope: OutboundEnvelope, message: Buffer): Promise<RecipientReply[]>;
  close(): void;
}

/** A failure to reach a usable SMTP server at this address: try the next one. */
export class ConnectionFailure extends Error {
  constructor(
    message: string,
    readonly reply: string,
    readonly enhanced: string,
    /** The greeting was a 5xx: the host does not want our mail at all. */
    readonly permanent = false,
    /** Set when TLS was tried: how it went (a policy refused the peer, or the handshake failed). */
    readonly tlsResult?: { readonly resultType: TlsResultType; readonly detail: string } | undefined,
  ) {
    super(message);
    this.name = 'ConnectionFailure';
  }
}

interface SmtpError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: SmtpError[];
  timeoutType?: string;
}

export async function openSmtpSession(
  peer: SmtpPeer,
  options: SmtpClientOptions,
  tls: TlsRequirement = { kind: 'opportunistic' },
): Promise<OutboundSession> {
  const required = tls.kind === 'required';
  const ca = trustedRoots(options.extraCa);
  const connection = new SMTPConnection({
    host: peer.address,
    port: peer.port,
    name: options.hostname,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    // Opportunistic STARTTLS (RFC 3207): upgrade when offered, carry on in clear if the
    // STARTTLS command is refused, as MTAs do when no policy (MTA-STS, DANE) demands TLS.
    // A policy that requires TLS makes the upgrade a condition of the session.
    ...(required ? { requireTLS: true } : { opportunisticTLS: true }),
    // The handshake accepts any certificate: the policy (or TEGAMI_DELIVERY_TLS_VERIFY) judges
    // it below, on the chain and Node's verdict, and says why it was refused.
    tls: { rejectUnauthorized: false, servername: peer.host, ...(ca ? { ca } : {}) },
    connectionTimeout: options.connectTimeoutMs,
    greetingTimeout: options.connectTimeoutMs,
    socketTimeout: options.smtpTimeoutMs,
    socketCloseTimeout: 0,
  });
  let broken: SmtpError | undefined;
  let connected = false;
  await new Promise<void>((resolve, reject) => {
    // Until the greeting and EHLO are through, a failure arrives as an 'error' event
    // (refused, timed out, a 4xx/5xx greeting), or as the connection ending.
    connection.on('error', (err: SmtpError) => {
      broken = err;
      if (!connected) {
        connection.close();
        reject(connectionFailure(peer, err, required));
      }
    });
    connection.once('end', () => {
      // After any 'error' of the same failure, which says more.
      setImmediate(() => {
        if (!connected) reject(connectionFailure(peer, new Error('connection closed by the server')));
      });
    });
    connection.connect((err?: SmtpError) => {
      if (err) {
        connection.close();
        return reject(connectionFailure(peer, err, required));
      }
      connected = true;
      resolve();
    });
  });
  connection.on('end', () => {
    broken ??= Object.assign(new Error('connection closed by the server'), { code: 'ECONNECTION' });
  });

  const ehlo = (connection as unknown as { _supportedExtensions?: string[] })._supportedExtensions ?? [];
  let tlsResult: SessionTlsResult;
  try {
    tlsResult = judgeTls(peer, connection, tls, options.tlsVerify, ehlo);
  } catch (failure) {
    connection.close();
    throw failure;
  }
  let needsReset = false;
  return {
    peer,
    secure: connection.secure,
    tlsResult,
    supportsDsn: ehlo.includes('DSN'),
    extensions: [...ehlo],
    async send(envelope, message) {
      if (broken) throw connectionFailure(peer, broken);
      if (needsReset) await reset(connection);
      needsReset = true;
      return new Promise<RecipientReply[]>((resolve, reject) => {
        connection.send(
          {
            from: envelope.sender === '' ? false : envelope.sender,
            to: [...envelope.recipients],
            size: envelope.size,
            use8BitMime: true,
            dsn: {
              ret: envelope.ret ?? null,
              envid: envelope.envid ?? null,
              notify: envelope.notify ? [...envelope.notify] : null,
              orcpt: envelope.orcpt ?? null,
            },
            ...(envelope.requireTls ? { requireTLSExtensionEnabled: true } : {}),
          },
          message,
          (
            err: SmtpError | null,
            info?: { accepted: string[]; rejectedErrors?: SmtpError[]; response: string },
          ) => {
            if (err) {
              // RFC 8689 §4.2.1: a REQUIRETLS message never goes without its tag; the client
              // refused before sending anything (the session was not TLS, or no REQUIRETLS).
              if (err.code === 'EREQUIRETLS') {
                const reply = `550 5.7.30 REQUIRETLS support required: ${err.message}`;
                resolve(
                  envelope.recipients.map((recipient) => ({ recipient, kind: 5, reply, enhanced: '5.7.30' })),
                );
                return;
              }
              // RFC 1870 §6.2: the peer's SIZE says it cannot take this message at all.
              if (err.code === 'EMESSAGE' && /larger than allowed/i.test(err.message)) {
                const reply = `552 5.3.4 message of ${envelope.size} octets is over the SIZE limit ${peer.host} announced (${err.message.replace(/\D+/g, ' ').trim().split(' ').pop()})`;
                resolve(
                  envelope.recipients.map((recipient) => ({ recipient, kind: 5, reply, enhanced: '5.3.4' })),
                );
                return;
              }
              if (!err.responseCode) return reject(connectionFailure(peer, err));
              // A refusal of the whole transaction (MAIL, DATA, or every RCPT).
              const perRecipient = new Map((err.rejectedErrors ?? []).map((e) => [e.recipient, e]));
              resolve(
                envelope.recipients.map((recipient) =>
                  replyOf(recipient, perRecipient.get(recipient) ?? err),
                ),
              );
              return;
            }
            const rejected = new Map((info?.rejectedErrors ?? []).map((e) => [e.recipient, e]));
            resolve(
              envelope.recipients.map((recipient) => {
                const refusal = rejected.get(recipient);
                if (refusal) return replyOf(recipient, refusal);
                const reply = info?.response ?? '250 accepted';
                return { recipient, kind: 2, reply, enhanced: enhancedOf(reply, '2.0.0') };
              }),
            );
          },
        );
      });
    },
    close() {
      try {
        connection.quit();
      } catch {
        connection.close();
      }
      setTimeout(() => connection.close(), 1000).unref();
    },
  };
}

function reset(connection: SMTPConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    connection.reset((err?: Error | null) => (err ? reject(err) : resolve()));
  });
}

function replyOf(recipient: string, err: SmtpError): RecipientReply {
  const code = err.responseCode ?? 451;
  const reply = cleanReply(err.response ?? `${code} ${err.message}`);
  const kind = code >= 500 ? 5 : code >= 400 ? 4 : 4;
  return { recipient, kind, reply, enhanced: enhancedOf(reply, kind === 5 ? '5.0.0' : '4.0.0') };
}

/**
 * The session is up: hold it to the requirement. Throws a temporary ConnectionFailure when a
 * policy refuses the peer (the next MX is tried, then the message waits: RFC 8461 §5, RFC 7672
 * §2.2), and otherwise says how TLS went.
 */
function judgeTls(
  peer: SmtpPeer,
  connection: SMTPConnection,
  tls: TlsRequirement,
  tlsVerify: boolean,
  ehlo: readonly string[],
): SessionTlsResult {
  const where = `${peer.host}[${peer.address}]:${peer.port}`;
  const socket = (connection as unknown as { _socket?: TLSSocket })._socket;
  if (!connection.secure || !socket || typeof socket.getPeerCertificate !== 'function') {
    const detail = `${where} did not offer STARTTLS`;
    if (tls.kind === 'required') {
      // requireTLS already refuses this; kept so a change in the client cannot send in clear.
      throw tlsFailure(where, 'starttls-not-supported', detail, '4.7.4');
    }
    return { resultType: 'starttls-not-supported', detail };
  }
  const shown = peerTlsOf(socket);
  if (tls.kind === 'opportunistic') {
    const verified: TlsCheck = tlsVerify ? webPkiCheck(shown) : { ok: true };
    if (!verified.ok) throw tlsFailure(where, verified.resultType, verified.detail, '4.7.5');
    // MTA-STS `testing` (RFC 8461 §5): the verdict is reported, the mail goes anyway.
    const report = tls.reportOnly?.(shown);
    return report && !report.ok
      ? { resultType: report.resultType, detail: report.detail }
      : { resultType: 'success' };
  }
  const check = tls.check(shown);
  if (!check.ok) throw tlsFailure(where, check.resultType, check.detail, '4.7.5');
  if (tls.peerMustOfferRequireTls && !ehlo.includes('REQUIRETLS')) {
    // RFC 8689 §4.2.1: the next hop must promise to keep requiring TLS. TLS itself went well.
    throw new ConnectionFailure(
      `${where} does not offer REQUIRETLS`,
      `${where}: 4.7.10 the MX host does not support REQUIRETLS, which the message requires`,
      '4.7.10',
      false,
      { resultType: 'success', detail: `${where} does not offer REQUIRETLS` },
    );
  }
  return { resultType: 'success' };
}

function tlsFailure(where: string, resultType: TlsResultType, detail: string, enhanced: string) {
  const reply = `TLS with ${where} failed: ${enhanced} ${detail}`;
  return new ConnectionFailure(reply, reply, enhanced, false, { resultType, detail });
}

function connectionFailure(peer: SmtpPeer, err: SmtpError, tlsRequired = false): ConnectionFailure {
  const where = `${peer.host}[${peer.address}]:${peer.port}`;
  if (err.code === 'ETLS') {
    // A refused STARTTLS (any reply, even 5xx, is no verdict on our mail: only on TLS), or a
    // handshake that failed. Either way the message may go later, or to another MX.
    if (err.response) {
      const reply = cleanReply(err.response);
      return tlsFailure(
        where,
        'starttls-not-supported',
        `STARTTLS ${tlsRequired ? 'required but ' : ''}not accepted: ${reply}`,
        '4.7.4',
      );
    }
    return tlsFailure(where, 'validation-failure', `TLS handshake failed: ${err.message}`, '4.7.5');
  }
  if (err.responseCode) {
    const reply = cleanReply(err.response ?? String(err.responseCode));
    const permanent = err.responseCode >= 500;
    return new ConnectionFailure(
      `${where} said: ${reply}`,
      `${where} said: ${reply}`,
      enhancedOf(reply, permanent ? '5.0.0' : '4.0.0'),
      permanent,
    );
  }
  const code = err.timeoutType ?? err.code ?? 'error';
  const what =
    code === 'ECONNREFUSED' || /ECONNREFUSED/.test(err.message)
      ? 'connection refused'
      : err.code === 'ETIMEDOUT' || err.timeoutType
        ? 'timed out'
        : err.message;
  return new ConnectionFailure(`connect to ${where}: ${what}`, `connect to ${where}: ${what}`, '4.4.1');
}

/** One line, printable: what goes into last_reply, logs and the DSN. */
function cleanReply(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 1000);
}

function enhancedOf(reply: string, fallback: string): string {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1] ?? fallback;
}
