// The JSON of the admin API (packages/admin/src/routes/*.ts); times are ISO 8601 strings,
// sizes bytes.

export interface WhoAmI {
  readonly name: string;
  readonly scope: 'read' | 'full';
}

export interface Stats {
  readonly queue: {
    readonly waiting: number;
    readonly oldestQueuedAt: string | null;
    readonly deferred: number;
  };
  readonly last24h: {
    readonly delivered: number;
    readonly bounced: number;
    readonly deferred: number;
    readonly received: number;
    /** Over SMTP AUTH, POP3, IMAP and ManageSieve; per protocol in loginsByProtocol. */
    readonly loginsOk: number;
    readonly loginsFailed: number;
    readonly loginsByProtocol: Readonly<
      Record<'smtp' | 'pop3' | 'imap' | 'managesieve', { readonly ok: number; readonly failed: number }>
    >;
    readonly spam: { readonly ham: number; readonly spam: number; readonly rejected: number };
  };
  readonly domains: number;
  readonly users: number;
  readonly messages: number;
  readonly storedBytes: number;
}

export interface Domain {
  readonly name: string;
  readonly users: number;
  readonly aliases: number;
  readonly plusAddressing: boolean;
  readonly createdAt: string;
}

export interface User {
  readonly address: string;
  readonly domain: string;
  readonly disabled: boolean;
  readonly quotaBytes: number | null;
  readonly usedBytes: number;
  readonly messages: number;
  readonly createdAt: string;
}

export interface Alias {
  readonly address: string;
  readonly destinations: readonly string[];
  /** Local destinations that are neither a user nor an alias: mail to them bounces. */
  readonly dangling?: readonly string[];
}

export interface DkimKey {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: string;
  readonly state: 'active' | 'retiring';
  readonly createdAt: string;
  /** A retiring key's record stays published until then. */
  readonly retireUntil: string | null;
  readonly dnsName: string;
  readonly dnsValue: string;
}

export interface SieveScriptSummary {
  readonly name: string;
  readonly active: boolean;
  readonly updatedAt: string;
}

export interface QueuedRecipient {
  readonly queueId: string;
  readonly sender: string;
  readonly recipient: string;
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  readonly lastReply: string | null;
  readonly status: 'pending' | 'deferred';
  readonly receivedAt: string;
  readonly size: number;
}

export interface TraceAttempt {
  readonly at: string;
  readonly outcome: string;
  readonly mxHost: string | null;
  readonly address: string | null;
  readonly reply: string | null;
}

export interface TraceRecipient {
  readonly recipient: string;
  readonly expandedFrom: string | null;
  readonly status: string;
  readonly nextAttemptAt: string | null;
  readonly attempts: readonly TraceAttempt[];
}

export interface TraceMessage {
  readonly queueId: string;
  readonly state: string;
  readonly sender: string;
  readonly messageId: string | null;
  readonly size: number;
  readonly receivedAt: string;
  readonly clientAddress: string | null;
  readonly listener: string | null;
  readonly verdict: Record<string, unknown> | null;
  readonly recipients: readonly TraceRecipient[];
}

export interface AuditEntry {
  readonly id?: number | string;
  readonly at: string;
  /** The token's name. */
  readonly token: string | null;
  readonly method: string;
  readonly route: string;
  readonly target: string | null;
  readonly status: number;
  readonly detail?: unknown;
}
