import fc from 'fast-check';

// Grammar pieces of mail text shared by the mail-content fuzz targets: charsets as labelled
// in the wild, text in their bytes, RFC 2047 encoded words (valid and broken), header text
// and addresses. Valid-ish by construction, so the parsers' deeper paths are reached.

/** Charset labels: WHATWG names, aliases Tegami maps, and ones nobody knows. */
export const CHARSETS = [
  'us-ascii',
  'utf-8',
  'UTF-8',
  'iso-2022-jp',
  'ISO-2022-JP-2',
  'shift_jis',
  'cp932',
  'euc-jp',
  'euc-kr',
  'iso-8859-1',
  'iso-8859-15',
  'windows-1252',
  'koi8-r',
  'gb18030',
  'gbk',
  'big5',
  'utf-16',
  'utf-16be',
  'utf-16le',
  'utf-7',
  'x-unknown',
  'unknown-8bit',
  'bogus-charset',
  '',
];

export const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r');
export const charset = fc.constantFrom(...CHARSETS);
export const bytesText = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('latin1'));
export const someText = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom('テスト', '会議', '請求書', 'Grüße', '\u001b$B%F%9%H\u001b(B', '😀', '\ud83d'),
);

/** Text as one charset's bytes would appear in a message (read back as latin1, one byte a unit). */
export const encodedText = fc
  .tuple(someText, fc.constantFrom<BufferEncoding>('utf8', 'latin1', 'utf16le'))
  .map(([text, encoding]) => Buffer.from(text, encoding).toString('latin1'));

export const encodedWord = fc
  .tuple(charset, fc.constantFrom('B', 'Q', 'b', 'q', 'X'), encodedText, fc.boolean())
  .map(([cs, enc, text, broken]) => {
    const bytes = Buffer.from(text, 'latin1');
    const payload =
      enc.toUpperCase() === 'B'
        ? bytes.toString('base64')
        : [...bytes]
            .map((b) =>
              b > 0x20 && b < 0x7f && b !== 0x3d && b !== 0x3f
                ? String.fromCharCode(b)
                : `=${b.toString(16).toUpperCase().padStart(2, '0')}`,
            )
            .join('');
    return broken ? `=?${cs}?${enc}?${payload}` : `=?${cs}?${enc}?${payload}?=`;
  });

export const headerText = fc
  .array(fc.oneof(encodedWord, someText, fc.constantFrom(' ', '\r\n ', '\t', '(comment)', '"q\\"s"')), {
    maxLength: 6,
  })
  .map((parts) => parts.join(' '));

export const address = fc.oneof(
  fc.constantFrom(
    'a@example.org',
    '"Q \\" x" <q@example.org>',
    'Group: a@b, c@d;',
    'undisclosed-recipients:;',
    '<@route,@r2:x@y>',
    'x@[127.0.0.1]',
    '@',
    '<>',
  ),
  fc
    .tuple(headerText, fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }))
    .map(([n, l, d]) => `${n} <${l}@${d}>`),
);
