import type { DueDelivery } from '@tegami/store';
import type { DsnRecipient } from './dsn.js';

// Which recipients a delivery status notification reports, and how (RFC 3461 NOTIFY).

export function wants(d: DueDelivery, what: 'SUCCESS' | 'FAILURE' | 'DELAY'): boolean {
  return d.notify?.includes(what) ?? false;
}

export function notice(
  d: DueDelivery,
  action: DsnRecipient['action'],
  status: string,
  diagnostic: string | null,
  remoteMta: string | null | undefined,
  at: Date,
  willRetryUntil?: Date,
): DsnRecipient {
  return {
    recipient: d.recipient,
    // An alias's destination reports the address the sender used (RFC 3461 §6.3).
    originalRecipient: d.orcpt ?? (d.expandedFrom ? `rfc822;${d.expandedFrom}` : null),
    action,
    status: action === 'failed' && status.startsWith('2') ? '5.0.0' : status,
    diagnostic,
    remoteMta,
    lastAttemptAt: at,
    ...(willRetryUntil ? { willRetryUntil } : {}),
  };
}
