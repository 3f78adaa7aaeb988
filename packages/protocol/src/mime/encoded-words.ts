// RFC 2047 encoded words ("=?ISO-2022-JP?B?...?=") in unstructured header
// text, decoded for SEARCH and for display names. libmime does the RFC 2047
// grammar (adjacent words joined across whitespace, Q and B encodings) and
// converts the charsets, ISO-2022-JP and Shift_JIS included.

import libmime from 'libmime';

// Half a UTF-16 surrogate pair, as a word in UTF-16 cut mid-pair decodes to
// (=?utf-16be?B?2D0=?=): no text, and Postgres jsonb refuses it, so a message whose
// Subject held one could not be stored (issue 21, found by the mime-parse fuzz target).
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Decodes every encoded word in a header value. Text that is not an encoded
 * word (raw UTF-8 of RFC 6532 included) passes through; malformed words stay
 * as written; half a surrogate pair becomes U+FFFD. Never throws.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  try {
    return libmime.decodeWords(value).replace(loneSurrogate, '\ufffd');
  } catch {
    return value;
  }
}
