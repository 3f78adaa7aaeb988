import { crlfSize } from './crlf-size.js';
import { parseMessage } from './parse-message.js';

export interface MessageDescription {
  /** What IMAP serves without parsing again (ENVELOPE, BODYSTRUCTURE, part offsets). */
  readonly metadata: unknown;
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
    metadata: withoutNul({
      version: 1,
      size: parsed.size,
      // The size with every line ending CRLF, which POP3 sends and counts (RFC 1939 LIST).
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

// Postgres text and jsonb cannot hold U+0000, which a hostile or broken message can put
// in a header; the raw blob keeps it, the searchable copies drop it.
function stripNul(text: string): string {
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
