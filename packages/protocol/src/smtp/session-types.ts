import type { TransferLimits } from '../input-deadline.js';
import type { SaslCredentialLookup, SaslMechanismName } from '../sasl/sasl-exchange.js';
import type { ByteSource } from './byte-source.js';
import type { ForwardPath, MailParams, RcptParams, ReversePath } from './command.js';
import type { SmtpReply } from './reply.js';

/** Port 25 takes mail for local users from anyone; 587/465 take mail from users for anywhere. */
export type SmtpRole = 'mx' | 'submission';

export interface SmtpSessionConfig {
  readonly hostname: string;
  readonly role: SmtpRole;
  /** TLS from the first byte (465), or offered through STARTTLS when the server has a certificate. */
  readonly tls: 'implicit' | 'starttls' | 'unavailable';
  /** PLAIN and LOGIN without TLS: only on loopback or when the operator says so. */
  readonly allowPlaintextAuth: boolean;
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  /** RFC 5321 §4.5.3.1.4 says 512 for a command line; extensions make longer ones legitimate. */
  readonly maxCommandLineBytes: number;
  /** RFC 5321 §4.5.3.2.7: the server waits at least 5 minutes for the next command. */
  readonly commandTimeoutMs: number;
  /** §4.5.3.2.5: 3 minutes between data blocks. */
  readonly dataTimeoutMs: number;
  /**
   * Slow clients: a command line must be whole within `lineMs` of its first byte, and a
   * message body keep up `minBytesPerSecond` on average (starting from, and never banking
   * more than, dataTimeoutMs). None when undefined: only the timeouts above.
   */
  readonly deadlines?: TransferLimits;
  /** After this many bad commands in one session: 421 and close. */
  readonly maxErrors: number;
  /** Local domains, offered as DIGEST-MD5 realms. */
  readonly realms: () => readonly string[];
  /**
   * The SASL mechanisms offered and accepted (enabledSaslMechanisms: without CRAM-MD5 and
   * DIGEST-MD5 when the operator turned them off); all of them when absent.
   */
  readonly saslMechanisms?: readonly SaslMechanismName[];
}

/** What the session knows of its client; the service puts it in Received headers and logs. */
export interface SmtpClientInfo {
  readonly address: string;
  readonly helo: string | undefined;
  /** EHLO (ESMTP) rather than HELO. */
  readonly extended: boolean;
  readonly tls: boolean;
  readonly authenticated: { readonly accountId: string; readonly address: string } | undefined;
  /**
   * The client's forward-confirmed reverse DNS name (RFC 8601 iprev), when the service looked
   * it up and it was confirmed; the engine only passes on what `hooks.reverseName` says.
   */
  readonly reverseName?: string;
}

/** A forward path naming a mailbox: what `<Postmaster>` becomes once routed. */
export type MailboxPath = Extract<ForwardPath, { readonly kind: 'mailbox' }>;

export interface SmtpEnvelope {
  readonly from: ReversePath;
  readonly mailParams: MailParams;
  readonly recipients: readonly {
    readonly to: MailboxPath;
    readonly params: RcptParams;
    readonly address: string;
  }[];
}

/**
 * Everything the session asks of the service. The protocol engine decides what the RFCs
 * decide; the service decides policy (who may relay, which users exist) and does the I/O.
 */
export interface SmtpSessionHooks {
  /** Writes reply bytes to the client. */
  send(text: string): void;
  /** Upgrades the connection after `220 Ready to start TLS`; null when the handshake failed. */
  startTls(): Promise<ByteSource | null>;
  lookupCredentials: SaslCredentialLookup;
  /** undefined accepts the sender; a reply refuses it. */
  checkSender(client: SmtpClientInfo, from: ReversePath, params: MailParams): Promise<SmtpReply | undefined>;
  /**
   * `<Postmaster>` with no domain (RFC 5321 §4.1.1.3): the local domain whose postmaster
   * stands for this host's, or a refusal. The session then checks `postmaster@<domain>`
   * like any other recipient.
   */
  postmasterDomain(client: SmtpClientInfo): Promise<string | SmtpReply>;
  /** undefined accepts the recipient; a reply refuses it. */
  checkRecipient(client: SmtpClientInfo, to: MailboxPath, params: RcptParams): Promise<SmtpReply | undefined>;
  /** Stores and queues the message; the reply is 250 only once it is durable. */
  deliver(client: SmtpClientInfo, envelope: SmtpEnvelope, message: Buffer): Promise<SmtpReply>;
  /**
   * A bad command or failed AUTH from this client: how long to wait before answering
   * (a growing delay per client IP, across connections), and whether to disconnect.
   */
  penalise(client: SmtpClientInfo, kind: 'error' | 'auth'): Promise<{ delayMs: number; disconnect: boolean }>;
  /**
   * A HELO or EHLO was accepted (`client.helo` holds its name): the service may start looking
   * the name up now, while the client goes on to MAIL and RCPT.
   */
  heloReceived?(client: SmtpClientInfo): void;
  /** The client's forward-confirmed reverse DNS name, once the service knows it (see SmtpClientInfo). */
  reverseName?(): string | undefined;
  /** A successful AUTH clears the client's auth failures. */
  authSucceeded?(client: SmtpClientInfo, mechanism: string): void;
  authFailed?(client: SmtpClientInfo, mechanism: string): void;
}
