import type { InputDeadlines } from '../input-deadline.js';
import type { SaslMechanismName } from '../sasl/sasl-step.js';
import type { ManageSieveAccess } from './commands/context.js';
import type { ManageSieveCommandLabel } from './commands/table.js';

export interface ManageSieveSessionOptions {
  readonly hostname: string;
  /** Whether STARTTLS can be offered (a certificate is loaded) and whether TLS is on now. */
  readonly tls: 'unavailable' | 'starttls' | 'active';
  /** PLAIN and LOGIN without TLS (loopback, or configured). */
  readonly plaintextAllowed: boolean;
  readonly realms: () => readonly string[];
  /** The SASL mechanisms offered and accepted (as IMAP's); all of them when absent. */
  readonly saslMechanisms?: readonly SaslMechanismName[];
  /** The extensions scripts may require (the SIEVE capability); all Tegami implements when absent. */
  readonly extensions?: readonly string[];
  /** MAXREDIRECTS (§1.7): what delivery allows one run (default 4, as Pigeonhole's). */
  readonly maxRedirects?: number;
  /**
   * Largest script, in octets (default 1 MiB): a longer literal is skipped and answered
   * QUOTA/MAXSIZE, and the compiler is held to it.
   */
  readonly maxScriptBytes?: number;
  /** Longest command, its literals aside (default 8192); a longer one closes the connection. */
  readonly maxLineLength?: number;
  /** Failed logins one connection may make (default 3); the last is answered BYE. */
  readonly maxAuthFailures?: number;
  /** Deadlines for slow clients (a command line, a literal, logging in); none when undefined. */
  readonly deadlines?: InputDeadlines;
}

export interface ManageSieveHooks extends ManageSieveAccess {
  /** A command was answered: which one, its status and duration, for metrics. */
  commandDone?(command: ManageSieveCommandLabel, status: 'ok' | 'no' | 'bye', seconds: number): void;
  /** A command failed unexpectedly (a bug, or the store): answered NO (TRYLATER). */
  commandFailed?(command: ManageSieveCommandLabel, err: unknown): void;
}

/** What the service does after some input: go on, close the connection, or start TLS now. */
export type ManageSieveAction = 'continue' | 'close' | 'starttls';

/** Writes to the client; a promise when the socket is full. */
export type ManageSieveSend = (chunk: string | Uint8Array) => void | Promise<void>;
