import type { ByteSource } from './byte-source.js';
import type { SmtpPolicy } from './commands/context.js';
import type { SmtpCommandLabel } from './commands/table.js';
import type { SmtpClientInfo } from './session-config.js';

export type { SmtpPolicy } from './commands/context.js';
export type {
  MailboxPath,
  SmtpClientInfo,
  SmtpEnvelope,
  SmtpRole,
  SmtpSessionConfig,
} from './session-config.js';

/**
 * Everything the session asks of the service. The protocol engine decides what the RFCs
 * decide; the service decides policy (who may relay, which users exist: SmtpPolicy, what
 * the command modules see) and does the I/O.
 */
export interface SmtpSessionHooks extends SmtpPolicy {
  /** Writes reply bytes to the client. */
  send(text: string): void;
  /** Upgrades the connection after `220 Ready to start TLS`; null when the handshake failed. */
  startTls(): Promise<ByteSource | null>;
  /**
   * A bad command or failed AUTH from this client: how long to wait before answering
   * (a growing delay per client IP, across connections), and whether to disconnect.
   */
  penalise(client: SmtpClientInfo, kind: 'error' | 'auth'): Promise<{ delayMs: number; disconnect: boolean }>;
  /** The client's forward-confirmed reverse DNS name, once the service knows it (see SmtpClientInfo). */
  reverseName?(): string | undefined;
  /**
   * A command was answered: which one (SMTP_COMMAND_LABELS), the class of its last reply
   * ('2xx' … '5xx') and how long it took, for metrics.
   */
  commandDone?(verb: SmtpCommandLabel, result: string, seconds: number): void;
}
