// RFC 2047 encoded words ("=?ISO-2022-JP?B?...?=") in unstructured header
// text, decoded for SEARCH and for display names. libmime does the RFC 2047
// grammar (adjacent words joined across whitespace, Q and B encodings) and
// converts the charsets, ISO-2022-JP and Shift_JIS included.

import libmime from 'libmime';

/**
 * Decodes every encoded word in a header value. Text that is not an encoded
 * word (raw UTF-8 of RFC 6532 included) passes through; malformed words stay
 * as written. Never throws.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}
