import fc from 'fast-check';
import { chunksSource } from '../../../packages/protocol/src/smtp/byte-source.js';
import { SmtpReader } from '../../../packages/protocol/src/smtp/smtp-reader.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedBytes } from '../mail-seeds.js';
import { latin1 } from '../protocol-grammar.js';

// The SMTP DATA reader (SmtpReader.readData, RFC 5321 §4.1.1.4 and §4.5.2): a dot-stuffed
// body split into chunks anywhere. Checked against a line-by-line reading of the same
// bytes: the same body, the same octets left for the next command, the same refusal of a
// bare CR or LF (SMTP smuggling); a body that was stuffed by a client reads back exactly.

interface DataInput {
  /** What the client sends after the 354. */
  readonly stream: Uint8Array;
  /** Where the stream is cut into chunks. */
  readonly cuts: readonly number[];
  readonly maxBytes: number;
  /** For a stream built by stuffing a body: the body, which must read back exactly. */
  readonly body?: Uint8Array;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** RFC 5321 §4.5.2: a client doubles the dot that starts a line, and ends with CRLF.CRLF. */
function dotStuff(body: Uint8Array): Uint8Array {
  const text = Buffer.from(body).toString('latin1');
  const stuffed = text.replace(/(^|\r\n)\./g, '$1..');
  return latin1(`${stuffed}.\r\n`);
}

type Expected = { kind: 'complete'; body: Buffer; rest: Buffer } | { kind: 'smuggling' } | { kind: 'eof' };

/** The same reading, one line at a time: the specification the reader must agree with. */
function readLineByLine(stream: Buffer): Expected {
  const lines: Buffer[] = [];
  let pos = 0;
  for (;;) {
    let end = pos;
    while (end < stream.length && stream[end] !== CR && stream[end] !== LF) end++;
    if (end >= stream.length) return { kind: 'eof' };
    if (stream[end] === LF) return { kind: 'smuggling' };
    if (end + 1 >= stream.length) return { kind: 'eof' };
    if (stream[end + 1] !== LF) return { kind: 'smuggling' };
    const line = stream.subarray(pos, end);
    if (line.length === 1 && line[0] === DOT) {
      return { kind: 'complete', body: Buffer.concat(lines), rest: stream.subarray(end + 2) };
    }
    lines.push(line[0] === DOT ? line.subarray(1) : line, Buffer.from('\r\n'));
    pos = end + 2;
  }
}

const bodyLine = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', ' ', '.', '\t', '\u00e9', ':', '='), maxLength: 12 }),
  fc.constantFrom('.', '..', '...', '.\u0000', 'From x', 'QUIT', 'MAIL FROM:<x@y>'),
);

const stuffedBody = fc
  .tuple(
    fc.array(bodyLine, { maxLength: 12 }),
    fc.constantFrom('', 'QUIT\r\n', 'MAIL FROM:<x@y>\r\n', '.\r\n'),
  )
  .map(([lines, rest]) => {
    const body = latin1(lines.map((l) => `${l}\r\n`).join(''));
    return { body, stream: Buffer.concat([dotStuff(body), latin1(rest)]) };
  });

const SEEDS = [
  'Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n',
  '.\r\n',
  'a\nb\n.\nMAIL FROM:<evil@x>\r\n.\r\n',
  'a\r\nb\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n',
  'a\r\nb\r.\rMAIL FROM:<evil@x>\r\n.\r\n',
  '..\r\n...\r\n.x\r\n.\r\n',
].map(latin1);

const input: fc.Arbitrary<DataInput> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: stuffedBody },
      { weight: 3, arbitrary: mutatedBytes(SEEDS).map((stream) => ({ stream, body: undefined })) },
      {
        weight: 1,
        arbitrary: fc
          .uint8Array({ maxLength: 64 })
          .map((bytes) => ({ stream: bytes.map((b) => [CR, LF, DOT, 0x61][b % 4]!), body: undefined })),
      },
    ),
    fc.array(fc.nat(), { maxLength: 8 }),
    fc.oneof({ weight: 4, arbitrary: fc.constant(1_000_000) }, { weight: 1, arbitrary: fc.nat({ max: 64 }) }),
  )
  .map(([{ stream, body }, cuts, maxBytes]) => ({ stream, cuts, maxBytes, ...(body && { body }) }));

function chunksOf(stream: Uint8Array, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, stream.length]) {
    chunks.push(Buffer.from(stream.subarray(from, point)));
    from = point;
  }
  return chunks;
}

export const target: FuzzTarget<DataInput> = {
  name: 'smtp-data',
  covers:
    'SMTP DATA reader: dot-unstuffing round trip, CRLF.CRLF, bare CR/LF refusal, size limit, pipelining',
  input,
  async check({ stream, cuts, maxBytes, body }) {
    const reader = new SmtpReader(chunksSource(chunksOf(stream, cuts)), () => 1000);
    const written: Buffer[] = [];
    const read = await reader.readData({ write: (chunk) => written.push(Buffer.from(chunk)) }, maxBytes);
    const expected = readLineByLine(Buffer.from(stream));
    const got = Buffer.concat(written);
    if (read.kind === 'complete' || read.kind === 'too-big') {
      ensure(
        expected.kind === 'complete',
        `the reader ended the body (${read.kind}); line by line: ${expected.kind}`,
      );
      ensure(read.size === expected.body.length, `size ${read.size}, body ${expected.body.length}`);
      ensure(
        (read.kind === 'too-big') === expected.body.length > maxBytes,
        `${read.kind} with limit ${maxBytes}`,
      );
      if (read.kind === 'complete')
        ensure(got.equals(expected.body), 'the body differs from the line-by-line reading');
      else ensure(expected.body.subarray(0, got.length).equals(got), 'a too-big body wrote other bytes');
      // What follows the terminator is left for the next command, byte for byte.
      const rest: Buffer[] = [];
      await reader.readChunk(expected.rest.length + 1, { write: (chunk) => rest.push(Buffer.from(chunk)) });
      ensure(
        Buffer.concat(rest).equals(expected.rest),
        'the octets after CRLF.CRLF were not left for the next command',
      );
    } else if (read.kind === 'smuggling') {
      ensure(expected.kind === 'smuggling', `smuggling refused, but line by line: ${expected.kind}`);
    } else {
      // At the end of the stream a line end still being looked for may be a bare LF.
      ensure(expected.kind !== 'complete', 'eof, but the body was complete');
    }
    if (body !== undefined) {
      ensure(
        read.kind === 'complete' || read.kind === 'too-big',
        `a stuffed body was not read: ${read.kind}`,
      );
      if (read.kind === 'complete') ensure(got.equals(Buffer.from(body)), 'dot-stuffing does not round-trip');
    }
  },
};
