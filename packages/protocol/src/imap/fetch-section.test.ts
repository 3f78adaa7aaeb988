import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findHeaderEnd, parseHeaderFields } from '../mime/header-parser.js';
import { isMultipart, type MimePart } from '../mime/mime-part.js';
import { parseMessage } from '../mime/parse-message.js';
import { decodeTransferEncoding, normaliseTransferEncoding } from '../mime/transfer-encoding.js';
import {
  applyPartial,
  binarySize,
  decodeSectionBinary,
  extractSection,
  findSectionPart,
  parseSectionSpec,
  type SectionSpec,
} from './fetch-section.js';

// The shared corpus sits beside the repository clone (/work/shared next to /work/main, and the same in CI).
const corpusDir = new URL('../../../../../shared/corpus/', import.meta.url);
const corpusFiles = readdirSync(fileURLToPath(corpusDir))
  .filter((file) => file.endsWith('.eml'))
  .sort();

const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');
const bytes = (text: string) => encoder.encode(text);
const text = (data: Uint8Array | undefined) => (data === undefined ? undefined : latin1.decode(data));
/** CRLF line endings for hand-written messages. */
const crlf = (lines: string[]) => lines.join('\r\n');

function spec(textSpec: string): SectionSpec {
  const parsed = parseSectionSpec(textSpec);
  if (!parsed) throw new Error(`bad spec ${textSpec}`);
  return parsed;
}

function section(raw: Uint8Array, textSpec: string): string | undefined {
  return text(extractSection(raw, parseMessage(raw).root, spec(textSpec)));
}

/** Every part an IMAP section-part can name, with its number, following RFC 3501 §6.4.5. */
function* numberedParts(root: MimePart): Generator<[number[], MimePart]> {
  if (isMultipart(root)) {
    yield* below(root, []);
  } else {
    yield [[1], root];
    yield* below(root, [1]);
  }
}
function* below(part: MimePart, path: number[]): Generator<[number[], MimePart]> {
  if (isMultipart(part)) {
    for (const [i, child] of part.children.entries()) {
      const childPath = [...path, i + 1];
      yield [childPath, child];
      yield* below(child, childPath);
    }
  } else if (part.message) {
    const nested = part.message.root;
    if (isMultipart(nested)) {
      yield* below(nested, path);
    } else {
      yield [[...path, 1], nested];
      yield* below(nested, [...path, 1]);
    }
  }
}

function concat(...chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

describe('parseSectionSpec', () => {
  it.each([
    ['', { part: [] }],
    ['1', { part: [1] }],
    ['1.2', { part: [1, 2] }],
    ['10.2.33', { part: [10, 2, 33] }],
    ['HEADER', { part: [], text: 'HEADER' }],
    ['header', { part: [], text: 'HEADER' }],
    ['Text', { part: [], text: 'TEXT' }],
    ['2.HEADER', { part: [2], text: 'HEADER' }],
    ['1.MIME', { part: [1], text: 'MIME' }],
    ['1.2.mime', { part: [1, 2], text: 'MIME' }],
    ['3.TEXT', { part: [3], text: 'TEXT' }],
    ['HEADER.FIELDS (Subject From)', { part: [], text: 'HEADER.FIELDS', fields: ['Subject', 'From'] }],
    ['header.fields (subject)', { part: [], text: 'HEADER.FIELDS', fields: ['subject'] }],
    ['1.HEADER.FIELDS.NOT (X-A)', { part: [1], text: 'HEADER.FIELDS.NOT', fields: ['X-A'] }],
    ['2.1.Header.Fields.Not (X-A X-B)', { part: [2, 1], text: 'HEADER.FIELDS.NOT', fields: ['X-A', 'X-B'] }],
    [
      'HEADER.FIELDS ("Subject" "X \\"q\\" \\\\")',
      { part: [], text: 'HEADER.FIELDS', fields: ['Subject', 'X "q" \\'] },
    ],
    ['HEADER.FIELDS ("")', { part: [], text: 'HEADER.FIELDS', fields: [''] }],
    ['HEADER.FIELDS (A "B" C)', { part: [], text: 'HEADER.FIELDS', fields: ['A', 'B', 'C'] }],
    ['HEADER.FIELDS ( A  B )', { part: [], text: 'HEADER.FIELDS', fields: ['A', 'B'] }],
    ['01.2', { part: [1, 2] }],
  ])('parses [%s]', (input, expected) => {
    expect(parseSectionSpec(input)).toEqual(expected);
  });

  it.each([
    '0',
    '1.0',
    '0.HEADER',
    '1.',
    '.1',
    '1..2',
    '.HEADER',
    'MIME',
    '1MIME',
    '1.HEADERS',
    'HEADER ',
    ' HEADER',
    'TEXT.1',
    'HEADER.FIELDS',
    'HEADER.FIELDS ',
    'HEADER.FIELDS ()',
    'HEADER.FIELDS (  )',
    'HEADER.FIELDS(Subject)',
    'HEADER.FIELDS  (Subject)',
    'HEADER.FIELDS (Subject',
    'HEADER.FIELDS (Subject) ',
    'HEADER.FIELDS (Subject) X',
    'HEADER.FIELDS.NOT',
    'HEADER.FIELDS.NOT ()',
    'HEADER.FIELDS (Sub*ject)',
    'HEADER.FIELDS (Sub%)',
    'HEADER.FIELDS ("unterminated)',
    'HEADER.FIELDS ("bad \\escape")',
    'HEADER.FIELDS ("a""b")',
    'HEADER.FIELDS (a"b")',
    'HEADER.FIELDS ((Subject))',
    'HEADER.FIELDS (Sübject)',
    'HEADER.MIME',
    'HEADER.TEXT',
    'BODY',
    'garbage',
    '1.2.3.MIME.TEXT',
    '99999999999999999999',
  ])('refuses [%s]', (input) => {
    expect(parseSectionSpec(input)).toBeUndefined();
  });
});

describe('the shared corpus', () => {
  it('is there', () => {
    expect(corpusFiles.length).toBeGreaterThan(0);
  });

  describe.each(corpusFiles)('%s', (file) => {
    const raw = new Uint8Array(readFileSync(new URL(file, corpusDir)));
    const { root } = parseMessage(raw);
    const parts = [...numberedParts(root)];

    it('BODY[] is the whole message and BODY[HEADER] + BODY[TEXT] concatenate to it', () => {
      expect(extractSection(raw, root, spec(''))).toEqual(raw);
      const header = extractSection(raw, root, spec('HEADER'))!;
      const body = extractSection(raw, root, spec('TEXT'))!;
      expect(concat(header, body)).toEqual(raw);
      expect(text(header)).toMatch(/\r?\n\r?\n$/);
    });

    it('finds every part by its number, and the number is the section the parser recorded', () => {
      expect(parts.length).toBeGreaterThan(0);
      for (const [path, part] of parts) {
        expect(findSectionPart(root, path)).toBe(part);
        expect(part.section).toBe(path.join('.'));
      }
      const last = parts.at(-1)![0];
      expect(findSectionPart(root, [...last.slice(0, -1), last.at(-1)! + 1])).toBeUndefined();
    });

    it('serves each part body, and each MIME header, as a slice of the raw message', () => {
      for (const [path, part] of parts) {
        const number = path.join('.');
        expect(extractSection(raw, root, spec(number))).toEqual(raw.slice(part.bodyStart, part.bodyEnd));
        const mime = extractSection(raw, root, spec(`${number}.MIME`))!;
        expect(mime).toEqual(raw.slice(part.headerStart, part.bodyStart));
        if (findHeaderEnd(raw, part.headerStart, part.bodyStart) === part.bodyStart) {
          expect(text(mime)).toMatch(/(^|\n)\r?\n$/);
        }
      }
    });

    it('serves HEADER and TEXT of message/rfc822 parts only', () => {
      for (const [path, part] of parts) {
        const number = path.join('.');
        const header = extractSection(raw, root, spec(`${number}.HEADER`));
        const body = extractSection(raw, root, spec(`${number}.TEXT`));
        if (part.message) {
          const nested = part.message.root;
          expect(header).toEqual(raw.slice(nested.headerStart, nested.bodyStart));
          expect(body).toEqual(raw.slice(nested.bodyStart, nested.bodyEnd));
          expect(concat(header!, body!)).toEqual(extractSection(raw, root, spec(number)));
        } else {
          expect(header).toBeUndefined();
          expect(body).toBeUndefined();
        }
      }
    });

    it('splits the header between HEADER.FIELDS and HEADER.FIELDS.NOT', () => {
      const names = [...new Set(parseHeaderFields(raw, root.headerStart, root.bodyStart).map((f) => f.name))];
      const header = text(extractSection(raw, root, spec('HEADER')))!;
      const headerLines = header.replace(/\r?\n$/, '');
      for (let k = 0; k <= names.length; k++) {
        const list = names.slice(0, k).length > 0 ? names.slice(0, k) : ['X-Not-There'];
        const quoted = `(${list.map((n) => `"${n}"`).join(' ')})`;
        const only = text(extractSection(raw, root, spec(`HEADER.FIELDS ${quoted}`)))!;
        const not = text(extractSection(raw, root, spec(`HEADER.FIELDS.NOT ${quoted}`)))!;
        expect(only.endsWith('\r\n')).toBe(true);
        expect(not.endsWith('\r\n')).toBe(true);
        expect(only.length + not.length - 4).toBe(headerLines.length);
        if (k === names.length) expect(not).toBe('\r\n');
        if (k === 0) expect(not).toBe(`${headerLines}\r\n`);
      }
    });

    it('serves BINARY of every leaf decoded, and BINARY.SIZE agrees', () => {
      for (const [path, part] of parts) {
        const decoded = decodeSectionBinary(raw, root, path);
        const size = binarySize(root, path);
        if (isMultipart(part) || part.message) {
          expect(decoded).toEqual({ data: raw.slice(part.bodyStart, part.bodyEnd) });
          expect(size).toBe(part.size);
          continue;
        }
        const body = raw.slice(part.bodyStart, part.bodyEnd);
        expect(decoded).toEqual({ data: decodeTransferEncoding(body, part.encoding) });
        if (typeof decoded === 'object') expect(size).toBe(decoded.data.length);
        if (normaliseTransferEncoding(part.encoding) === 'base64') {
          expect(typeof decoded === 'object' && decoded.data.length < body.length).toBe(true);
        }
      }
      expect(decodeSectionBinary(raw, root, [])).toEqual({ data: raw });
      expect(binarySize(root, [])).toBe(raw.length);
    });
  });

  it('decodes the base64 and quoted-printable parts of nested-alternative-rfc822.eml', () => {
    const raw = new Uint8Array(readFileSync(new URL('nested-alternative-rfc822.eml', corpusDir)));
    const { root } = parseMessage(raw);
    const qp = findSectionPart(root, [1, 1])!;
    expect(qp.encoding?.toLowerCase()).toBe('quoted-printable');
    const qpDecoded = decodeSectionBinary(raw, root, [1, 1]);
    expect(typeof qpDecoded === 'object' && text(qpDecoded.data)).not.toMatch(/=\r?\n|=[0-9A-F]{2}/);
    const attachment = findSectionPart(root, [3])!;
    expect(attachment.encoding?.toLowerCase()).toBe('base64');
    const base64 = text(extractSection(raw, root, spec('3')))!.replace(/\s+/g, '');
    expect(decodeSectionBinary(raw, root, [3])).toEqual({
      data: new Uint8Array(Buffer.from(base64, 'base64')),
    });
  });
});

// A multipart/mixed message holding a message/rfc822 that holds a multipart/mixed with
// a multipart/alternative and another message/rfc822, plus base64 and QP leaves.
const innerSingle = crlf(['From: c@example.org', 'Subject: innermost', '', 'single-part body', '']);
const innerAlternative = crlf([
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  'alt preamble',
  '--alt',
  'Content-Type: text/plain',
  '',
  'plain text',
  '--alt',
  'Content-Type: text/html',
  '',
  '<p>html</p>',
  '--alt--',
  'alt epilogue',
]);
const encapsulated = crlf([
  'From: b@example.org',
  'Subject: forwarded',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="mid"',
  '',
  '--mid',
  innerAlternative,
  '--mid',
  'Content-Type: message/rfc822',
  '',
  innerSingle,
  '--mid--',
  '',
]);
const nestedRaw = bytes(
  crlf([
    'From: a@example.org',
    'Subject: outer',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    'preamble',
    '--outer',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'first part',
    '--outer',
    'Content-Type: message/rfc822',
    'Content-Description: forwarded message',
    '',
    encapsulated,
    '--outer',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: BASE64',
    '',
    'AAECA/8=',
    '--outer',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'caf=C3=A9 =',
    'soft break=3D',
    '--outer',
    'Content-Type: application/x-thing',
    'Content-Transfer-Encoding: x-uuencode',
    '',
    'begin 644 x',
    '--outer--',
    'epilogue',
  ]),
);

describe('a hand-made nested message', () => {
  const { root } = parseMessage(nestedRaw);
  const get = (s: string) => section(nestedRaw, s);

  it('serves the message and its top-level parts', () => {
    expect(get('')).toBe(text(nestedRaw));
    expect(get('HEADER')).toBe(
      crlf([
        'From: a@example.org',
        'Subject: outer',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="outer"',
        '',
        '',
      ]),
    );
    expect(get('TEXT')!.startsWith('preamble\r\n--outer\r\n')).toBe(true);
    expect(get('TEXT')!.endsWith('--outer--\r\nepilogue')).toBe(true);
    expect(get('1')).toBe('first part');
    expect(get('1.MIME')).toBe('Content-Type: text/plain; charset=us-ascii\r\n\r\n');
    expect(get('6')).toBeUndefined();
    // Dovecot's numbering: below a multipart, part n.1 of a leaf n is n itself; n.1.1 is nothing
    expect(get('1.1')).toBe('first part');
    expect(get('1.1.MIME')).toBe(get('1.MIME'));
    expect(get('1.1.1')).toBeUndefined();
    expect(get('1.2')).toBeUndefined();
    expect(get('1.HEADER')).toBeUndefined();
    expect(get('1.TEXT')).toBeUndefined();
  });

  it('serves a message/rfc822 part: the whole encapsulated message, its MIME header, HEADER and TEXT', () => {
    expect(get('2')).toBe(encapsulated);
    expect(get('2.MIME')).toBe(
      'Content-Type: message/rfc822\r\nContent-Description: forwarded message\r\n\r\n',
    );
    expect(get('2.HEADER')).toBe(
      crlf([
        'From: b@example.org',
        'Subject: forwarded',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="mid"',
        '',
        '',
      ]),
    );
    expect(get('2.TEXT')).toBe(get('2')!.slice(get('2.HEADER')!.length));
    expect(get('2.HEADER.FIELDS (subject)')).toBe('Subject: forwarded\r\n\r\n');
    expect(get('2.HEADER.FIELDS.NOT (From Subject MIME-Version)')).toBe(
      'Content-Type: multipart/mixed; boundary="mid"\r\n\r\n',
    );
  });

  it('numbers the parts of the encapsulated multipart as 2.1, 2.2 and serves a multipart part with its boundaries', () => {
    expect(findSectionPart(root, [2, 1])?.subtype).toBe('alternative');
    expect(get('2.1')).toBe(
      crlf(['alt preamble', '--alt', 'Content-Type: text/plain', '', 'plain text', '--alt']) +
        crlf(['', 'Content-Type: text/html', '', '<p>html</p>', '--alt--', 'alt epilogue']),
    );
    expect(get('2.1.MIME')).toBe('Content-Type: multipart/alternative; boundary="alt"\r\n\r\n');
    expect(get('2.1.1')).toBe('plain text');
    expect(get('2.1.2')).toBe('<p>html</p>');
    expect(get('2.1.2.MIME')).toBe('Content-Type: text/html\r\n\r\n');
    expect(get('2.1.3')).toBeUndefined();
    expect(get('2.1.HEADER')).toBeUndefined();
    expect(get('2.1.TEXT')).toBeUndefined();
    expect(get('2.3')).toBeUndefined();
  });

  it('serves 2.2.HEADER / 2.2.TEXT of a message/rfc822 inside the encapsulated message, and 2.2.1 its single part', () => {
    expect(findSectionPart(root, [2, 2])?.type).toBe('message');
    expect(get('2.2')).toBe(innerSingle);
    expect(get('2.2.MIME')).toBe('Content-Type: message/rfc822\r\n\r\n');
    expect(get('2.2.HEADER')).toBe('From: c@example.org\r\nSubject: innermost\r\n\r\n');
    expect(get('2.2.TEXT')).toBe('single-part body\r\n');
    expect(get('2.2.HEADER.FIELDS (FROM)')).toBe('From: c@example.org\r\n\r\n');
    // 2.2.1 is the encapsulated single-part message itself: its body, and its header as MIME (Dovecot)
    expect(get('2.2.1')).toBe('single-part body\r\n');
    expect(get('2.2.1.MIME')).toBe('From: c@example.org\r\nSubject: innermost\r\n\r\n');
    expect(get('2.2.2')).toBeUndefined();
    expect(get('2.2.1.1')).toBeUndefined();
    expect(get('2.2.1.HEADER')).toBeUndefined();
  });

  it('serves BINARY decoded: base64, quoted-printable, identity; unknown encodings are refused', () => {
    expect(decodeSectionBinary(nestedRaw, root, [3])).toEqual({ data: new Uint8Array([0, 1, 2, 3, 255]) });
    expect(binarySize(root, [3])).toBe(5);
    const qp = decodeSectionBinary(nestedRaw, root, [4]);
    expect(qp).toEqual({ data: bytes('café soft break=') });
    expect(binarySize(root, [4])).toBe(bytes('café soft break=').length);
    expect(decodeSectionBinary(nestedRaw, root, [1])).toEqual({ data: bytes('first part') });
    expect(binarySize(root, [1])).toBe(10);
    expect(decodeSectionBinary(nestedRaw, root, [5])).toBe('unknown-encoding');
    expect(binarySize(root, [5])).toBe('unknown-encoding');
    expect(decodeSectionBinary(nestedRaw, root, [6])).toBeUndefined();
    expect(binarySize(root, [6])).toBeUndefined();
    expect(decodeSectionBinary(nestedRaw, root, [2, 1, 1])).toEqual({ data: bytes('plain text') });
    // composite parts come as stored
    expect(decodeSectionBinary(nestedRaw, root, [2])).toEqual({ data: bytes(get('2')!) });
    expect(binarySize(root, [2])).toBe(bytes(get('2')!).length);
  });

  it('falls back to decoding the raw message for BINARY.SIZE when metadata lacks decodedSize', () => {
    const stored = JSON.parse(JSON.stringify(root)) as MimePart;
    const part = findSectionPart(stored, [3])! as Partial<MimePart>;
    delete part.decodedSize;
    expect(binarySize(stored, [3], nestedRaw)).toBe(5);
    expect(binarySize(stored, [3])).toBe(findSectionPart(stored, [3])!.size);
  });

  it('serves the same sections from metadata that went through JSON', () => {
    const stored = JSON.parse(JSON.stringify(root)) as MimePart;
    for (const [path] of numberedParts(root)) {
      const s = spec(path.join('.'));
      expect(extractSection(nestedRaw, stored, s)).toEqual(extractSection(nestedRaw, root, s));
    }
  });
});

describe('a single-part message', () => {
  const raw = bytes(crlf(['Subject: hi', 'Content-Type: text/plain', '', 'hello', 'world']));
  const get = (s: string) => section(raw, s);

  it('has part 1, its body, whose MIME header is the message header', () => {
    expect(get('1')).toBe('hello\r\nworld');
    expect(get('TEXT')).toBe('hello\r\nworld');
    expect(get('1.MIME')).toBe('Subject: hi\r\nContent-Type: text/plain\r\n\r\n');
    expect(get('2')).toBeUndefined();
    expect(get('1.1')).toBeUndefined();
    expect(get('1.HEADER')).toBeUndefined();
    expect(get('1.TEXT')).toBeUndefined();
  });

  it('numbers a top-level message/rfc822 body as 1 and its content as 1.1', () => {
    const forwarded = bytes(
      crlf(['MIME-Version: 1.0', 'Content-Type: message/rfc822', '', 'Subject: inner', '', 'inner body']),
    );
    const g = (s: string) => section(forwarded, s);
    expect(g('1')).toBe('Subject: inner\r\n\r\ninner body');
    expect(g('1.HEADER')).toBe('Subject: inner\r\n\r\n');
    expect(g('1.TEXT')).toBe('inner body');
    expect(g('1.1')).toBe('inner body');
    expect(g('1.2')).toBeUndefined();
  });

  it('serves a message without a body separator', () => {
    const headerOnly = bytes('Subject: only a header');
    const g = (s: string) => section(headerOnly, s);
    expect(g('')).toBe('Subject: only a header');
    expect(g('HEADER.FIELDS (Subject)')).toBe('Subject: only a header\r\n\r\n');
    expect(g('HEADER.FIELDS.NOT (Subject)')).toBe('\r\n');
  });
});

describe('HEADER.FIELDS', () => {
  const header = [
    'Received: from a\r\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000\r\n',
    'SUBJECT: first\r\n  folded once\r\n\tand twice\r\n',
    'From: someone@example.org\r\n',
    'x-a: 1\r\n',
    'subject : obsolete space before the colon\r\n',
    'this line has no colon\r\n',
    'X-AB: not X-A\r\n',
    'X-Empty:\r\n',
  ];
  const raw = bytes(`${header.join('')}\r\nbody\r\n`);
  const get = (s: string) => section(raw, s);

  it('returns the named fields in message order with their continuation lines, then CRLF', () => {
    expect(get('HEADER.FIELDS (Subject)')).toBe(`${header[1]}${header[4]}\r\n`);
    expect(get('HEADER.FIELDS (x-A FROM)')).toBe(`${header[2]}${header[3]}\r\n`);
    expect(get('HEADER.FIELDS (received)')).toBe(`${header[0]}\r\n`);
    expect(get('HEADER.FIELDS ("X-Empty")')).toBe(`${header[7]}\r\n`);
    expect(get('HEADER.FIELDS (Subject Subject subject)')).toBe(`${header[1]}${header[4]}\r\n`);
  });

  it('returns only the blank line when nothing matches', () => {
    expect(get('HEADER.FIELDS (X-Missing)')).toBe('\r\n');
    expect(get('HEADER.FIELDS (X)')).toBe('\r\n');
    expect(get('HEADER.FIELDS (Subject:)')).toBe('\r\n');
    expect(get('HEADER.FIELDS ("this line has no colon")')).toBe('\r\n');
  });

  it('.NOT returns every other line, lines without a colon included', () => {
    expect(get('HEADER.FIELDS.NOT (subject received x-a)')).toBe(
      `${header[2]}${header[5]}${header[6]}${header[7]}\r\n`,
    );
    expect(get('HEADER.FIELDS.NOT (X-Missing)')).toBe(`${header.join('')}\r\n`);
  });

  it('keeps bare-LF lines as stored, and ends with a CRLF blank line', () => {
    const lf = bytes('Subject: a\n b\nFrom: x\n\nbody\n');
    expect(section(lf, 'HEADER.FIELDS (subject)')).toBe('Subject: a\n b\n\r\n');
    expect(section(lf, 'HEADER.FIELDS.NOT (subject)')).toBe('From: x\n\r\n');
    expect(section(lf, 'HEADER')).toBe('Subject: a\n b\nFrom: x\n\n');
  });

  it('compares names octet for octet beyond ASCII, case-insensitively only in ASCII', () => {
    const raw8 = bytes('X-Ä: 1\r\nX-ä: 2\r\n\r\n');
    expect(section(raw8, 'HEADER.FIELDS ("X-Ä")')).toBe(text(bytes('X-Ä: 1\r\n\r\n')));
    expect(section(raw8, 'HEADER.FIELDS ("x-ä")')).toBe(text(bytes('X-ä: 2\r\n\r\n')));
  });

  it('partitions any header between HEADER.FIELDS and HEADER.FIELDS.NOT (property)', () => {
    const name = fc.constantFrom('Subject', 'subject', 'X-A', 'From', 'To', 'x-b');
    const line = fc.oneof(
      fc
        .tuple(name, fc.constantFrom('', ' ', '\t'), fc.stringMatching(/^[ -~]{0,8}$/))
        .map(([n, ws, v]) => `${n}${ws}:${v}\r\n`),
      fc.stringMatching(/^[ \t][ -~]{0,6}$/).map((v) => `${v}\r\n`),
      fc.stringMatching(/^[!-9;-~]{1,6}$/).map((v) => `${v}\r\n`),
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 12 }),
        fc.uniqueArray(name, { minLength: 1 }),
        (lines, names) => {
          const headerText = lines.filter((l, i) => i > 0 || !/^[ \t]/.test(l)).join('');
          const msg = bytes(`${headerText}\r\nbody`);
          const { root } = parseMessage(msg);
          const list = `(${names.join(' ')})`;
          const only = text(extractSection(msg, root, spec(`HEADER.FIELDS ${list}`)))!;
          const not = text(extractSection(msg, root, spec(`HEADER.FIELDS.NOT ${list}`)))!;
          expect(only.length + not.length - 4).toBe(headerText.length);
          const wanted = new Set(names.map((n) => n.toLowerCase()));
          for (const field of parseHeaderFields(bytes(only), 0, bytes(only).length)) {
            expect(wanted.has(field.name.toLowerCase())).toBe(true);
          }
          for (const field of parseHeaderFields(bytes(not), 0, bytes(not).length)) {
            expect(wanted.has(field.name.toLowerCase())).toBe(false);
          }
        },
      ),
    );
  });
});

describe('applyPartial', () => {
  const data = bytes('0123456789');

  it('slices <origin.octets>', () => {
    expect(text(applyPartial(data, 0, 4))).toBe('0123');
    expect(text(applyPartial(data, 3, 4))).toBe('3456');
    expect(text(applyPartial(data, 8, 4))).toBe('89');
    expect(text(applyPartial(data, 0, 10))).toBe('0123456789');
    expect(text(applyPartial(data, 0, 11))).toBe('0123456789');
    expect(text(applyPartial(data, 9, 1))).toBe('9');
    expect(text(applyPartial(data, 5, 0))).toBe('');
    expect(text(applyPartial(data, 4))).toBe('456789');
  });

  it('gives an empty string for an origin at or beyond the end', () => {
    expect(applyPartial(data, 10, 5)).toHaveLength(0);
    expect(applyPartial(data, 11, 5)).toHaveLength(0);
    expect(applyPartial(data, 4294967295, 4294967295)).toHaveLength(0);
    expect(applyPartial(data, 10)).toHaveLength(0);
    expect(applyPartial(new Uint8Array(0), 0, 1)).toHaveLength(0);
  });

  it('agrees with a plain slice (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(100),
        fc.option(fc.nat(100), { nil: undefined }),
        (input, offset, length) => {
          const expected = input.slice(offset, length === undefined ? undefined : offset + length);
          expect(applyPartial(input, offset, length)).toEqual(expected);
        },
      ),
    );
  });
});

describe('any input', () => {
  it('HEADER + TEXT is the message and every numbered part slices inside it (property)', () => {
    const chunk = fc.constantFrom(
      'Content-Type: multipart/mixed; boundary=b\r\n',
      'Content-Type: message/rfc822\r\n',
      'Content-Transfer-Encoding: base64\r\n',
      'Subject: x\r\n',
      '\r\n',
      '--b\r\n',
      '--b--\r\n',
      'text\r\n',
      'QUJD\r\n',
      '\n',
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 30 }), (chunks) => {
        const raw = bytes(chunks.join(''));
        const { root } = parseMessage(raw);
        expect(extractSection(raw, root, { part: [] })).toEqual(raw);
        const header = extractSection(raw, root, { part: [], text: 'HEADER' })!;
        const body = extractSection(raw, root, { part: [], text: 'TEXT' })!;
        expect(concat(header, body)).toEqual(raw);
        for (const [path, part] of numberedParts(root)) {
          expect(findSectionPart(root, path)).toBe(part);
          const data = extractSection(raw, root, { part: path })!;
          expect(data).toEqual(raw.slice(part.bodyStart, part.bodyEnd));
          const decoded = decodeSectionBinary(raw, root, path);
          const size = binarySize(root, path);
          if (typeof decoded === 'object') expect(size).toBe(decoded.data.length);
          else expect(size).toBe(decoded);
        }
      }),
    );
  });
});
