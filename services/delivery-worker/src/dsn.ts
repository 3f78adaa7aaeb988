import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '@tegami/protocol';

// Delivery status notifications (RFC 3464): a multipart/report with a human-readable
// part, the machine-readable message/delivery-status, and the original headers (or the
// whole message when `ret` is FULL: RFC 3461 §4.3, and notices.ts returnedContent for who
// may have it).

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipient {
  readonly recipient: string;
  /** RFC 3461 ORCPT as given: "rfc822;user@example.org". */
  readonly originalRecipient?: string | null | undefined;
  readonly action: DsnAction;
  /** Enhanced status code, e.g. 5.1.1. */
  readonly status: string;
  readonly remoteMta?: string | null | undefined;
  /** The SMTP reply (or our own words) that decided it. */
  readonly diagnostic?: string | null | undefined;
  readonly lastAttemptAt?: Date | undefined;
  /** For 'delayed': until when we keep trying. */
  readonly willRetryUntil?: Date | undefined;
}

export interface DsnInput {
  /** This MTA's name: Reporting-MTA and MAILER-DAEMON@<hostname>. */
  readonly hostname: string;
  /** The queue id of the message reported on. */
  readonly queueId: string;
  /** The envelope sender of that message: the DSN goes there. */
  readonly sender: string;
  readonly envid?: string | null | undefined;
  readonly ret?: 'FULL' | 'HDRS' | null | undefined;
  readonly arrivalDate: Date;
  readonly original: Buffer;
  readonly recipients: readonly DsnRecipient[];
  readonly now: Date;
  /** Largest original to return whole for RET=FULL; beyond it only the headers go back. */
  readonly maxReturnedBytes?: number;
}

export interface BuiltDsn {
  readonly raw: Buffer;
  readonly messageId: string;
  readonly subject: string;
}

const DEFAULT_MAX_RETURNED_BYTES = 10 * 1024 * 1024;

export function buildDsn(input: DsnInput): BuiltDsn {
  const boundary = `${input.queueId}.${randomBytes(9).toString('base64url')}/${input.hostname}`;
  const messageId = `<${input.queueId}.dsn.${input.now.getTime()}@${input.hostname}>`;
  const subject = subjectFor(input.recipients);
  const { headers: originalHeaders } = splitHeaders(input.original);
  const returnFull =
    input.ret === 'FULL' && input.original.length <= (input.maxReturnedBytes ?? DEFAULT_MAX_RETURNED_BYTES);

  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.hostname}>`,
    `To: <${input.sender}>`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: ${messageId}`,
    // RFC 3834: an automatic reply; RFC 3464 §4 has no other requirement on the headers.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
  ];
  const human = [
    `--${boundary}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    ...humanText(input, returnFull),
    '',
  ];
  const status = [
    `--${boundary}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${input.hostname}`,
    `X-Tegami-Queue-ID: ${input.queueId}`,
    ...(input.envid ? [`Original-Envelope-Id: ${sevenBit(input.envid)}`] : []),
    `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`,
    '',
    ...input.recipients.flatMap((r) => [...recipientFields(r), '']),
  ];
  const returned = [
    `--${boundary}`,
    returnFull
      ? 'Content-Description: Undelivered Message'
      : 'Content-Description: Undelivered Message Headers',
    returnFull ? 'Content-Type: message/rfc822' : 'Content-Type: text/rfc822-headers',
    ...(returnFull ? ['Content-Transfer-Encoding: 8bit'] : []),
    '',
  ];
  const tail = `\r\n--${boundary}--\r\n`;
  const raw = Buffer.concat([
    Buffer.from([...head, ...human, ...status, ...returned].join('\r\n') + '\r\n', 'utf8'),
    returnFull ? input.original : originalHeaders,
    Buffer.from(tail, 'utf8'),
  ]);
  return { raw, messageId, subject };
}

function subjectFor(recipients: readonly DsnRecipient[]): string {
  if (recipients.some((r) => r.action === 'failed')) return 'Undelivered Mail Returned to Sender';
  if (recipients.some((r) => r.action === 'delayed')) return 'Delayed Mail (still being retried)';
  return 'Successful Mail Delivery Report';
}

function humanText(input: DsnInput, returnFull: boolean): string[] {
  const failed = input.recipients.filter((r) => r.action === 'failed');
  const delayed = input.recipients.filter((r) => r.action === 'delayed');
  const done = input.recipients.filter((r) => r.action !== 'failed' && r.action !== 'delayed');
  const lines = [`This is the mail system at host ${input.hostname}.`, ''];
  if (failed.length > 0) {
    lines.push(
      "I'm sorry to have to inform you that your message could not",
      `be delivered to one or more recipients. ${returnFull ? 'It is' : 'Its headers are'} attached below.`,
      '',
      ...failed.map((r) => `<${r.recipient}>: ${r.diagnostic ?? r.status}`),
      '',
    );
  }
  if (delayed.length > 0) {
    lines.push(
      'Your message could not be delivered yet to the recipients below.',
      'It will be retried until it is too old; you need not send it again.',
      '',
      ...delayed.map(
        (r) =>
          `<${r.recipient}>: ${r.diagnostic ?? r.status}` +
          (r.willRetryUntil ? ` (retried until ${rfc5322Date(r.willRetryUntil)})` : ''),
      ),
      '',
    );
  }
  if (done.length > 0) {
    lines.push(
      'Your message was successfully delivered to the recipients below',
      '(or handed to a system that does not report further).',
      '',
      ...done.map((r) => `<${r.recipient}>: ${r.action}${r.diagnostic ? `: ${r.diagnostic}` : ''}`),
      '',
    );
  }
  lines.push(`Queue id: ${input.queueId}`);
  return lines;
}

function recipientFields(r: DsnRecipient): string[] {
  const fields: string[] = [];
  if (r.originalRecipient) fields.push(`Original-Recipient: ${originalRecipientField(r.originalRecipient)}`);
  fields.push(
    `Final-Recipient: rfc822; ${sevenBit(r.recipient)}`,
    `Action: ${r.action}`,
    `Status: ${r.status}`,
  );
  if (r.remoteMta) fields.push(`Remote-MTA: dns; ${sevenBit(r.remoteMta)}`);
  if (r.diagnostic) fields.push(`Diagnostic-Code: smtp; ${sevenBit(r.diagnostic)}`);
  if (r.lastAttemptAt) fields.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttemptAt)}`);
  if (r.willRetryUntil) fields.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
  return fields;
}

/** ORCPT travels as "type;xtext" (RFC 3461 §4.2); the DSN field is "type; address". */
function originalRecipientField(orcpt: string): string {
  const semicolon = orcpt.indexOf(';');
  if (semicolon < 0) return `rfc822; ${sevenBit(orcpt)}`;
  return `${orcpt.slice(0, semicolon)}; ${sevenBit(orcpt.slice(semicolon + 1))}`;
}

/** Header fields of a delivery-status part are 7-bit and one line each. */
function sevenBit(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 900);
}

/** The header block of a message, up to and including the empty line (or all of it). */
export function splitHeaders(raw: Buffer): { headers: Buffer; body: Buffer } {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf))
    return { headers: raw.subarray(0, crlf + 2), body: raw.subarray(crlf + 4) };
  if (lf >= 0) return { headers: raw.subarray(0, lf + 1), body: raw.subarray(lf + 2) };
  return { headers: raw, body: Buffer.alloc(0) };
}
