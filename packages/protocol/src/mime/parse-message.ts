// The one entry point delivery and IMAP APPEND call: raw bytes in, the JSON
// metadata IMAP serves out. It never throws: whatever a sender or client
// handed over is stored and served byte for byte, so a parser failure may
// cost precision in the metadata but must never lose the message.

import { buildEnvelope, type Envelope } from './envelope.js';
import { type HeaderDate, parseHeaderDate } from './header-date.js';
import { parseHeaderFields } from './header-parser.js';
import type { MimePart } from './mime-part.js';
import { parseMimeTree } from './mime-tree.js';
import { buildSearchText, type SearchText } from './search-text.js';

export interface ParsedMessage {
  /** RFC 822 size in octets (FETCH RFC822.SIZE). */
  size: number;
  root: MimePart;
  envelope: Envelope;
  searchText: SearchText;
  /** The Date header parsed, for SENTBEFORE/SENTON/SENTSINCE and SORT; null when absent or unparseable. */
  headerDate: HeaderDate | null;
  /** Message-ID without angle brackets, for threading and `tegami trace`; null when absent. */
  messageId: string | null;
}

function bareMessageId(value: string | null): string | null {
  if (value === null) return null;
  const angle = /<([^<>]*)>/.exec(value);
  const id = (angle ? angle[1]! : value).trim();
  return id === '' ? null : id;
}

function fallbackPart(raw: Uint8Array): MimePart {
  return {
    section: '1',
    headerStart: 0,
    bodyStart: 0,
    bodyEnd: raw.length,
    type: 'text',
    subtype: 'plain',
    writtenType: null,
    writtenSubtype: null,
    params: [],
    decodedParams: {},
    id: null,
    description: null,
    encoding: null,
    md5: null,
    disposition: null,
    language: null,
    location: null,
    size: raw.length,
    lines: raw.reduce((n, byte) => (byte === 0x0a ? n + 1 : n), 0),
    decodedSize: raw.length,
    children: [],
    message: null,
  };
}

const emptyEnvelope: Envelope = {
  date: null,
  subject: null,
  from: null,
  sender: null,
  replyTo: null,
  to: null,
  cc: null,
  bcc: null,
  inReplyTo: null,
  messageId: null,
};

export function parseMessage(raw: Uint8Array): ParsedMessage {
  try {
    const root = parseMimeTree(raw);
    const envelope = buildEnvelope(parseHeaderFields(raw, root.headerStart, root.bodyStart));
    return {
      size: raw.length,
      root,
      envelope,
      searchText: buildSearchText(raw, root),
      headerDate: parseHeaderDate(envelope.date),
      messageId: bareMessageId(envelope.messageId),
    };
  } catch {
    // A bug in the parser must not refuse a message: store it as opaque text.
    return {
      size: raw.length,
      root: fallbackPart(raw),
      envelope: emptyEnvelope,
      searchText: { headers: [], body: '', partHeaders: '', truncated: false },
      headerDate: null,
      messageId: null,
    };
  }
}
