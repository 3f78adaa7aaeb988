// The vacation action (RFC 5230) once the script has run: whether a reply may go at all
// (RFC 5230 §4.5/§4.6, RFC 3834 §2, in Pigeonhole's order and with its list of system
// senders), and the reply itself (RFC 5230 §5, RFC 3834 §3).

import { decodeEncodedWords } from '../mime/encoded-words.js';
import { parseHeaderFields } from '../mime/header-parser.js';
import { rfc5322Date } from '../rfc5322-date.js';
import { MessageView } from './message-view.js';
import {
  angleId,
  assembleMessage,
  crlfLines,
  encodeHeaderText,
  formatMailbox,
  headerField,
  textBody,
} from './outgoing-message.js';
import type { VacationAction } from './types.js';

/** Header fields only mailing lists add (RFC 2369, RFC 2919): never answer a list. */
const listFields = [
  'list-id',
  'list-owner',
  'list-subscribe',
  'list-post',
  'list-unsubscribe',
  'list-help',
  'list-archive',
];

/** Where the user must be named for the message to be addressed to them (RFC 5230 §4.5). */
const recipientFields = ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'];

/**
 * Pigeonhole's vacation reads the first 256 addresses of each recipient field
 * (_header_contains_my_address), so does this: a user named only further down a field that
 * long is one of a crowd, and the reply would go to whoever sent to it. The field's text
 * is read no further than an `address` test reads it (MAX_ADDRESS_FIELD_CHARS).
 */
export const MAX_VACATION_FIELD_ADDRESSES = 256;

function valuesOf(message: MessageView, name: string): string[] {
  return message.named(name).map((field) => field.value);
}

/** The first word of a field value, before any parameter or comment, lower-cased. */
function keyword(value: string): string {
  return value.split(/[;(\s]/, 1)[0]!.toLowerCase();
}

function normalisedAddress(address: string): string {
  return address.trim().replace(/^<|>$/g, '').toLowerCase();
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}

/**
 * Senders that are programs, not people (RFC 5230 §4.6, RFC 3834 §2): Pigeonhole's list
 * (MAILER-DAEMON, LISTSERV and majordomo by prefix, owner-*, *-request) and *-owner.
 */
function systemSender(address: string): boolean {
  const local = localPart(address);
  return (
    local.startsWith('mailer-daemon') ||
    local.startsWith('listserv') ||
    local.startsWith('majordomo') ||
    local.startsWith('owner-') ||
    local.endsWith('-request') ||
    local.endsWith('-owner')
  );
}

/**
 * Why no vacation reply may be sent for this message, or null when one may.
 * `ownAddresses` are the user's addresses (the envelope recipient, with its detail, among
 * them), `addresses` the script's `:addresses`; addresses compare case-insensitively.
 * Given a MessageView, the address lists its tests have read already are not read again.
 */
export function vacationSuppressed(
  message: Uint8Array | MessageView,
  envelopeFrom: string,
  ownAddresses: readonly string[],
  addresses: readonly string[],
): string | null {
  const sender = normalisedAddress(envelopeFrom);
  // RFC 5230 §4.6 / RFC 3834 §2: never answer a bounce.
  if (sender === '') return 'the envelope sender is empty (<>)';
  const mine = new Set([...ownAddresses, ...addresses].map(normalisedAddress).filter((a) => a !== ''));
  if (mine.has(sender)) return `the sender <${sender}> is the user's own address`;
  if (systemSender(sender)) return `the sender <${sender}> is a system address`;

  const fields = message instanceof MessageView ? message : new MessageView(message);
  for (const name of listFields) {
    if (valuesOf(fields, name).length > 0) return `the message comes from a mailing list (it has ${name})`;
  }
  // RFC 3834 §2: anything but "Auto-Submitted: no" is automatic.
  for (const value of valuesOf(fields, 'auto-submitted')) {
    if (keyword(value) !== 'no') return `the message is automatic (Auto-Submitted: ${value})`;
  }
  for (const value of valuesOf(fields, 'precedence')) {
    const precedence = keyword(value);
    if (precedence === 'bulk' || precedence === 'list' || precedence === 'junk') {
      return `the message is bulk mail (Precedence: ${value})`;
    }
  }
  // Microsoft's opt-out: OOF is exactly "out of office" replies; All suppresses everything.
  for (const value of valuesOf(fields, 'x-auto-response-suppress')) {
    const suppressed = value.split(',').map((item) => item.trim().toLowerCase());
    if (suppressed.includes('oof') || suppressed.includes('all')) {
      return `the sender asked for no automatic replies (X-Auto-Response-Suppress: ${value})`;
    }
  }
  // RFC 5230 §4.5: reply only when one of the user's addresses is a recipient in the
  // header, so mail that reached the user through a list or a Bcc-like alias gets none.
  for (const name of recipientFields) {
    for (const field of fields.named(name)) {
      for (const address of fields.addresses(field).slice(0, MAX_VACATION_FIELD_ADDRESSES)) {
        if (address.domain === null) continue;
        if (mine.has(`${address.localPart}@${address.domain}`.toLowerCase())) return null;
      }
    }
  }
  return "none of the user's addresses is in To, Cc, Bcc, Resent-To, Resent-Cc or Resent-Bcc";
}

/** The :mime reason's header fields (Content-* only: the rest are ours) and body. */
function mimeEntity(reason: string): { headers: string[]; body: string } {
  const text = crlfLines(reason);
  // Something that does not start with a header field is taken as plain text.
  if (!/^[!-9;-~]+:/.test(text)) return textBody(text);
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split + 2);
  let body = split < 0 ? '' : text.slice(split + 4);
  if (body !== '' && !body.endsWith('\r\n')) body += '\r\n';
  const fields = parseHeaderFields(Buffer.from(head, 'utf8'), 0, Buffer.byteLength(head, 'utf8'));
  const headers = fields
    .filter((field) => field.name.toLowerCase().startsWith('content-'))
    .map((field) => headerField(field.name, field.value));
  if (!fields.some((field) => field.name.toLowerCase() === 'content-type')) {
    headers.unshift('Content-Type: text/plain; charset=us-ascii');
  }
  return { headers, body };
}

/** The subject of the reply (RFC 5230 §4.7): :subject, else "Auto: " and the original's. */
function replySubject(action: VacationAction): string {
  if (action.subject !== null && action.subject !== '') return action.subject;
  if (action.originalSubject === null || action.originalSubject.trim() === '') return 'Automated reply';
  return `Auto: ${decodeEncodedWords(action.originalSubject.trim())}`;
}

/**
 * The vacation reply: From the user (`action.from`, else `opts.from`), To the sender,
 * marked `Auto-Submitted: auto-replied` (RFC 5230 §5) and threaded with In-Reply-To and
 * References (RFC 3834 §3.1). No Precedence field (Pigeonhole writes "bulk"): it is no
 * standard, RFC 3834 does not ask for it, and Auto-Submitted already says the same.
 */
export function buildVacationMessage(
  action: VacationAction,
  opts: { from: string; date: Date; messageId: string },
): Buffer {
  const headers = [
    headerField('Date', rfc5322Date(opts.date)),
    headerField('From', formatMailbox(action.from ?? opts.from)),
    headerField('To', formatMailbox(action.to)),
    headerField('Subject', encodeHeaderText(replySubject(action))),
    headerField('Message-ID', angleId(opts.messageId)),
  ];
  if (action.inReplyTo !== null && action.inReplyTo.trim() !== '') {
    headers.push(headerField('In-Reply-To', action.inReplyTo.trim()));
  }
  const references = [action.references?.trim() ?? '', action.inReplyTo?.trim() ?? ''].filter(
    (id) => id !== '',
  );
  if (references.length > 0) headers.push(headerField('References', references.join(' ')));
  headers.push('Auto-Submitted: auto-replied (vacation)', 'MIME-Version: 1.0');
  const content = action.mime ? mimeEntity(action.reason) : textBody(action.reason);
  return assembleMessage([...headers, ...content.headers], content.body);
}
