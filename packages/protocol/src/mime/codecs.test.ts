import { describe, expect, it } from 'vitest';
import { parseAddressList } from './address-list.js';
import { decodeCharset } from './charset.js';
import { decodeEncodedWords } from './encoded-words.js';
import { parseHeaderDate } from './header-date.js';
import { htmlToText } from './html-text.js';
import { formatImapNString, formatImapString } from './imap-syntax.js';
import { normaliseForSearch } from './search-text.js';
import { decodedSize, decodeTransferEncoding } from './transfer-encoding.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe('decodeTransferEncoding', () => {
  it('decodes base64 while skipping junk, line breaks and padding', () => {
    expect(text(decodeTransferEncoding(bytes('SGVs\r\nbG8g!!d29y@bGQ='), 'base64'))).toBe('Hello world');
    expect(decodedSize(bytes('SGVs\r\nbG8g!!d29y@bGQ='), 'Base64')).toBe(11);
  });

  it('decodes quoted-printable soft breaks, escapes, padding and stray equals signs', () => {
    expect(
      text(decodeTransferEncoding(bytes('a=3Db=\r\nc =  \r\nd  \r\n=ZZ=E2=82=AC'), 'quoted-printable')),
    ).toBe('a=bc d\r\n=ZZ€');
  });

  it('passes 7bit, 8bit, binary and unknown encodings through unchanged', () => {
    const body = bytes('x=41\r\n');
    for (const encoding of ['7bit', '8bit', 'binary', 'x-unknown', null]) {
      expect(decodeTransferEncoding(body, encoding)).toBe(body);
    }
  });
});

describe('charsets and encoded words', () => {
  it('converts ISO-2022-JP, Shift_JIS and ISO-8859-2 with the built-in ICU decoders', () => {
    expect(
      decodeCharset(
        Uint8Array.from([0x1b, 0x24, 0x42, 0x25, 0x46, 0x25, 0x39, 0x25, 0x48, 0x1b, 0x28, 0x42]),
        'ISO-2022-JP',
      ),
    ).toBe('テスト');
    expect(decodeCharset(Uint8Array.from([0x90, 0xbf, 0x8b, 0x81, 0x8f, 0x91]), 'cp932')).toBe('請求書');
    expect(decodeCharset(Uint8Array.from([0xb1]), 'iso-8859-2')).toBe('ą');
  });

  it('falls back to UTF-8 or windows-1252 for unknown charsets without losing bytes', () => {
    expect(decodeCharset(bytes('Grüße'), 'x-made-up')).toBe('Grüße');
    expect(decodeCharset(Uint8Array.from([0x47, 0xfc]), 'unknown-8bit')).toBe('Gü');
  });

  it('decodes RFC 2047 words in several charsets and leaves plain text alone', () => {
    expect(decodeEncodedWords('=?ISO-2022-JP?B?GyRCJUYlOSVIJWEhPCVrGyhC?=')).toBe('テストメール');
    expect(decodeEncodedWords('=?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?= ok')).toBe('caféé ok');
    expect(decodeEncodedWords('会議 = ?')).toBe('会議 = ?');
  });
});

describe('addresses', () => {
  it('represents groups with the IMAP start and end markers', () => {
    expect(parseAddressList('Friends: a@x, "B, b" <b@y>; c@z')).toEqual([
      { name: null, adl: null, mailbox: 'Friends', host: null },
      { name: null, adl: null, mailbox: 'a', host: 'x' },
      { name: 'B, b', adl: null, mailbox: 'b', host: 'y' },
      { name: null, adl: null, mailbox: null, host: null },
      { name: null, adl: null, mailbox: 'c', host: 'z' },
    ]);
    expect(parseAddressList('undisclosed-recipients:;')).toEqual([
      { name: null, adl: null, mailbox: 'undisclosed-recipients', host: null },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
  });

  it('takes a trailing comment as the name, keeps routes, and fills a missing domain', () => {
    expect(parseAddressList('bob@example.org (Bob Smith), <@relay.example:joe@example.com>, alice')).toEqual([
      { name: 'Bob Smith', adl: null, mailbox: 'bob', host: 'example.org' },
      { name: null, adl: '@relay.example', mailbox: 'joe', host: 'example.com' },
      { name: null, adl: null, mailbox: 'alice', host: 'MISSING_DOMAIN' },
    ]);
  });
});

describe('IMAP strings', () => {
  it('quotes with escapes, and uses literals for CR, LF, NUL and 8-bit text', () => {
    expect(formatImapString('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(formatImapString('two\r\nlines')).toBe('{10}\r\ntwo\r\nlines');
    expect(formatImapString('café')).toBe('{5}\r\ncafé');
    expect(formatImapString('café', { utf8: true })).toBe('"café"');
    expect(formatImapString('a\r\nb', { utf8: true })).toBe('{4}\r\na\r\nb');
    expect(formatImapNString(null)).toBe('NIL');
  });
});

describe('search text helpers', () => {
  it('normalises width, case and whitespace the same way for text and query', () => {
    expect(normaliseForSearch('  ＴＥＳＴ\u3000ｶﾀｶﾅ\r\n STRASSE ')).toBe('test カタカナ strasse');
    expect(normaliseForSearch('Straße')).toBe(normaliseForSearch('STRASSE'));
  });

  it('reduces HTML to its visible text', () => {
    expect(
      normaliseForSearch(htmlToText('<style>p{}</style><p>Fish &amp; <b>chips</b>&#33;</p><!-- hidden -->')),
    ).toBe('fish & chips !');
  });

  it('parses Date headers for SENTON and SORT, null when unparseable', () => {
    expect(parseHeaderDate('Mon, 1 Aug 2011 23:30:00 -0700')).toEqual({
      sentAt: '2011-08-02T06:30:00.000Z',
      sentOn: '2011-08-01',
    });
    expect(parseHeaderDate('1 Jan 99 00:00 EST')?.sentAt).toBe('1999-01-01T05:00:00.000Z');
    expect(parseHeaderDate('31 Feb 2011 10:00 +0000')).toBeNull();
    expect(parseHeaderDate('yesterday')).toBeNull();
  });
});

describe('windows-1252 bytes 0x80–0x9F', () => {
  it('decode to € „ “ … (not C1 controls), for windows-1252 and the labels that mean it', () => {
    expect(decodeCharset(Buffer.from([0x80, 0x20, 0x84, 0x71, 0x93, 0x85, 0xe9]), 'windows-1252')).toBe(
      '€ „q“…é',
    );
    expect(decodeCharset(Buffer.from([0x80]), 'iso-8859-1')).toBe('€');
    expect(decodeCharset(Buffer.from([0x81, 0x9d]), 'windows-1252')).toBe('\u0081\u009d');
  });
});
