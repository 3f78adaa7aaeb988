import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { formatBodyStructure } from '../../../packages/protocol/src/mime/body-structure.js';
import { describeMessage } from '../../../packages/protocol/src/mime/describe-message.js';
import {
  buildEnvelope,
  formatEnvelope,
  MAX_ENVELOPE_FIELD_CHARS,
} from '../../../packages/protocol/src/mime/envelope.js';
import { parseHeaderDate } from '../../../packages/protocol/src/mime/header-date.js';
import { parseHeaderFields } from '../../../packages/protocol/src/mime/header-parser.js';
import { findPart, type MimePart, walkParts } from '../../../packages/protocol/src/mime/mime-part.js';
import { MAX_NESTING_DEPTH, parseMimeTree } from '../../../packages/protocol/src/mime/mime-tree.js';
import {
  buildSearchText,
  MAX_BODY_SEARCH_TEXT,
  MAX_HEADER_SEARCH_TEXT,
  normaliseForSearch,
} from '../../../packages/protocol/src/mime/search-text.js';
import { decodeTransferEncoding } from '../../../packages/protocol/src/mime/transfer-encoding.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { type ImapValue, readImapValue } from '../imap-value-reader.js';
import { address, bytesText, charset, encodedText, eol, headerText } from '../mail-grammar.js';
import { corpusMessages, ensure, mutatedBytes } from '../mail-seeds.js';

// The MIME parser (packages/protocol/src/mime) over what delivery and IMAP APPEND store:
// every byte sequence is a message that must be stored and described, never refused.

// ---- Grammar-aware messages: MIME trees with every encoding and many charsets.

const extraHeader = fc.oneof(
  fc
    .tuple(fc.constantFrom('Subject', 'Comments', 'Content-Description', 'X-Any'), headerText)
    .map(([n, v]) => `${n}: ${v}`),
  fc
    .tuple(
      fc.constantFrom('From', 'To', 'Cc', 'Bcc', 'Reply-To', 'Sender'),
      fc.array(address, { maxLength: 3 }),
    )
    .map(([n, v]) => `${n}: ${v.join(', ')}`),
  fc.constantFrom(
    'Date: Mon, 1 Aug 2011 18:16:07 +0900',
    'Date: 31 Feb 99 25:61:61 -9999',
    'Message-ID: <id@example.org>',
    'In-Reply-To: <a@b> <c@d>',
    'Content-Language: en, ja',
    'Content-ID: <cid@x>',
    'Content-Location: http://x/"y"',
    'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
    'MIME-Version: 1.0',
    ' stray continuation',
    'no colon here',
    ': empty name',
  ),
);

const disposition = fc
  .tuple(
    fc.constantFrom('attachment', 'inline', 'ATTACHMENT', 'x;'),
    fc.constantFrom(
      '',
      '; filename="a.txt"',
      "; filename*=utf-8''%E6%97%A5%E6%9C%AC.txt",
      "; filename*0*=iso-2022-jp''%1B%24B; filename*1*=%25F%1B%28B",
      '; filename*0=a; filename*2=c',
      '; filename="=?utf-8?B?5pel5pys?="',
      "; filename*=bogus'en'%FF%FE",
    ),
  )
  .map(([type, params]) => `Content-Disposition: ${type}${params}`);

interface Entity {
  headers: string[];
  body: string;
}

/** Quoted-printable as RFC 2045 §6.7 writes it: a space at the very end is encoded (rule 3). */
function qp(bytes: Buffer): string {
  let line = '';
  let out = '';
  for (const [i, b] of bytes.entries()) {
    const piece =
      (b >= 0x21 && b <= 0x7e && b !== 0x3d) || (b === 0x20 && i < bytes.length - 1)
        ? String.fromCharCode(b)
        : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line.length + piece.length > 75) {
      out += `${line}=\r\n`;
      line = '';
    }
    line += piece;
  }
  return out + line;
}

const leaf: fc.Arbitrary<Entity> = fc
  .tuple(
    fc.constantFrom(
      'text/plain',
      'text/html',
      'TEXT/PLAIN',
      'application/octet-stream',
      'image/jpeg',
      'text/enriched',
      'message/delivery-status',
    ),
    charset,
    fc.constantFrom('', '7bit', '8bit', 'binary', 'base64', 'quoted-printable', 'Base64', 'x-uuencode'),
    fc.oneof(
      encodedText,
      bytesText,
      fc.constantFrom('<p>a&amp;b<br>c</p>', '<script>x</script>y', '\u001b$B%F%9%H\u001b(B'),
    ),
    fc.array(fc.oneof(extraHeader, disposition), { maxLength: 3 }),
    fc.boolean(),
  )
  .map(([type, cs, encoding, text, more, wrap]) => {
    const bytes = Buffer.from(text, 'latin1');
    let body = text;
    if (encoding.toLowerCase() === 'base64') {
      const b64 = bytes.toString('base64');
      body = wrap ? (b64.match(/.{1,76}/g) ?? []).join('\r\n') : b64;
    } else if (encoding === 'quoted-printable') {
      body = qp(bytes);
    }
    const headers = [`Content-Type: ${type}${cs === '' ? '' : `; charset="${cs}"`}`, ...more];
    if (encoding !== '') headers.push(`Content-Transfer-Encoding: ${encoding}`);
    return { headers, body };
  });

const { entity } = fc.letrec<{ entity: Entity; multipart: Entity; rfc822: Entity }>((tie) => ({
  entity: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('multipart'), tie('rfc822')),
  multipart: fc
    .tuple(
      fc.constantFrom('mixed', 'alternative', 'digest', 'related', 'signed', 'report'),
      fc.constantFrom('b', 'b2', '=_part', 'outer', 'a"b', 'x'.repeat(70), ' '),
      fc.array(tie('entity'), { maxLength: 4 }),
      fc.constantFrom('', 'preamble\r\n', '--b-not-a-boundary\r\n'),
      fc.constantFrom('--', '--', '', '-- trailing', '-'),
      fc.constantFrom('', 'epilogue\r\n', '\r\n--b--\r\n'),
      fc.boolean(),
    )
    .map(([subtype, boundary, parts, preamble, close, epilogue, quoted]) => {
      const written =
        quoted || /[^A-Za-z0-9'()+_,./:=?-]/.test(boundary) ? `"${boundary.replace(/"/g, '\\"')}"` : boundary;
      const body =
        preamble +
        parts.map((p) => `--${boundary}\r\n${p.headers.join('\r\n')}\r\n\r\n${p.body}\r\n`).join('') +
        (close === '' ? '' : `--${boundary}${close}\r\n`) +
        epilogue;
      return { headers: [`Content-Type: multipart/${subtype}; boundary=${written}`], body };
    }),
  rfc822: fc
    .tuple(
      tie('entity'),
      fc.array(extraHeader, { maxLength: 4 }),
      fc.constantFrom('message/rfc822', 'MESSAGE/RFC822', 'message/global'),
    )
    .map(([inner, more, type]) => ({
      headers: [`Content-Type: ${type}`],
      body: `${[...more, ...inner.headers].join('\r\n')}\r\n\r\n${inner.body}`,
    })),
}));

const generatedMessage = fc
  .tuple(fc.array(extraHeader, { maxLength: 8 }), entity, fc.boolean(), eol)
  .map(([top, root, mime, lineEnd]) => {
    const headers = [...top, ...(mime ? ['MIME-Version: 1.0'] : []), ...root.headers];
    const text = `${headers.join('\r\n')}\r\n\r\n${root.body}`;
    return new Uint8Array(Buffer.from(lineEnd === '\r\n' ? text : text.replace(/\r\n/g, lineEnd), 'latin1'));
  });

/** Deep structures past the parser's caps: nesting, many parts, long lines. */
const deepMessage = fc
  .tuple(
    fc.constantFrom(
      'Content-Type: message/rfc822\r\n\r\n',
      'Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n',
      'Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n',
    ),
    fc.integer({ min: MAX_NESTING_DEPTH - 2, max: MAX_NESTING_DEPTH * 3 }),
    // A large body too: line counts of bodies past 128 KiB come from per-block totals.
    fc.constantFrom(0, 0, 70_000, 200_000),
    fc.nat({ max: 12 }),
  )
  .map(([unit, depth, size, width]) => {
    const line = `${'x'.repeat(width)}\n`;
    const body = line.repeat(Math.ceil(size / line.length));
    return new Uint8Array(Buffer.from(`${unit.repeat(depth)}end\r\n${body}`, 'latin1'));
  });

/** A message and, when it was built to hold one, the text SEARCH BODY must find in it. */
export interface MimeInput {
  readonly raw: Uint8Array;
  readonly text?: string;
}

function bytesIn(text: string, charset: string): Buffer {
  if (charset === 'utf-16be') return Buffer.from(text, 'utf16le').swap16();
  if (charset === 'utf-16le') return Buffer.from(text, 'utf16le');
  if (charset === 'iso-8859-1') return Buffer.from(text, 'latin1');
  return Buffer.from(text, 'utf8');
}

/** Known text in a charset and a transfer encoding, alone, in a multipart or in a message/rfc822. */
const knownText: fc.Arbitrary<MimeInput> = fc
  .tuple(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.constantFrom('utf-8', 'utf-16le', 'utf-16be', 'iso-8859-1'),
    fc.constantFrom('base64', 'quoted-printable', '8bit'),
    fc.constantFrom('alone', 'multipart', 'rfc822'),
  )
  // Latin-1 only for what it holds; C1 controls there read as windows-1252 (WHATWG), and a
  // leading U+FEFF is a byte order mark to a UTF-16 decoder.
  .filter(
    ([text, charset]) =>
      (charset !== 'iso-8859-1' || !/[^\p{ASCII}\xa0-\xff]/u.test(text)) && !text.startsWith('\ufeff'),
  )
  .map(([text, charset, encoding, wrap]) => {
    const bytes = bytesIn(text, charset);
    const body =
      encoding === 'base64'
        ? bytes.toString('base64')
        : encoding === 'quoted-printable'
          ? qp(bytes)
          : bytes.toString('latin1');
    const part = `Content-Type: text/plain; charset=${charset}\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n${body}`;
    const message =
      wrap === 'alone'
        ? `MIME-Version: 1.0\r\n${part}`
        : wrap === 'multipart'
          ? `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="=_fuzz_0"\r\n\r\n--=_fuzz_0\r\n${part}\r\n--=_fuzz_0--\r\n`
          : `MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nMIME-Version: 1.0\r\n${part}`;
    return { raw: new Uint8Array(Buffer.from(message, 'latin1')), text };
  });

const bytesOnly = (arbitrary: fc.Arbitrary<Uint8Array>): fc.Arbitrary<MimeInput> =>
  arbitrary.map((raw) => ({ raw }));

const input: fc.Arbitrary<MimeInput> = fc.oneof(
  { arbitrary: bytesOnly(generatedMessage), weight: 10 },
  { arbitrary: bytesOnly(mutatedBytes(corpusMessages, { base: generatedMessage })), weight: 10 },
  { arbitrary: knownText, weight: 5 },
  { arbitrary: bytesOnly(fc.uint8Array({ maxLength: 2000 })), weight: 2 },
  { arbitrary: bytesOnly(deepMessage), weight: 2 },
);

// ---- Properties.

function countLf(raw: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (raw[i] === 0x0a) n++;
  return n;
}

/** BODYSTRUCTURE read back by a client agrees with the bytes of each part. */
function checkBodyValue(raw: Uint8Array, part: MimePart, value: ImapValue, path: string): void {
  ensure(Array.isArray(value), `${path}: a body is a list`);
  if (part.type === 'multipart') {
    // The parts come first; the extension data after the subtype may hold lists too.
    const subtypeAt = value.findIndex((item) => !Array.isArray(item));
    ensure(subtypeAt > 0, `${path}: parts, then the subtype`);
    const children = value.slice(0, subtypeAt);
    const expected = Math.max(part.children.length, 1);
    ensure(children.length === expected, `${path}: ${children.length} parts written, ${expected} parsed`);
    for (const [i, child] of part.children.entries())
      checkBodyValue(raw, child, children[i]!, `${path}.${i + 1}`);
    ensure(typeof value[children.length] === 'string', `${path}: subtype after the parts`);
    return;
  }
  const size = part.bodyEnd - part.bodyStart;
  ensure(value[6] === size, `${path}: size ${String(value[6])} written, the part has ${size} octets`);
  const lines = countLf(raw, part.bodyStart, part.bodyEnd);
  if (part.type === 'message' && part.subtype === 'rfc822') {
    ensure(Array.isArray(value[7]) && value[7].length === 10, `${path}: an envelope of 10 items`);
    if (part.message) checkBodyValue(raw, part.message.root, value[8] ?? null, `${path}/message`);
    ensure(value[9] === lines, `${path}: ${String(value[9])} lines written, the part has ${lines}`);
  } else if (part.type === 'text') {
    ensure(value[7] === lines, `${path}: ${String(value[7])} lines written, the part has ${lines}`);
  }
}

// In JSON.stringify's output a lone surrogate is a \uD800–\uDFFF escape (a pair is written
// as it is) and NUL is \u0000, each after an even number of backslashes.
const escapedUnstorable = /(?<!\\)(?:\\\\)*\\u(?:d[89a-f][0-9a-f]{2}|0000)/i;

/** Postgres jsonb refuses a lone surrogate and text refuses NUL: the message could not be stored. */
function checkStorable(json: string, what: string): void {
  const found = escapedUnstorable.exec(json);
  ensure(
    found === null,
    `${what}: ${found?.[0]} in ${JSON.stringify(json.slice(Math.max(0, (found?.index ?? 0) - 60), (found?.index ?? 0) + 20))}`,
  );
}

function check({ raw, text }: MimeInput): void {
  // The pieces, without parseMessage's safety net (which hides a parser bug as an opaque message).
  const root = parseMimeTree(raw);
  const envelope = buildEnvelope(parseHeaderFields(raw, root.headerStart, root.bodyStart));
  parseHeaderDate(envelope.date);
  const searchText = buildSearchText(raw, root);

  ensure(root.headerStart === 0 && root.bodyEnd === raw.length, 'the root covers the message');
  const sections = new Set<string>();
  for (const part of walkParts(root)) {
    const where = `part ${part.section}`;
    ensure(
      0 <= part.headerStart &&
        part.headerStart <= part.bodyStart &&
        part.bodyStart <= part.bodyEnd &&
        part.bodyEnd <= raw.length,
      `${where}: offsets ${part.headerStart} ${part.bodyStart} ${part.bodyEnd} ordered and within ${raw.length}`,
    );
    ensure(part.size === part.bodyEnd - part.bodyStart, `${where}: size is the body's octets`);
    ensure(part.lines === countLf(raw, part.bodyStart, part.bodyEnd), `${where}: lines are the body's LFs`);
    let previousEnd = part.bodyStart;
    for (const child of part.children) {
      ensure(child.headerStart >= previousEnd, `${where}: parts in order, not overlapping`);
      ensure(child.bodyEnd <= part.bodyEnd, `${where}: parts inside the body`);
      previousEnd = child.bodyEnd;
    }
    if (part.message) {
      ensure(part.message.root.headerStart === part.bodyStart, `${where}: the message starts at the body`);
      ensure(part.message.root.bodyEnd === part.bodyEnd, `${where}: the message ends with the body`);
    }
    if (part.type !== 'multipart' && !part.message) {
      const body = raw.subarray(part.bodyStart, part.bodyEnd);
      const decoded = decodeTransferEncoding(body, part.encoding);
      ensure(part.decodedSize === decoded.length, `${where}: BINARY.SIZE is the decoded length`);
      // Decoding only shrinks: base64 to 3/4, quoted-printable to at most the input.
      ensure(decoded.length <= body.length, `${where}: decoding grew ${body.length} to ${decoded.length}`);
    }
    if (part.section !== '' && !sections.has(part.section)) {
      sections.add(part.section);
      ensure(
        findPart(root, part.section)?.section === part.section,
        `${where}: BODY[${part.section}] finds it`,
      );
    }
  }

  for (const extended of [false, true]) {
    for (const utf8 of [false, true]) {
      checkBodyValue(
        raw,
        root,
        readImapValue(formatBodyStructure(root, extended, { utf8 })),
        'BODYSTRUCTURE',
      );
    }
  }
  const envelopeValue = readImapValue(formatEnvelope(envelope));
  ensure(Array.isArray(envelopeValue) && envelopeValue.length === 10, 'ENVELOPE has 10 items');

  ensure(searchText.body.length <= MAX_BODY_SEARCH_TEXT, 'body search text capped');
  if (text !== undefined) {
    // SEARCH BODY finds the text whatever charset and transfer encoding carried it.
    const wanted = normaliseForSearch(text);
    ensure(
      searchText.body.includes(wanted),
      `search text ${JSON.stringify(searchText.body.slice(0, 200))} lacks ${JSON.stringify(wanted)}`,
    );
  }
  ensure(searchText.partHeaders.length <= MAX_HEADER_SEARCH_TEXT, 'part header search text capped');

  // What is stored: the same tree, plain JSON Postgres accepts, bounded by the input's size.
  const described = describeMessage(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
  const { metadata } = described;
  ensure(metadata.size === raw.length, 'size is the message octets');
  ensure(
    metadata.crlfSize >= raw.length && metadata.crlfSize <= 2 * raw.length,
    'CRLF size within [size, 2 size]',
  );
  ensure(
    metadata.root.bodyStart === root.bodyStart && metadata.root.section === root.section,
    'describeMessage used the parse, not its fallback',
  );
  const json = JSON.stringify(metadata);
  checkStorable(json, 'metadata');
  checkStorable(JSON.stringify(described.searchText), 'searchText');
  // Whatever the address fields hold, ENVELOPE stays a few megabytes: each list is read from
  // at most MAX_ENVELOPE_FIELD_CHARS characters, and each entry takes one at least.
  for (const [field, list] of Object.entries(metadata.envelope)) {
    if (!Array.isArray(list)) continue;
    ensure(list.length <= MAX_ENVELOPE_FIELD_CHARS + 1, `ENVELOPE ${field} of ${list.length} addresses`);
  }
  // Plain JSON values only, so a row reads back as written (compared in full when small).
  ensure(
    raw.length > 65536
      ? JSON.stringify(JSON.parse(json)) === json
      : isDeepStrictEqual(JSON.parse(json), metadata),
    'metadata reads back from JSON unchanged',
  );
  // Each part costs a few hundred octets of JSON, and a part can be a 4-octet boundary line.
  ensure(
    json.length <= 300 * raw.length + 4096,
    `metadata of ${json.length} octets for a ${raw.length}-octet message`,
  );
}

export const target: FuzzTarget<MimeInput> = {
  name: 'mime-parse',
  covers:
    'MIME tree, headers, boundaries, message/rfc822, base64/QP, charsets, BODYSTRUCTURE/ENVELOPE, search text, stored metadata',
  input,
  check,
  regressions: [
    // "a," or ":;" repeated in To: before the envelope's cap, 30 times the message in metadata
    // (a 25 MB message: more than jsonb holds) and a second of CPU a megabyte. Huge inputs are
    // too slow for the runner's --input-ms to generate; envelope.test.ts has the large case.
    { raw: new Uint8Array(Buffer.from(`To: ${':;'.repeat(33_000)}\r\n\r\nbody\r\n`)) },
    // A UTF-16 encoded word cut mid-pair left a lone surrogate in the search headers, which
    // Postgres jsonb refuses: the message could not be stored.
    {
      raw: new Uint8Array(
        Buffer.from('Subject: =?utf-16be?B?2D0=?= x\r\nFrom: =?utf-16le?B?Pdg=?= <a@b>\r\n\r\nbody\r\n'),
      ),
    },
    { raw: new Uint8Array(Buffer.from('Content-Type: text/plain; name="=?utf-16?B?3bE=?="\r\n\r\n')) },
  ],
};
