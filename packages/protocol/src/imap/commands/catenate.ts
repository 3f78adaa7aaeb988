// CATENATE (RFC 4469): a new message put together from the client's TEXT parts and
// messages (or parts of messages) already in the user's mailboxes, named by IMAP URLs.
// Every URL part is a slice of a stored blob, as FETCH BODY[section]<partial> serves it.
//
// Memory: the result is refused ([TOOBIG]) as soon as it passes APPENDLIMIT, and the
// stored messages are read one at a time, so a CATENATE holds at most APPENDLIMIT of
// result plus the one stored message it is reading from.

import { applyPartial, extractSection } from '../fetch-section.js';
import { badUrlText, parseMessageUrl } from '../imap-url.js';
import { canonicalName } from '../mailbox-names.js';
import type { CatenatePart } from './append-data.js';
import { type ImapContext, type ImapReply, no } from './command-spec.js';

export async function catenate(
  parts: readonly CatenatePart[],
  context: ImapContext,
  limit: number,
): Promise<Buffer | ImapReply> {
  const pieces: Uint8Array[] = [];
  let size = 0;
  for (const part of parts) {
    const piece = part.kind === 'text' ? part.data : await urlData(part.url, context);
    if (!(piece instanceof Uint8Array)) return piece;
    size += piece.length;
    if (size > limit) return no(`[TOOBIG] the message would be larger than ${limit} octets`);
    // A copy of a slice, so the stored message it came from can go.
    pieces.push(part.kind === 'text' ? piece : Buffer.from(piece));
  }
  return Buffer.concat(pieces, size);
}

/** The octets a URL names (RFC 4469 §5); NO [BADURL] when it names nothing Tegami serves. */
async function urlData(url: string, context: ImapContext): Promise<Uint8Array | ImapReply> {
  const refused = no(`[BADURL ${badUrlText(url)}] the URL does not name a message of yours`);
  const named = parseMessageUrl(url);
  if (!named) return refused;
  let mailbox: string;
  let uidValidity = named.uidValidity;
  if (named.mailbox === undefined) {
    // RFC 5092 §7.1: a URL without a mailbox is relative to the selected one.
    if (!context.selected) return refused;
    mailbox = context.selected.box.name;
    uidValidity ??= context.selected.uidValidity;
  } else {
    mailbox = canonicalName(named.mailbox);
  }
  const message = await context.account.storedMessage(mailbox, uidValidity, named.uid);
  if (!message?.raw || !message.metadata) return refused;
  let data: Uint8Array | undefined = named.section
    ? extractSection(message.raw, message.metadata.root, named.section)
    : message.raw;
  if (data === undefined) return refused;
  if (named.partial) data = applyPartial(data, named.partial.offset, named.partial.length);
  return data;
}
