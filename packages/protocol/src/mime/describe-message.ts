import { crlfSize } from './crlf-size.js';
import type { Envelope } from './envelope.js';
import type { HeaderDate } from './header-date.js';
import type { MimePart } from './mime-part.js';
import { parseMessage } from './parse-message.js';
import type { SearchHeader } from './search-text.js';

/**
 * messages.metadata, as stored (jsonb) and read back: what IMAP FETCH, SEARCH and POP3
 * LIST serve without parsing the message again. Only plain JSON values, so a row reads
 * back exactly as it was written.
 */
export interface MessageMetadata {
  readonly version: 1;
  /** RFC 822 size in octets. */
  readonly size: number;
  /** The size with every line ending CRLF, which POP3 sends and counts (RFC 1939 LIST). */
  readonly crlfSize: number;
  /** The MIME tree with byte offsets (BODYSTRUCTURE, BODY[section]). */
  readonly root: MimePart;
  readonly envelope: Envelope;
  readonly headerDate: HeaderDate | null;
  readonly messageId: string | null;
  readonly searchHeaders: readonly SearchHeader[];
  readonly searchPartHeaders: string;
  readonly searchTruncated: boolean;
}

export interface MessageDescription {
  /** What IMAP serves without parsing again (ENVELOPE, BODYSTRUCTURE, part offsets). */
  readonly metadata: MessageMetadata;
  /** The decoded body text SEARCH BODY and TEXT match (messages.search_text). */
  readonly searchText: string;
}

/**
 * What a stored message carries besides its bytes (messages.metadata and search_text):
 * the MIME tree with offsets, ENVELOPE and the decoded header text in the JSON, the
 * decoded body text in its own column. Delivery and IMAP APPEND store the same shape.
 */
export function describeMessage(raw: Buffer): MessageDescription {
  const parsed = parseMessage(raw);
  return {
    metadata: withoutNul<MessageMetadata>({
      version: 1,
      size: parsed.size,
      crlfSize: crlfSize(raw),
      root: parsed.root,
      envelope: parsed.envelope,
      headerDate: parsed.headerDate,
      messageId: parsed.messageId,
      searchHeaders: parsed.searchText.headers,
      searchPartHeaders: parsed.searchText.partHeaders,
      searchTruncated: parsed.searchText.truncated,
    }),
    searchText: stripNul(parsed.searchText.body),
  };
}

export { crlfSize };

// Postgres text and jsonb cannot hold U+0000, which a hostile or broken message can put
// in a header; the raw blob keeps it, the searchable copies drop it.
export function stripNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
}

function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return stripNul(value) as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [stripNul(k), withoutNul(v)])) as T;
  }
  return value;
}
