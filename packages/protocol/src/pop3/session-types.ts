import type { InputDeadlines } from '../input-deadline.js';
import type { SaslMechanismName } from '../sasl/sasl-exchange.js';
import type { Pop3MaildropAccess } from './commands/context.js';
import type { Pop3CommandLabel } from './commands/table.js';

export interface Pop3SessionOptions {
  readonly hostname: string;
  /** Whether STLS can be offered (a certificate is loaded) and whether TLS is on now. */
  readonly tls: 'unavailable' | 'starttls' | 'active';
  /** USER/PASS, PLAIN and LOGIN without TLS (loopback, or configured). */
  readonly plaintextAllowed: boolean;
  readonly realms: () => readonly string[];
  /**
   * The SASL mechanisms offered and accepted (enabledSaslMechanisms: without CRAM-MD5 and
   * DIGEST-MD5 when the operator turned them off); all of them when absent.
   */
  readonly saslMechanisms?: readonly SaslMechanismName[];
  /** RFC 2449 LOGIN-DELAY, when the service enforces one (openMaildrop answers 'too-soon'). */
  readonly loginDelaySeconds?: number;
  /** Longest command line `receive` accepts, CRLF included (RFC 2449 §4: 255). */
  readonly maxLineLength?: number;
  /**
   * Longest SASL response line: RFC 5034 §4 puts these outside the command limit. 12288
   * holds the base64 of the SASL engine's 4096-octet response cap with room to spare.
   */
  readonly maxSaslLineLength?: number;
  /** Deadlines for slow clients (a command line, logging in); none when undefined. */
  readonly deadlines?: InputDeadlines;
}

export interface Pop3Hooks extends Pop3MaildropAccess {
  /** A command was answered: which one (POP3_COMMAND_LABELS), its status and duration, for metrics. */
  commandDone?(verb: Pop3CommandLabel, status: 'ok' | 'err', seconds: number): void;
}

/** What the service does after a line: go on, close the connection, or start TLS now. */
export type Pop3Action = 'continue' | 'close' | 'starttls';

/**
 * Writes to the client. A promise holds the session back until it settles: a service that
 * waits for 'drain' there streams a large RETR without queueing all of it in memory.
 */
export type Pop3Send = (chunk: string | Uint8Array) => void | Promise<void>;
