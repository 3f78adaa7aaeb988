import { type DueDelivery, newQueueId, type QueueEntry, type ReportMessage } from '@tegami/store';
import { buildDsn, type DsnRecipient } from './dsn.js';

// Which recipients a delivery status notification reports, and how (RFC 3461 NOTIFY),
// and how much of the message goes back with it (RET).

/**
 * What a notice may return of the message. A REQUIRETLS message returns its headers only,
 * whatever RET said (RFC 8689 §5): the notice may travel by a path less protected than the
 * message. Otherwise RET=FULL is a request (RFC 3461 §4.3), and the
 * envelope sender of mail that did not come through AUTH is only what the client claimed:
 * returning the whole message to it would let anyone send any content to anyone from our
 * MAILER-DAEMON, with NOTIFY=SUCCESS (a "delivered" notice), NOTIFY=DELAY, or a failure
 * (an alias forwarding to a host that refuses the spam it is sent: backscatter with the
 * payload). So such senders get the headers, which name the message and say why, in every
 * kind of notice; Postfix would return up to 50 kB. An authenticated sender is who they
 * say (submission checks the address is theirs) and gets what they asked for.
 */
export function returnedContent(
  entry: Pick<QueueEntry, 'dsnRet' | 'authenticatedAs' | 'requireTls'>,
): 'FULL' | 'HDRS' | null {
  return entry.authenticatedAs === null || entry.requireTls ? 'HDRS' : entry.dsnRet;
}

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

/** The notification about `notices` (recipients of `entry`), as a message queued to its sender. */
export function reportMessage(
  hostname: string,
  entry: QueueEntry,
  message: Buffer,
  notices: readonly DsnRecipient[],
  now: Date,
): ReportMessage {
  const queueId = newQueueId();
  const dsn = buildDsn({
    hostname,
    queueId: entry.queueId,
    sender: entry.sender,
    envid: entry.dsnEnvid,
    ret: returnedContent(entry),
    arrivalDate: entry.receivedAt,
    original: message,
    recipients: notices,
    now,
  });
  return {
    queueId,
    raw: dsn.raw,
    recipient: entry.sender,
    reportsOn: entry.queueId,
    messageId: dsn.messageId,
    // RFC 8689 §5: the notice of a REQUIRETLS message goes out with REQUIRETLS too.
    requireTls: entry.requireTls,
  };
}
