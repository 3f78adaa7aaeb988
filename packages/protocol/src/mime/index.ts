// MIME message parsing shared by IMAP (APPEND, FETCH, SEARCH) and the
// delivery-worker: pure functions over bytes, results as JSON.

export { type EnvelopeAddress, MISSING_DOMAIN, MISSING_MAILBOX, parseAddressList } from './address-list.js';
export { formatBodyStructure } from './body-structure.js';
export { decodeCharset, decodeUndeclared, isUtf8 } from './charset.js';
export { describeMessage, type MessageDescription, type MessageMetadata } from './describe-message.js';
export { decodeEncodedWords } from './encoded-words.js';
export { buildEnvelope, type Envelope, formatEnvelope } from './envelope.js';
export { type HeaderDate, parseHeaderDate } from './header-date.js';
export { findHeaderEnd, type HeaderField, parseHeaderFields } from './header-parser.js';
export { withHeaderPrefix } from './header-prefix.js';
export { htmlToText } from './html-text.js';
export { formatImapNString, formatImapString, type ImapStringOptions } from './imap-syntax.js';
export {
  type ContentDisposition,
  type ContentType,
  decodeParams,
  decodeRfc2231Value,
  type MimeParam,
  parseContentDisposition,
  parseContentType,
} from './mime-parameters.js';
export {
  type EncapsulatedMessage,
  findPart,
  type MimeDisposition,
  type MimePart,
  walkParts,
} from './mime-part.js';
export { MAX_NESTING_DEPTH, MAX_RECORDED_PARTS, parseMimeTree } from './mime-tree.js';
export { type ParsedMessage, parseMessage } from './parse-message.js';
export {
  buildSearchText,
  decodeTextPart,
  MAX_BODY_SEARCH_TEXT,
  normaliseForSearch,
  type SearchHeader,
  type SearchText,
  searchHeaderText,
} from './search-text.js';
export {
  decodeBase64Tolerant,
  decodedSize,
  decodeQuotedPrintable,
  decodeTransferEncoding,
  normaliseTransferEncoding,
} from './transfer-encoding.js';
