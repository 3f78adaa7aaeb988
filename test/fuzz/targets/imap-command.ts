import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  type CommandReaderLimits,
  type ImapCommand,
  ImapCommandReader,
  type ImapToken,
  type ReaderEvent,
} from '../../../packages/protocol/src/imap/command-reader.js';
import { grammarCommand } from '../../../packages/protocol/src/imap/test-command-grammar.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedBytes } from '../mail-seeds.js';
import { latin1 } from '../protocol-grammar.js';

// The IMAP command reader (packages/protocol/src/imap/command-reader.ts): tags, atoms,
// quoted strings, literals of every kind, nested lists, limits. Whatever the bytes and
// however they are split, it never throws, every event is well formed, the chunking
// changes nothing, and every command it reads, written out again, reads back the same.

interface ReaderInput {
  readonly chunks: readonly Uint8Array[];
  readonly limits: CommandReaderLimits;
}

const tag = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9.]{1,6}$/),
  fc.constantFrom('*', '+', '', 'a{1}', 'a"b', '\u00e9', ']'),
);

const command = fc.tuple(tag, grammarCommand).map(([t, c]) => `${t} ${c}`);

const SEEDS = [
  'a1 login "alice" "p\\"w\\\\d"\r\n',
  'A2 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n',
  'A3 X () ((a) b)\r\n',
  'A1 APPEND INBOX (\\Seen) {7}\r\n\u0000\u00ff\r\n.\r\n\r\nA2 LOGIN {5+}\r\nalice {3}\r\nxyz\r\n',
  'A4 APPEND INBOX ~{3}\r\n\u0000\u0001\u0002 {0+}\r\n\r\n',
  'A5 SEARCH CHARSET UTF-8 OR (FROM "x" TO {1+}\r\ny) NOT (((SEEN)))\r\n',
].map(latin1);

const stream = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.array(command, { minLength: 1, maxLength: 4 }).map((cs) => latin1(cs.join(''))),
  },
  { weight: 3, arbitrary: mutatedBytes(SEEDS, { base: command.map(latin1) }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
);

const limits: fc.Arbitrary<CommandReaderLimits> = fc.record(
  {
    maxCommandBytes: fc.oneof(fc.constant(65_536), fc.integer({ min: 1, max: 256 })),
    maxAppendBytes: fc.integer({ min: 1, max: 100_000 }),
    maxNonSyncLiteral: fc.constantFrom(4096, 3),
    maxDepth: fc.oneof(fc.constant(32), fc.integer({ min: 0, max: 4 })),
    maxTokens: fc.oneof(fc.constant(16_384), fc.integer({ min: 0, max: 20 })),
  },
  { requiredKeys: ['maxCommandBytes', 'maxDepth', 'maxTokens'] },
);

const input: fc.Arbitrary<ReaderInput> = fc
  .tuple(stream, fc.array(fc.nat(), { maxLength: 6 }), limits)
  .map(([bytes, cuts, l]) => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let from = 0;
    for (const point of [...points, bytes.length]) {
      chunks.push(bytes.subarray(from, point));
      from = point;
    }
    return { chunks, limits: l };
  });

/** Feeds the chunks, taking every literal the reader allows and refusing the others. */
function readAll(chunks: readonly Uint8Array[], limits: CommandReaderLimits): ReaderEvent[] {
  const reader = new ImapCommandReader(limits);
  const events: ReaderEvent[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let event = reader.next(); event; event = reader.next()) {
      if (event.kind === 'literal') {
        if (event.over) reader.rejectLiteral();
        else reader.acceptLiteral();
      }
      events.push(event);
    }
  }
  return events;
}

/** A token as a client would write it: literals stay literals, quoted strings quoted. */
function writeToken(token: ImapToken): Buffer {
  switch (token.type) {
    case 'atom':
      return Buffer.from(token.value, 'utf8');
    case 'list':
      return Buffer.concat([Buffer.from('('), join(token.items.map(writeToken)), Buffer.from(')')]);
    case 'string':
      if (token.literal) {
        return Buffer.concat([
          Buffer.from(`${token.binary ? '~' : ''}{${token.value.length}}\r\n`),
          token.value,
        ]);
      }
      return Buffer.concat([
        Buffer.from('"'),
        Buffer.from(
          token.value.toString('latin1').replace(/[\\"]/g, (c) => `\\${c}`),
          'latin1',
        ),
        Buffer.from('"'),
      ]);
  }
}

function join(parts: readonly Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    if (i > 0) out.push(Buffer.from(' '));
    out.push(part);
  }
  return Buffer.concat(out);
}

function writeCommand(command: ImapCommand): Buffer {
  return Buffer.concat([
    join([Buffer.from(`${command.tag} ${command.name}`), ...command.args.map(writeToken)]),
    Buffer.from('\r\n'),
  ]);
}

function checkEvent(event: ReaderEvent): void {
  switch (event.kind) {
    case 'command':
      ensure(
        event.command.tag !== '' && !/[\s(){%*"\\+]/.test(event.command.tag),
        `tag ${event.command.tag}`,
      );
      ensure(event.command.name === event.command.name.toUpperCase(), 'the command name is not upper case');
      break;
    case 'bad':
      ensure(event.text !== '' && !/[\r\n]/.test(event.text), `bad text ${JSON.stringify(event.text)}`);
      break;
    case 'literal':
      ensure(
        Number.isSafeInteger(event.size) && event.size >= 0 && event.size <= 4_294_967_295,
        'literal size',
      );
      break;
    default:
  }
}

/**
 * A line over the limit is answered before its end comes, with the tag if it is there yet:
 * when the tag and its space alone are over the limit, a first chunk may not hold them.
 */
function comparable(event: ReaderEvent): unknown {
  return event.kind === 'too-long' ? { kind: event.kind, limit: event.limit } : event;
}

const GENEROUS: CommandReaderLimits = { maxCommandBytes: 1 << 22, maxDepth: 1000, maxTokens: 1 << 20 };

export const target: FuzzTarget<ReaderInput> = {
  name: 'imap-command',
  covers:
    'IMAP command reader: tags, atoms, quoted strings, literals (sync, LITERAL+/-, literal8), nesting, limits',
  input,
  check({ chunks, limits: l }) {
    const events = readAll(chunks, l);
    for (const event of events) checkEvent(event);
    // However the bytes were split, the same events.
    const whole = readAll([Buffer.concat(chunks)], l);
    ensure(
      isDeepStrictEqual(whole.map(comparable), events.map(comparable)),
      'the events depend on how the bytes were split',
    );
    for (const event of events) {
      if (event.kind !== 'command') continue;
      const again = readAll([writeCommand(event.command)], GENEROUS).filter((e) => e.kind !== 'literal');
      ensure(
        again.length === 1 &&
          again[0]!.kind === 'command' &&
          isDeepStrictEqual(again[0]!.command, event.command),
        `the command written again reads back differently: ${JSON.stringify(again).slice(0, 300)}`,
      );
    }
  },
};
