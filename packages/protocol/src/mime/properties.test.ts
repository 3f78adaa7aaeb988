import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBodyStructure } from './body-structure.js';
import { formatEnvelope } from './envelope.js';
import { walkParts } from './mime-part.js';
import { parseMimeTree } from './mime-tree.js';
import { parseMessage } from './parse-message.js';
import { buildSearchText } from './search-text.js';

const encoder = new TextEncoder();

/**
 * Reads an IMAP value as a client would: checks that parentheses balance
 * outside strings, that quoted strings hold no CR/LF and end, and that every
 * literal {n}\r\n is followed by at least n octets. Returns the error, or null.
 */
function checkImapSyntax(value: string): string | null {
  const data = encoder.encode(value);
  let depth = 0;
  let i = 0;
  while (i < data.length) {
    const c = data[i]!;
    if (c === 0x28) depth++;
    else if (c === 0x29 && --depth < 0) return `unbalanced ) at ${i}`;
    else if (c === 0x22) {
      i++;
      while (i < data.length && data[i] !== 0x22) {
        if (data[i] === 0x0d || data[i] === 0x0a || data[i] === 0)
          return `CR/LF/NUL in quoted string at ${i}`;
        if (data[i] === 0x5c) i++;
        i++;
      }
      if (i >= data.length) return 'unterminated quoted string';
    } else if (c === 0x7b) {
      const close = data.indexOf(0x7d, i);
      const length = Number(new TextDecoder().decode(data.subarray(i + 1, close)));
      if (!Number.isInteger(length) || data[close + 1] !== 0x0d || data[close + 2] !== 0x0a)
        return `bad literal at ${i}`;
      i = close + 3 + length;
      if (i > data.length) return 'literal longer than the value';
      if (data[i] !== 0x20 && data[i] !== 0x29) return `literal length does not match at ${i}`;
      continue;
    }
    i++;
  }
  return depth === 0 ? null : `unbalanced: depth ${depth}`;
}

const lineEnd = fc.constantFrom('\r\n', '\n', '\r', '');
const headerName = fc.constantFrom(
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-Disposition',
  'Content-Language',
  'MIME-Version',
  'Subject',
  'From',
  'To',
  'Cc',
  'Message-ID',
  'Date',
  'X-Junk',
);
const headerValue = fc.oneof(
  fc.constantFrom(
    'multipart/mixed; boundary=b',
    'multipart/alternative; boundary="b2"',
    'multipart/digest; boundary=b',
    'message/rfc822',
    'text/plain; charset=iso-2022-jp',
    'text/html; charset=shift_jis',
    'base64',
    'quoted-printable',
    "attachment; filename*0*=utf-8''%E8; filename*1*=%A6",
    'Group: a@b, "x\\"y" <c@d>;, (comment) e@f',
    '=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= =?bogus?Q?=FF?=',
    '1.0',
    'Mon, 1 Aug 2011 18:16:07 +0900',
    'text/plain; __proto__=x; constructor=y',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const bodyLine = fc.oneof(
  fc.constantFrom(
    '--b',
    '--b--',
    '--b2',
    '--b2--',
    '',
    'SGVsbG8=',
    '=E2=82=AC=',
    '\x1b$B%F%9%H\x1b(B',
    '<p>&amp;</p>',
  ),
  fc.string({ maxLength: 40 }),
);

/** Messages shaped like MIME (headers, boundaries, nesting), assembled from random pieces. */
const mimeLikeMessage = fc
  .array(
    fc.oneof(
      fc.tuple(headerName, headerValue, lineEnd).map(([n, v, e]) => `${n}: ${v}${e}`),
      fc.tuple(bodyLine, lineEnd).map(([l, e]) => l + e),
    ),
    { maxLength: 40 },
  )
  .map((lines) => encoder.encode(lines.join('')));

const anyBytes = fc.uint8Array({ maxLength: 2000 });

/** A valid corpus-like message with random bytes spliced in. */
const mutatedMessage = fc
  .tuple(
    fc.constant(
      encoder.encode(
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\n' +
          'Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n' +
          '--i\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n5pel5pys\r\n--i--\r\n' +
          '--o\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--o--\r\n',
      ),
    ),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.uint8Array({ maxLength: 8 })), { maxLength: 6 }),
  )
  .map(([base, edits]) => {
    let data = base;
    for (const [at, remove, insert] of edits) {
      const pos = at % (data.length + 1);
      const next = new Uint8Array(data.length - Math.min(remove, data.length - pos) + insert.length);
      next.set(data.subarray(0, pos));
      next.set(insert, pos);
      next.set(data.subarray(pos + remove), pos + insert.length);
      data = next;
    }
    return data;
  });

function assertWellFormed(raw: Uint8Array): void {
  // the parts themselves must not throw: parseMessage's safety net is for bugs, not for input
  const root = parseMimeTree(raw);
  expect(() => buildSearchText(raw, root)).not.toThrow();
  const parsed = parseMessage(raw);
  expect(parsed.root).toEqual(root);
  expect(parsed.root.headerStart).toBe(0);
  expect(parsed.root.bodyEnd).toBe(raw.length);
  for (const part of walkParts(parsed.root)) {
    expect(part.headerStart).toBeLessThanOrEqual(part.bodyStart);
    expect(part.bodyStart).toBeLessThanOrEqual(part.bodyEnd);
    expect(part.bodyEnd).toBeLessThanOrEqual(raw.length);
    expect(part.size).toBe(part.bodyEnd - part.bodyStart);
    // children lie inside their parent's body, in order, without overlapping
    let previousEnd = part.bodyStart;
    for (const child of part.children) {
      expect(child.headerStart).toBeGreaterThanOrEqual(previousEnd);
      expect(child.bodyEnd).toBeLessThanOrEqual(part.bodyEnd);
      previousEnd = child.bodyEnd;
    }
    if (part.message) {
      expect(part.message.root.headerStart).toBe(part.bodyStart);
      expect(part.message.root.bodyEnd).toBe(part.bodyEnd);
    }
  }
  for (const extended of [false, true]) {
    for (const utf8 of [false, true]) {
      expect(checkImapSyntax(formatBodyStructure(parsed.root, extended, { utf8 }))).toBeNull();
    }
  }
  expect(checkImapSyntax(formatEnvelope(parsed.envelope))).toBeNull();
  expect(JSON.parse(JSON.stringify(parsed))).toEqual(parsed);
}

describe('parseMessage on arbitrary input', () => {
  it('never throws and keeps offsets monotone and in bounds on random bytes', () => {
    fc.assert(
      fc.property(anyBytes, (raw) => assertWellFormed(raw)),
      { numRuns: 300 },
    );
  });

  it('never throws on MIME-shaped random messages, and writes valid IMAP syntax', () => {
    fc.assert(
      fc.property(mimeLikeMessage, (raw) => assertWellFormed(raw)),
      { numRuns: 500 },
    );
  });

  it('never throws on mutations of a nested multipart message', () => {
    fc.assert(
      fc.property(mutatedMessage, (raw) => assertWellFormed(raw)),
      { numRuns: 500 },
    );
  });

  it('caps nesting depth instead of overflowing the stack', () => {
    const depth = 5000;
    const raw = encoder.encode('Content-Type: message/rfc822\r\n\r\n'.repeat(depth) + 'end\r\n');
    assertWellFormed(raw);
    const parts = [...walkParts(parseMessage(raw).root)];
    expect(parts.length).toBeLessThanOrEqual(102);
  });

  it('the syntax checker itself rejects wrong literal lengths and unbalanced lists', () => {
    expect(checkImapSyntax('("a" {3}\r\nab)')).not.toBeNull();
    expect(checkImapSyntax('(("a")')).not.toBeNull();
    expect(checkImapSyntax('("a" {2}\r\nab)')).toBeNull();
  });
});
