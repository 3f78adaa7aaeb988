// FETCH BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, RFC 9051 §7.5.2, grammar
// in §9 "body") from the stored MimePart tree.
//
// Where the RFC leaves a choice, Dovecot's output is followed, because a
// differential test compares the two:
// - type and subtype are written as found in Content-Type ("text" "plain" for
//   most mail, "TEXT" "PLAIN" when a sender shouts); a defaulted type is
//   written lower-case ("text" "plain"), and message/rfc822 always as
//   "message" "rfc822";
// - parameter names and values as written; RFC 2231 sections merged into one
//   "name*" parameter whose value stays encoded (charset''%XX...);
// - text parts without a charset get ("charset" "us-ascii") appended
//   (RFC 2045 §5.2 default);
// - a missing Content-Transfer-Encoding is "7bit";
// - a multipart without parts is written with one empty text/plain part,
//   since the grammar requires at least one;
// - Content-Language is always a list: ("en").
// Sizes are the octets actually stored and served (Dovecot reports a size
// with bare LFs counted as CRLF; the two differ only for bare-LF messages).

import { formatEnvelope } from './envelope.js';
import { formatImapNString, formatImapString, type ImapStringOptions } from './imap-syntax.js';
import type { MimeParam } from './mime-parameters.js';
import type { MimeDisposition, MimePart } from './mime-part.js';

const EMPTY_BODY = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
const EMPTY_BODYSTRUCTURE = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)';

function formatParams(
  params: readonly MimeParam[],
  defaultCharset: boolean,
  options: ImapStringOptions,
): string {
  const items = params.map(
    (p) => `${formatImapString(p.name, options)} ${formatImapString(p.value, options)}`,
  );
  if (defaultCharset && !params.some((p) => p.name.toLowerCase() === 'charset')) {
    items.push('"charset" "us-ascii"');
  }
  return items.length === 0 ? 'NIL' : `(${items.join(' ')})`;
}

function formatDisposition(disposition: MimeDisposition | null, options: ImapStringOptions): string {
  if (!disposition) return 'NIL';
  return `(${formatImapString(disposition.type, options)} ${formatParams(disposition.params, false, options)})`;
}

function formatLanguage(language: readonly string[] | null, options: ImapStringOptions): string {
  if (!language || language.length === 0) return 'NIL';
  return `(${language.map((tag) => formatImapString(tag, options)).join(' ')})`;
}

function formatMultipart(part: MimePart, extended: boolean, options: ImapStringOptions): string {
  const children =
    part.children.length > 0
      ? part.children.map((child) => formatBodyStructure(child, extended, options)).join('')
      : extended
        ? EMPTY_BODYSTRUCTURE
        : EMPTY_BODY;
  let out = `${children} ${formatImapString(part.writtenSubtype ?? part.subtype, options)}`;
  if (extended) {
    out +=
      ` ${formatParams(part.params, false, options)} ${formatDisposition(part.disposition, options)}` +
      ` ${formatLanguage(part.language, options)} ${formatImapNString(part.location, options)}`;
  }
  return out;
}

function formatSinglePart(part: MimePart, extended: boolean, options: ImapStringOptions): string {
  const isText = part.type === 'text';
  let out: string;
  if (part.message || (part.type === 'message' && part.subtype === 'rfc822')) {
    out = '"message" "rfc822"';
  } else {
    out = `${formatImapString(part.writtenType ?? part.type, options)} ${formatImapString(part.writtenSubtype ?? part.subtype, options)}`;
  }
  out +=
    ` ${formatParams(part.params, isText, options)} ${formatImapNString(part.id, options)}` +
    ` ${formatImapNString(part.description, options)} ${formatImapString(part.encoding ?? '7bit', options)} ${part.size}`;
  if (part.message) {
    const nested = formatBodyStructure(part.message.root, extended, options);
    out += ` ${formatEnvelope(part.message.envelope, options)} ${nested} ${part.lines}`;
  } else if (part.type === 'message' && part.subtype === 'rfc822') {
    // Nested past the parser's depth cap: the grammar still requires an envelope and a body.
    out += ` (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ${extended ? EMPTY_BODYSTRUCTURE : EMPTY_BODY} ${part.lines}`;
  } else if (isText) {
    out += ` ${part.lines}`;
  }
  if (extended) {
    out +=
      ` ${formatImapNString(part.md5, options)} ${formatDisposition(part.disposition, options)}` +
      ` ${formatLanguage(part.language, options)} ${formatImapNString(part.location, options)}`;
  }
  return out;
}

/**
 * The BODY (extended = false) or BODYSTRUCTURE (extended = true) value of a
 * part, parentheses included: what follows "BODYSTRUCTURE " in a FETCH
 * response when given the root part.
 */
export function formatBodyStructure(
  part: MimePart,
  extended: boolean,
  options: ImapStringOptions = {},
): string {
  const body =
    part.type === 'multipart'
      ? formatMultipart(part, extended, options)
      : formatSinglePart(part, extended, options);
  return `(${body})`;
}
