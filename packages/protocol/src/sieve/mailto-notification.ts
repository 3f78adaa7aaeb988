// The mailto notification method of enotify (RFC 5436): the mailto URI (RFC 6068) says
// who gets the notification and may add a subject, a body and harmless header fields;
// the notification is marked `Auto-Submitted: auto-notified` (RFC 5436 §2.7) so that no
// responder answers it. Where RFC 5436 leaves a choice, Pigeonhole's is taken: its
// reserved header fields, its limits (8 recipients, 16 header fields), :message before
// the URI's subject, and both X-Priority and Importance for :importance.

import { type MailboxAddress, parseMailboxAddress } from '../address/mailbox-address.js';
import { decodeEncodedWords } from '../mime/encoded-words.js';
import { rfc5322Date } from '../rfc5322-date.js';
import {
  angleId,
  assembleMessage,
  encodeHeaderText,
  formatMailbox,
  headerField,
  textBody,
} from './outgoing-message.js';

export const MAX_MAILTO_RECIPIENTS = 8;
export const MAX_MAILTO_HEADERS = 16;

/**
 * Header fields a URI may not set (RFC 5436 §2.7, RFC 6068 §3: those that would let the
 * URI forge where the notification comes from, hide recipients or break threading), and
 * those this module writes itself.
 */
const reservedFields = new Set([
  'auto-submitted',
  'received',
  'return-path',
  'message-id',
  'date',
  'bcc',
  'in-reply-to',
  'references',
  'resent-date',
  'resent-from',
  'resent-sender',
  'resent-to',
  'resent-cc',
  'resent-bcc',
  'resent-msg-id',
  'from',
  'sender',
  'mime-version',
  'x-priority',
  'importance',
]);

/** Fields a URI may give only once. */
const uniqueFields = new Set(['subject', 'body', 'reply-to']);

interface MailtoRecipient {
  /** As written: `addr` or `Name <addr>`. */
  readonly written: string;
  readonly address: MailboxAddress;
  readonly cc: boolean;
}

interface MailtoUri {
  readonly recipients: readonly MailtoRecipient[];
  readonly subject: string | null;
  readonly body: string | null;
  /** Other header fields, name as written. */
  readonly headers: readonly { readonly name: string; readonly value: string }[];
}

// RFC 3986 leaves these out of URIs; non-ASCII is tolerated (an IRI as people type it).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const forbiddenInUri = /[\x00-\x20"<>\\^`{|}\x7f]/;
const fieldName = /^[!-9;-~]+$/;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 3986 §2.1 percent-decoding, as UTF-8 (RFC 6068 §2); null when malformed. */
function percentDecode(text: string): string | null {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(char, 'utf8'));
    }
  }
  try {
    return strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/** One recipient, `addr` or `Name <addr>`; null when it is not a valid address. */
function recipient(written: string, cc: boolean): MailtoRecipient | null {
  const text = written.trim();
  const open = text.lastIndexOf('<');
  const bare = open >= 0 && text.endsWith('>') ? text.slice(open + 1, -1) : text;
  const parsed = parseMailboxAddress(bare);
  return parsed.ok ? { written: text, address: parsed.address, cc } : null;
}

function addRecipients(list: string, cc: boolean, into: MailtoRecipient[]): boolean {
  for (const item of list.split(',')) {
    if (item.trim() === '') continue;
    const parsed = recipient(item, cc);
    if (parsed === null) return false;
    into.push(parsed);
  }
  return true;
}

/** Parses a mailto URI (RFC 6068); null when it is not a valid one. */
function parseMailtoUri(uri: string): MailtoUri | null {
  if (!/^mailto:/i.test(uri) || forbiddenInUri.test(uri)) return null;
  const rest = uri.slice('mailto:'.length);
  const question = rest.indexOf('?');
  const toPart = question < 0 ? rest : rest.slice(0, question);
  const recipients: MailtoRecipient[] = [];
  // RFC 6068 §2: addresses are separated by "," before decoding (a "," inside one is %2C).
  for (const item of toPart.split(',')) {
    if (item === '') continue;
    const decoded = percentDecode(item);
    if (decoded === null) return null;
    const parsed = recipient(decoded, false);
    if (parsed === null) return null;
    recipients.push(parsed);
  }
  let subject: string | null = null;
  let body: string | null = null;
  const headers: { name: string; value: string }[] = [];
  const seen = new Set<string>();
  const query = question < 0 ? '' : rest.slice(question + 1);
  for (const pair of query === '' ? [] : query.split('&')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) return null;
    const name = percentDecode(pair.slice(0, equals));
    const value = percentDecode(pair.slice(equals + 1));
    if (name === null || value === null || !fieldName.test(name)) return null;
    const key = name.toLowerCase();
    if (uniqueFields.has(key)) {
      if (seen.has(key)) return null;
      seen.add(key);
    }
    // Only the body may hold line breaks; in a header field they would add fields.
    if (key !== 'body' && /[\r\n]/.test(value)) return null;
    if (key === 'to' || key === 'cc') {
      if (!addRecipients(value, key === 'cc', recipients)) return null;
    } else if (key === 'subject') {
      subject = value;
    } else if (key === 'body') {
      body = value;
    } else if (!reservedFields.has(key) && !key.startsWith('content-')) {
      headers.push({ name, value });
    }
  }
  if (recipients.length > MAX_MAILTO_RECIPIENTS || headers.length > MAX_MAILTO_HEADERS) return null;
  return { recipients, subject, body, headers };
}

/** `valid_notify_method` for mailto: a URI this method can use (RFC 5435 §5). */
export function validMailtoUri(uri: string): boolean {
  return parseMailtoUri(uri) !== null;
}

const importanceFields: Record<1 | 2 | 3, [string, string]> = {
  1: ['1 (Highest)', 'High'],
  2: ['3 (Normal)', 'Normal'],
  3: ['5 (Lowest)', 'Low'],
};

/** The address inside `Name <addr>`, or the text itself. */
function bareAddress(mailbox: string): string {
  const open = mailbox.lastIndexOf('<');
  const close = mailbox.lastIndexOf('>');
  return (open >= 0 && close > open ? mailbox.slice(open + 1, close) : mailbox).trim();
}

/**
 * The notification for `notify` with a mailto method: whom to send it to (the URI's To
 * and Cc, each once) and the message. Null when the URI is not a valid
 * mailto URI or names nobody. `opts.from` is the user's address: the From unless :from
 * is given, and the owner-email of Auto-Submitted (RFC 5436 §2.7).
 */
export function buildMailtoNotification(
  notify: { method: string; from: string | null; importance: 1 | 2 | 3; message: string | null },
  original: { subject: string | null; from: string | null },
  opts: { from: string; date: Date; messageId: string },
): { recipients: string[]; message: Buffer } | null {
  const uri = parseMailtoUri(notify.method);
  if (uri === null || uri.recipients.length === 0) return null;

  const originalSubject = original.subject === null ? null : decodeEncodedWords(original.subject.trim());
  const subject =
    notify.message ??
    uri.subject ??
    `Notification: ${originalSubject === null || originalSubject === '' ? '(no subject)' : originalSubject}`;
  const to = uri.recipients.filter((r) => !r.cc).map((r) => formatMailbox(r.written));
  const cc = uri.recipients.filter((r) => r.cc).map((r) => formatMailbox(r.written));
  const owner = bareAddress(opts.from).replace(/["\\\r\n]/g, '');
  const [priority, importance] = importanceFields[notify.importance];

  const headers = [
    headerField('Date', rfc5322Date(opts.date)),
    headerField('From', formatMailbox(notify.from ?? opts.from)),
    ...(to.length > 0 ? [headerField('To', to.join(', '))] : []),
    ...(cc.length > 0 ? [headerField('Cc', cc.join(', '))] : []),
    headerField('Subject', encodeHeaderText(subject)),
    headerField('Message-ID', angleId(opts.messageId)),
    `Auto-Submitted: auto-notified; owner-email="${owner}"`,
    `X-Priority: ${priority}`,
    `Importance: ${importance}`,
    ...uri.headers.map((field) => headerField(field.name, encodeHeaderText(field.value))),
    'MIME-Version: 1.0',
  ];
  const summary = [
    'You have received a new message.',
    '',
    `From: ${original.from === null ? '(unknown)' : decodeEncodedWords(original.from.trim())}`,
    `Subject: ${originalSubject === null || originalSubject === '' ? '(no subject)' : originalSubject}`,
  ].join('\r\n');
  const content = textBody(uri.body ?? notify.message ?? summary);

  // The local part keeps its case (RFC 5321 §2.4: only its own host may fold it).
  const recipients = new Map<string, string>();
  for (const r of uri.recipients) {
    if (!recipients.has(r.address.canonical))
      recipients.set(r.address.canonical, `${r.address.localPart}@${r.address.domain}`);
  }
  return {
    recipients: [...recipients.values()],
    message: assembleMessage([...headers, ...content.headers], content.body),
  };
}
