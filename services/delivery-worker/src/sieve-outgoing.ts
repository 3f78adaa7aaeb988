import {
  buildMailtoNotification,
  buildRejectMessage,
  buildVacationMessage,
  findHeaderEnd,
  parseHeaderFields,
  type SieveAction,
  type VacationAction,
} from '@tegami/protocol';
import { newQueueId, type QueueEntry, type ReportMessage } from '@tegami/store';

// The messages a Sieve script sends, as queue entries from the null sender `<>` (RFC 5230
// §5.1 for vacation, RFC 5429 §2.1 for reject, RFC 5436 §2.9 for mailto notifications):
// queued as a DSN is (deliveries.insertReport), with `reports_on` naming the message that
// caused them, so `tegami trace` of that message lists them too.

function outgoing(
  entry: QueueEntry,
  raw: Buffer,
  recipient: string,
  queueId: string,
  messageId: string,
): ReportMessage {
  return {
    queueId,
    raw,
    recipient,
    reportsOn: entry.queueId,
    messageId,
    listener: 'sieve',
    // As a DSN of a REQUIRETLS message (RFC 8689 §5): what it says may quote the message.
    requireTls: entry.requireTls,
  };
}

export function vacationReply(
  hostname: string,
  entry: QueueEntry,
  user: string,
  action: VacationAction,
  now: Date,
): ReportMessage {
  const queueId = newQueueId();
  const messageId = `<${queueId}.vacation@${hostname}>`;
  const raw = buildVacationMessage(action, { from: user, date: now, messageId });
  return outgoing(entry, raw, action.to, queueId, messageId);
}

export function rejectMessage(
  hostname: string,
  entry: QueueEntry,
  user: string,
  original: Uint8Array,
  reason: string,
  now: Date,
): ReportMessage {
  const queueId = newQueueId();
  const messageId = `<${queueId}.reject@${hostname}>`;
  const raw = buildRejectMessage(original, {
    reason,
    recipient: user,
    reportingHost: hostname,
    date: now,
    messageId,
    originalSender: entry.sender,
  });
  return outgoing(entry, raw, entry.sender, queueId, messageId);
}

/** A notification (enotify, RFC 5435) with its recipients: the mailto URI's To and Cc. */
export interface SieveNotification {
  readonly message: ReportMessage;
  /** Recipients after the first (which is message.recipient). */
  readonly moreRecipients: readonly string[];
}

/** The notification of an enotify action, or why none goes. */
export function notifyMessage(
  hostname: string,
  entry: QueueEntry,
  user: string,
  original: Uint8Array,
  action: Extract<SieveAction, { type: 'notify' }>,
  now: Date,
): SieveNotification | string {
  const end = findHeaderEnd(original, 0, original.length);
  const fields = parseHeaderFields(original, 0, end < 0 ? original.length : end);
  const field = (name: string) => fields.find((f) => f.name.toLowerCase() === name)?.value ?? null;
  // RFC 5436 §2.7: never a notification about an automatic message (another notification,
  // a bounce, a vacation reply): two users notifying each other would loop.
  const autoSubmitted = field('auto-submitted');
  if (autoSubmitted !== null && !/^no\b/i.test(autoSubmitted.trim()))
    return `the message is automatic (Auto-Submitted: ${autoSubmitted.trim()})`;
  const queueId = newQueueId();
  const messageId = `<${queueId}.notify@${hostname}>`;
  const built = buildMailtoNotification(
    action,
    { subject: field('subject'), from: field('from') },
    { from: user, date: now, messageId },
  );
  if (built === null) return `${action.method} is not a mailto URI with a recipient`;
  const [first, ...more] = built.recipients;
  return { message: outgoing(entry, built.message, first!, queueId, messageId), moreRecipients: more };
}
