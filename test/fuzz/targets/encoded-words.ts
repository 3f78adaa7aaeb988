import fc from 'fast-check';
import { decodeEncodedWords } from '../../../packages/protocol/src/mime/encoded-words.js';
import { parseHeaderFields } from '../../../packages/protocol/src/mime/header-parser.js';
import { encodeHeaderText, headerField } from '../../../packages/protocol/src/sieve/outgoing-message.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { headerText, someText } from '../mail-grammar.js';
import { ensure, loneSurrogateAt, mutatedText } from '../mail-seeds.js';

// RFC 2047 encoded words: decoding what arrives (SEARCH, display names, Sieve header tests),
// and the way back where Tegami writes header text itself (Sieve vacation, notify,
// editheader: encodeHeaderText, then headerField's folding), read back as a reader would.

const SEEDS = [
  '=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=',
  '=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?= =?UTF-8?Q?=E4=BC=9A=E8=AD=B0?=',
  '=?Shift_JIS?B?kL+LgY+R?=',
  '=?utf-8?q?J=C3=B6rg?= <j@x.org>',
  '=?utf-8?B?5pel5pys?=\r\n =?utf-8?B?6Kqe?=',
  '=?us-ascii*en?Q?Keith_Moore?=',
  '=?bogus?Q?=FF?= plain =?utf-16be?B?2D0=?=',
  '=?utf-7?Q?+ZeVnLIqe-?=',
  '=??=',
  '=?utf-8?B??=',
  '=?utf-8?Q?a?b?=',
];

const input = fc.oneof(
  { arbitrary: headerText, weight: 3 },
  { arbitrary: someText, weight: 2 },
  { arbitrary: mutatedText(SEEDS, { base: headerText }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 1 },
  // Long words without a space: nothing to fold at.
  {
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', '=?', ' '), fc.integer({ min: 70, max: 1200 }))
      .map(([c, n]) => c.repeat(n)),
    weight: 1,
  },
);

/** What encodeHeaderText keeps of a value: one line (a header cannot hold a line break). */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+[\t ]*/g, ' ');
}

function check(text: string): void {
  // Header text reaches the decoder from UTF-8 or windows-1252 bytes, and Sieve scripts are
  // UTF-8: always well-formed. What the decoder makes of well-formed text must be too.
  const wellFormed = loneSurrogateAt(text) < 0;
  const decoded = decodeEncodedWords(text);
  if (wellFormed)
    ensure(loneSurrogateAt(decoded) < 0, `decoded text has a lone surrogate at ${loneSurrogateAt(decoded)}`);
  if (!text.includes('=?')) ensure(decoded === text, 'text without an encoded word passes through');
  // Decoding shrinks base64 and "=XX"; raw 8-bit text inside a word is read as its UTF-8
  // octets (up to three a UTF-16 unit), each of which a charset maps to one unit at most.
  ensure(decoded.length <= 3 * text.length + 16, `decoded ${text.length} units to ${decoded.length}`);

  // The way back, as a Subject in a message Tegami sends.
  if (!wellFormed) return;
  const encoded = encodeHeaderText(text);
  const field = headerField('Subject', encoded);
  ensure(/^[\x20-\x7e\t\r\n]*$/.test(field), 'the header field is 7-bit text');
  for (const line of field.split('\r\n')) {
    // RFC 5322 §2.1.1: at most 998 octets a line.
    ensure(line.length <= 998, `a header line of ${line.length} octets`);
    ensure(!line.includes('\r') && !line.includes('\n'), 'no bare CR or LF in the field');
  }
  const bytes = Buffer.from(`${field}\r\n\r\n`, 'latin1');
  const fields = parseHeaderFields(bytes, 0, bytes.length);
  ensure(fields.length === 1 && fields[0]!.name === 'Subject', 'the field reads back as one Subject');
  const readBack = decodeEncodedWords(fields[0]!.value);
  const expected = oneLine(text);
  // A reader trims the value, and an encoder may take whitespace at either end into a word:
  // leading and trailing blanks are not the text.
  const strip = (t: string) => t.replace(/^[\t ]+|[\t ]+$/g, '');
  ensure(
    strip(readBack) === strip(expected) || readBack.trim() === expected.trim(),
    `round trip: ${JSON.stringify(text.slice(0, 100))} came back as ${JSON.stringify(readBack.slice(0, 100))}`,
  );
}

export const target: FuzzTarget<string> = {
  name: 'encoded-words',
  covers: 'RFC 2047 decoding, and encoding + folding + decoding round trip of header text Sieve writes',
  input,
  check,
  regressions: ['=?utf-16be?B?2D0=?=', 'a'.repeat(1200)],
};
