// The message `reject` and `ereject` send back once the message has been accepted
// (RFC 5429 §2.1.1, §2.2): an MDN (RFC 8098) saying the message was deleted, with the
// script's reason for a person to read and the original's header for the sender's
// software. The caller sends it with the null envelope sender (RFC 5429 §2.1.1: MAIL FROM
// <>), so nothing ever answers it.

import { createHash } from 'node:crypto';
import { decodeEncodedWords } from '../mime/encoded-words.js';
import { findHeaderEnd, firstField, parseHeaderFields } from '../mime/header-parser.js';
import { rfc5322Date } from '../rfc5322-date.js';
import {
  angleId,
  assembleMessage,
  encodeHeaderText,
  formatMailbox,
  headerField,
  textBody,
} from './outgoing-message.js';

export interface RejectMessageOptions {
  /** The script's reason. */
  readonly reason: string;
  /** The final recipient: the user whose script rejected the message. */
  readonly recipient: string;
  /** This host's name, for Reporting-UA and the default From. */
  readonly reportingHost: string;
  readonly date: Date;
  readonly messageId: string;
  /** The envelope sender of the original: the rejection goes there. */
  readonly originalSender: string;
  /** The From of the rejection; default `Mail Delivery System <MAILER-DAEMON@reportingHost>`. */
  readonly from?: string;
}

/** MDN fields are US-ASCII, one line each (RFC 8098 §3.1). */
function sevenBit(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 900);
}

/** The original's header section with CRLF line ends, ending in one CRLF (no blank line). */
function originalHeader(original: Uint8Array): Buffer {
  const end = findHeaderEnd(original, 0, original.length);
  // latin1 maps bytes to characters one to one, so 8-bit header text passes unchanged.
  let text = Buffer.from(original.subarray(0, end < 0 ? original.length : end))
    .toString('latin1')
    .replace(/\r?\n/g, '\r\n');
  while (text.endsWith('\r\n\r\n')) text = text.slice(0, -2);
  if (text !== '' && !text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(text, 'latin1');
}

/** A boundary the parts cannot contain: derived from the message id, so output is reproducible. */
function boundaryFor(messageId: string, parts: readonly Buffer[]): string {
  for (let attempt = 0; ; attempt++) {
    const hash = createHash('sha256').update(`${messageId}\0${attempt}`).digest('base64url').slice(0, 24);
    const boundary = `=_reject_${hash}`;
    if (!parts.some((part) => part.includes(boundary))) return boundary;
  }
}

/**
 * The rejection (RFC 5429 §2.1.1): multipart/report of a disposition notification, with
 * the reason, `Disposition: automatic-action/MDN-sent-automatically; deleted`, and the
 * original's header as text/rfc822-headers.
 */
export function buildRejectMessage(original: Uint8Array, opts: RejectMessageOptions): Buffer {
  const headerEnd = findHeaderEnd(original, 0, original.length);
  const fields = parseHeaderFields(original, 0, headerEnd < 0 ? original.length : headerEnd);
  const originalSubject = firstField(fields, 'subject')?.value.trim() ?? '';
  const originalMessageId = firstField(fields, 'message-id')?.value.trim() ?? '';
  const subject =
    originalSubject === ''
      ? 'Automatically rejected mail'
      : `Rejected: ${decodeEncodedWords(originalSubject)}`;

  const human = textBody(
    `Your message to <${opts.recipient}> was automatically rejected:\r\n\r\n${opts.reason}`,
  );
  const humanPart = Buffer.from(
    [...human.headers, 'Content-Disposition: inline', '', human.body].join('\r\n'),
    'utf8',
  );
  const notification = [
    `Reporting-UA: ${sevenBit(opts.reportingHost)}; Tegami Sieve`,
    `Final-Recipient: rfc822; ${sevenBit(opts.recipient)}`,
    ...(originalMessageId === '' ? [] : [`Original-Message-ID: ${sevenBit(originalMessageId)}`]),
    'Disposition: automatic-action/MDN-sent-automatically; deleted',
  ];
  const notificationPart = Buffer.from(
    ['Content-Type: message/disposition-notification', '', ...notification, ''].join('\r\n'),
    'utf8',
  );
  const headerPart = Buffer.concat([
    Buffer.from('Content-Type: text/rfc822-headers\r\n\r\n', 'utf8'),
    originalHeader(original),
  ]);
  const parts = [humanPart, notificationPart, headerPart];
  const boundary = boundaryFor(opts.messageId, parts);

  const headers = [
    headerField('Date', rfc5322Date(opts.date)),
    headerField(
      'From',
      formatMailbox(opts.from ?? `Mail Delivery System <MAILER-DAEMON@${opts.reportingHost}>`),
    ),
    headerField('To', formatMailbox(opts.originalSender)),
    headerField('Subject', encodeHeaderText(subject)),
    headerField('Message-ID', angleId(opts.messageId)),
    ...(originalMessageId === '' ? [] : [headerField('In-Reply-To', originalMessageId)]),
    // RFC 5429 §2.1.1 / RFC 3834: an automatic reply, so no responder answers it.
    'Auto-Submitted: auto-replied (rejected)',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=disposition-notification;\r\n\tboundary="${boundary}"`,
  ];
  const body: Buffer[] = [Buffer.from('This is a MIME-encapsulated message.\r\n', 'utf8')];
  for (const part of parts) {
    body.push(Buffer.from(`\r\n--${boundary}\r\n`, 'utf8'), part);
  }
  body.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'));
  return assembleMessage(headers, Buffer.concat(body));
}
