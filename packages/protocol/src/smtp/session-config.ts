import type { TransferLimits } from '../input-deadline.js';
import type { SaslMechanismName } from '../sasl/sasl-exchange.js';
import type { MailParams, RcptParams } from './params.js';
import type { ForwardPath, ReversePath } from './path.js';

// What an SMTP session is configured with and knows of its client and envelope: the types
// the session, its command modules and the service share.

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
