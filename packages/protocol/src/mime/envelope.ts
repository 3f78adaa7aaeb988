// IMAP ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2): the header fields a
// client lists messages by, as written in the message (no RFC 2047
// decoding: the client does that), computed once at delivery. The subject
// and display names have their whitespace runs collapsed to one space, as
// Dovecot sends them; date, In-Reply-To and Message-ID are only unfolded.

import { collapseWhitespace, type EnvelopeAddress, parseAddressList } from './address-list.js';
import { firstField, type HeaderField } from './header-parser.js';
import { formatImapNString, type ImapStringOptions } from './imap-syntax.js';

export interface Envelope {
  date: string | null;
  subject: string | null;
  /** null when the header is absent or lists no address (written NIL). */
  from: EnvelopeAddress[] | null;
  sender: EnvelopeAddress[] | null;
  replyTo: EnvelopeAddress[] | null;
  to: EnvelopeAddress[] | null;
  cc: EnvelopeAddress[] | null;
  bcc: EnvelopeAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/**
 * An address field is read for ENVELOPE up to this many characters: well over a thousand
 * addresses. Past it, a field of "a," repeated (25 MB through port 25) made the stored
 * metadata thirty times the message's size, more than a JS string or a Postgres jsonb value
 * can hold, after a minute of CPU (issue 21, found by fuzzing). BODY[HEADER] still serves
 * the field whole.
 */
export const MAX_ENVELOPE_FIELD_CHARS = 64 * 1024;

function addresses(fields: readonly HeaderField[], name: string): EnvelopeAddress[] | null {
  const field = firstField(fields, name);
  if (!field) return null;
  const value = field.value;
  const list = parseAddressList(
    value.length > MAX_ENVELOPE_FIELD_CHARS ? value.slice(0, MAX_ENVELOPE_FIELD_CHARS) : value,
  );
  return list.length > 0 ? list : null;
}

/** Builds the ENVELOPE of a message (or of a message/rfc822 part) from its header fields. */
export function buildEnvelope(fields: readonly HeaderField[]): Envelope {
  const from = addresses(fields, 'From');
  const subject = firstField(fields, 'Subject')?.value;
  return {
    date: firstField(fields, 'Date')?.value ?? null,
    subject: subject === undefined ? null : collapseWhitespace(subject),
    from,
    // RFC 3501 §7.4.2: a missing Sender or Reply-To is set to From by the server.
    sender: addresses(fields, 'Sender') ?? from,
    replyTo: addresses(fields, 'Reply-To') ?? from,
    to: addresses(fields, 'To'),
    cc: addresses(fields, 'Cc'),
    bcc: addresses(fields, 'Bcc'),
    inReplyTo: firstField(fields, 'In-Reply-To')?.value ?? null,
    messageId: firstField(fields, 'Message-ID')?.value ?? null,
  };
}

function formatAddressList(list: readonly EnvelopeAddress[] | null, options: ImapStringOptions): string {
  if (!list || list.length === 0) return 'NIL';
  const items = list.map(
    (a) =>
      `(${formatImapNString(a.name, options)} ${formatImapNString(a.adl, options)} ` +
      `${formatImapNString(a.mailbox, options)} ${formatImapNString(a.host, options)})`,
  );
  // RFC 3501 examples and Dovecot write the addresses without separators: ((...)(...))
  return `(${items.join('')})`;
}

/** The ENVELOPE value in IMAP syntax, parentheses included. */
export function formatEnvelope(envelope: Envelope, options: ImapStringOptions = {}): string {
  const n = (value: string | null) => formatImapNString(value, options);
  return (
    `(${n(envelope.date)} ${n(envelope.subject)} ` +
    `${formatAddressList(envelope.from, options)} ${formatAddressList(envelope.sender, options)} ` +
    `${formatAddressList(envelope.replyTo, options)} ${formatAddressList(envelope.to, options)} ` +
    `${formatAddressList(envelope.cc, options)} ${formatAddressList(envelope.bcc, options)} ` +
    `${n(envelope.inReplyTo)} ${n(envelope.messageId)})`
  );
}
