import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeMessage } from './describe-message.js';
import { withHeaderPrefix } from './header-prefix.js';
import { MAX_HEADER_SEARCH_TEXT } from './search-text.js';

const corpusDir = new URL('../../../../../shared/corpus/', import.meta.url);
const corpus = readdirSync(corpusDir)
  .filter((file) => file.endsWith('.eml'))
  .sort()
  .map((file) => ({ file, blob: readFileSync(new URL(file, corpusDir)) }));

const delivered = (sender: string, recipient: string) =>
  Buffer.from(`Return-Path: <${sender}>\r\nDelivered-To: ${recipient}\r\n`);

/** Byte-exact: the same JSON text (keys in the same order) and the same search text. */
function expectSameAsWhole(blob: Buffer, prefix: Buffer): void {
  const derived = withHeaderPrefix(blob, describeMessage(blob), prefix);
  const whole = describeMessage(Buffer.concat([prefix, blob]));
  expect(JSON.stringify(derived.metadata)).toBe(JSON.stringify(whole.metadata));
  expect(derived.searchText).toBe(whole.searchText);
}

describe('withHeaderPrefix', () => {
  it('covers every message of the shared corpus', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(6);
  });

  for (const { file, blob } of corpus) {
    it(`describes ${file} behind Return-Path and Delivered-To as describeMessage of the whole copy`, () => {
      expectSameAsWhole(blob, delivered('sender@example.org', 'rcpt@example.test'));
      expectSameAsWhole(blob, delivered('', 'postmaster@example.test'));
      expectSameAsWhole(blob, Buffer.from('Delivered-To: only@example.test\n'));
    });
  }

  it('moves every part offset but the root header start, and serves the Delivered-To header field', () => {
    const blob = corpus.find((c) => c.file === 'nested-alternative-rfc822.eml')!.blob;
    const prefix = delivered('a@b.example', 'c@d.example');
    const plain = describeMessage(blob).metadata;
    const copy = withHeaderPrefix(blob, describeMessage(blob), prefix).metadata;
    expect(copy.size).toBe(blob.length + prefix.length);
    expect(copy.root.headerStart).toBe(0);
    expect(copy.root.bodyStart).toBe(plain.root.bodyStart + prefix.length);
    expect(copy.root.children[0]!.headerStart).toBe(plain.root.children[0]!.headerStart + prefix.length);
    expect(copy.searchHeaders.slice(0, 2)).toEqual([
      { name: 'return-path', value: '<a@b.example>' },
      { name: 'delivered-to', value: 'c@d.example' },
    ]);
    expect(copy.envelope).toEqual(plain.envelope);
  });

  it('leaves a description alone for an empty prefix (APPEND)', () => {
    const blob = corpus[0]!.blob;
    const described = describeMessage(blob);
    expect(withHeaderPrefix(blob, described, Buffer.alloc(0))).toBe(described);
  });

  // Each of these breaks one condition of the shortcut; the answer must still be exact.
  const edges: [string, string, string][] = [
    ['a blob that begins with folding white space', ' continued\r\nSubject: x\r\n\r\nbody\r\n', ''],
    ['a blob that begins with a tab', '\tcontinued\r\n\r\nbody\r\n', ''],
    ['a blob that begins with its blank line', '\r\nno header at all\r\n', ''],
    ['a blob that begins with a bare LF', '\nbody after a bare LF\n', ''],
    ['a blob without a blank line', 'Subject: only a header\r\n', ''],
    ['an empty blob', '', ''],
    ['a blob with bare LFs', 'Subject: x\n\nline\nline\n', ''],
    ['a prefix that sets a field the parser reads', 'Subject: theirs\r\n\r\nbody\r\n', 'Subject: ours\r\n'],
    [
      'a prefix with Content-Type',
      'Content-Type: text/html\r\n\r\n<p>x</p>\r\n',
      'Content-Type: text/plain\r\n',
    ],
    [
      'a prefix with MIME-Version',
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n',
      'MIME-Version: 1.0\r\n',
    ],
    ['a prefix with a blank line', 'Subject: x\r\n\r\nbody\r\n', 'X-A: 1\r\n\r\n'],
    ['a prefix without its line end', 'Subject: x\r\n\r\nbody\r\n', 'X-A: 1'],
    ['a prefix that ends in a bare CR', 'Subject: x\r\n\r\nbody\r\n', 'X-A: 1\r'],
    ['a folded prefix field', 'Subject: x\r\n\r\nbody\r\n', 'X-Folded: a\r\n b\r\n'],
    ['a prefix line without a colon', 'Subject: x\r\n\r\nbody\r\n', 'junk line\r\n'],
    ['a prefix with an encoded word and NUL', 'Subject: x\r\n\r\nbody\r\n', 'X-W: =?utf-8?q?a=00b?=\r\n'],
    [
      'NULs in the blob header',
      'Subject: a\u0000b\r\nX-Other: =?utf-8?q?c=00d?=\r\n\r\nbody\u0000text\r\n',
      '',
    ],
  ];
  for (const [name, blob, prefix] of edges) {
    it(`is exact for ${name}`, () => {
      expectSameAsWhole(
        Buffer.from(blob, 'latin1'),
        Buffer.from(prefix || 'Delivered-To: x@y\r\n', 'latin1'),
      );
    });
  }

  it('cuts the header search text at the same field as the whole copy would', () => {
    // SEARCH counts name + value + 2 per field: 1987 for this one, 5 + n + 2 for X-Pad.
    const long = `X-Long: ${'w '.repeat(990)}\r\n`;
    const prefix = Buffer.from(`Delivered-To: ${'r'.repeat(500)}@example.test\r\n`); // 527
    for (const spare of [0, 1, 300, 526, 527, 528, 5000]) {
      const longs = Math.floor((MAX_HEADER_SEARCH_TEXT - spare - 8) / 1987);
      const pad = MAX_HEADER_SEARCH_TEXT - spare - longs * 1987 - 7;
      const blob = Buffer.from(`${long.repeat(longs)}X-Pad: ${'p'.repeat(pad)}\r\n\r\nbody\r\n`);
      expect(describeMessage(blob).metadata.searchTruncated).toBe(false);
      expectSameAsWhole(blob, prefix);
    }
    const truncatedBlob = Buffer.from(`${long.repeat(130)}\r\nbody\r\n`);
    expect(describeMessage(truncatedBlob).metadata.searchTruncated).toBe(true);
    expectSameAsWhole(truncatedBlob, delivered('a@b', 'c@d'));
  });

  it('cuts at the same field when the blob header held NULs the stored text lost', () => {
    // Unstripped, each X-N field counts 3 + 990 + 2; stored (stripped), 5. The prefix: 35.
    for (const spare of [0, 20, 34, 35, 36]) {
      const fields = Math.floor((MAX_HEADER_SEARCH_TEXT - spare - 6) / 995);
      const pad = MAX_HEADER_SEARCH_TEXT - spare - fields * 995 - 5;
      const header = `X-N: ${'\u0000'.repeat(990)}\r\n`.repeat(fields) + `X-P: ${'\u0000'.repeat(pad)}\r\n`;
      const blob = Buffer.from(`${header}\r\nbody\r\n`, 'latin1');
      expect(describeMessage(blob).metadata.searchTruncated).toBe(false);
      expectSameAsWhole(blob, delivered('a@b', 'c@d'));
    }
  });

  it('agrees with describeMessage of the whole copy for MIME-like and mangled messages', () => {
    fc.assert(
      fc.property(messageLike, prefixLike, (blob, prefix) => {
        const derived = withHeaderPrefix(blob, describeMessage(blob), prefix);
        const whole = describeMessage(Buffer.concat([prefix, blob]));
        return (
          JSON.stringify(derived.metadata) === JSON.stringify(whole.metadata) &&
          derived.searchText === whole.searchText
        );
      }),
      { numRuns: 500 },
    );
  });
});

const lineEnd = fc.constantFrom('\r\n', '\n', '\r', '');
const fieldName = fc.constantFrom(
  'Content-Type',
  'MIME-Version',
  'Subject',
  'From',
  'To',
  'X-Junk',
  ' ',
  '\t',
);
const fieldValue = fc.oneof(
  fc.constantFrom(
    'multipart/mixed; boundary=b',
    'message/rfc822',
    'text/plain; charset=iso-2022-jp',
    '=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=',
    '1.0',
    'a@b, "x" <c@d>',
  ),
  fc.string({ maxLength: 20 }),
);
const bodyLine = fc.oneof(
  fc.constantFrom('--b', '--b--', '', 'SGVsbG8=', ' folded'),
  fc.string({ maxLength: 30 }),
);
const messageLike = fc
  .array(
    fc.oneof(
      fc.tuple(fieldName, fieldValue, lineEnd).map(([n, v, e]) => `${n}: ${v}${e}`),
      fc.tuple(bodyLine, lineEnd).map(([l, e]) => l + e),
    ),
    { maxLength: 30 },
  )
  .map((lines) => Buffer.from(lines.join(''), 'latin1'));
const prefixLike = fc.oneof(
  fc.tuple(fc.emailAddress(), fc.emailAddress()).map(([s, r]) => delivered(s, r)),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('Delivered-To', 'X-Original-To', 'Subject', 'Content-Type', ' '),
        fc.string({ maxLength: 10 }),
        lineEnd,
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map((fields) => Buffer.from(fields.map(([n, v, e]) => `${n}: ${v}${e}`).join(''), 'latin1')),
);
