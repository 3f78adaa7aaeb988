// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve writes its variables as ${name}
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { SIEVE_EXTENSIONS } from '../../../packages/protocol/src/sieve/command-table.js';
import { compileSieve } from '../../../packages/protocol/src/sieve/compile-script.js';
import { SieveError } from '../../../packages/protocol/src/sieve/types.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedBytes, sieveScripts } from '../mail-seeds.js';

// The Sieve compiler (lexer, parser, validator, includes) over scripts users upload through
// ManageSieve: it answers a compiled script or a SieveError pointing inside the script, never
// another exception (a stack overflow on deep nesting included), and the same script always
// compiles to the same result.

const TESTS = [
  'true',
  'false',
  'exists "x-spam"',
  'header :contains "subject" "money"',
  'header :matches ["subject", "from"] ["*fast*", "?"]',
  'header :regex "subject" "^a(b|c)*$"',
  'header :value "gt" :comparator "i;ascii-numeric" "x-priority" "3"',
  'header :count "ge" :comparator "i;ascii-numeric" "received" "2"',
  'address :domain :is "from" "example.com"',
  'address :user :is "to" "me"',
  'envelope :all :is "to" "a@b"',
  'size :over 1M',
  'size :under 10K',
  'body :text :contains "x"',
  'string :is "${1}" "a"',
  'date :value "ge" "date" "date" "2024-01-01"',
  'currentdate :zone "+0100" :is "weekday" "0"',
  'hasflag "\\\\Seen"',
  'duplicate :seconds 60',
  'spamtest :percent :value "ge" :comparator "i;ascii-numeric" "50"',
  'mailboxexists "INBOX"',
  'valid_notify_method "mailto:a@b"',
  'environment :is "name" "x"',
];

const ACTIONS = [
  'keep;',
  'discard;',
  'stop;',
  'fileinto "Junk";',
  'fileinto :copy :create "a/b";',
  'redirect "a@example.org";',
  'reject "no";',
  'ereject "no";',
  'vacation :days 3 :subject "Away" "text";',
  'vacation :seconds 0 :addresses ["a@b"] :mime "Content-Type: text/plain\r\n\r\nx";',
  'set :lower "v" "${1}";',
  'setflag "\\\\Seen"; addflag "x"; removeflag "x";',
  'addheader :last "X-A" "b";',
  'deleteheader :index 1 "x-a";',
  'notify :importance "1" "mailto:a@b";',
  'include :global "x";',
  'include :optional "missing";',
  'return;',
  'fileinto "${hex:41 42}${unicode:1F600}";',
  'fileinto text:\r\nmulti\r\n..line\r\n.\r\n;',
];

const comment = fc.constantFrom(
  '',
  '',
  '',
  '# note\r\n',
  '/* block\r\n comment */',
  '#\r\n',
  '/* unterminated',
);

const { test } = fc.letrec<{ test: string }>((tie) => ({
  test: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...TESTS),
    tie('test').map((t) => `not ${t}`),
    fc
      .tuple(fc.constantFrom('allof', 'anyof'), fc.array(tie('test'), { minLength: 1, maxLength: 3 }))
      .map(([op, ts]) => `${op} (${ts.join(', ')})`),
  ),
}));

const { block } = fc.letrec<{ block: string }>((tie) => ({
  block: fc
    .array(
      fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom(...ACTIONS),
        fc
          .tuple(
            test,
            tie('block'),
            fc.array(fc.tuple(test, tie('block')), { maxLength: 2 }),
            fc.option(tie('block')),
          )
          .map(([t, b, elsifs, otherwise]) =>
            [
              `if ${t} {\r\n${b}\r\n}`,
              ...elsifs.map(([et, eb]) => `elsif ${et} {\r\n${eb}\r\n}`),
              ...(otherwise === null ? [] : [`else {\r\n${otherwise}\r\n}`]),
            ].join(' '),
          ),
      ),
      { maxLength: 4 },
    )
    .chain((commands) => comment.map((c) => commands.join(`\r\n${c}`))),
}));

const generatedScript = fc
  .tuple(
    fc.subarray([...SIEVE_EXTENSIONS, 'comparator-i;ascii-numeric']),
    fc.constantFrom([], [], [], [], [], [], [], [], [], ['nonexistent']),
    block,
    fc.boolean(),
  )
  .map(
    ([requires, unknown, body, bom]) =>
      `${bom ? '\ufeff' : ''}require ${JSON.stringify([...requires, ...unknown])};\r\n${body}`,
  )
  .map((text) => new Uint8Array(Buffer.from(text, 'utf8')));

/** Deep nesting of each kind the grammar has: blocks, test lists, `not`, string lists. */
const deepScript = fc
  .tuple(
    fc.constantFrom(
      ['if true {', '}'],
      ['if anyof(', 'true) {}'],
      ['if not ', 'true {}'],
      ['if allof(not anyof(', 'true)) {}'],
      ['if header :is [', '"a"] "b" {}'],
      ['/*', '*/'],
      ['if header :is "a" "${', '}" {}'],
      ['require "variables"; set "a" "${hex:', '}";'],
    ),
    fc.integer({ min: 200, max: 20_000 }),
  )
  .map(
    ([[open, close], depth]) =>
      new Uint8Array(Buffer.from(open!.repeat(depth) + close!.repeat(depth), 'utf8')),
  );

const input = fc.oneof(
  { arbitrary: generatedScript, weight: 4 },
  { arbitrary: mutatedBytes(sieveScripts, { base: generatedScript }), weight: 4 },
  { arbitrary: deepScript, weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 1 },
);

/** Scripts an include may name: one that includes itself, one that includes the other. */
function includeLookup(source: Uint8Array) {
  return (_location: 'personal' | 'global', name: string): string | null => {
    if (name === 'x') return Buffer.from(source).toString('utf8');
    if (name === 'self') return 'require "include"; include "self";';
    return null;
  };
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: SieveError };

function compile(source: Uint8Array): Outcome {
  try {
    const compiled = compileSieve(source, { include: includeLookup(source) });
    return {
      ok: true,
      value: {
        ast: compiled.ast,
        requires: [...compiled.requires].sort(),
        includes: [...compiled.includes.keys()].sort(),
      },
    };
  } catch (error) {
    // Anything but the compiler's own error (a TypeError, a RangeError from the stack) is a bug.
    if (!(error instanceof SieveError)) throw error;
    return { ok: false, error };
  }
}

function check(source: Uint8Array): void {
  const first = compile(source);
  if (!first.ok && first.error.position !== null && first.error.script === null) {
    // The place an error names lies in the script: lines from 1, columns in characters.
    const text = Buffer.from(source)
      .toString('utf8')
      .replace(/^\ufeff/, '');
    const lines = text.split('\n');
    const { line, column } = first.error.position;
    ensure(
      Number.isInteger(line) && line >= 1 && line <= lines.length,
      `error line ${line} of ${lines.length}: ${first.error.message}`,
    );
    const length = [...lines[line - 1]!].length;
    ensure(
      Number.isInteger(column) && column >= 1 && column <= length + 2,
      `error column ${column} on a line of ${length}: ${first.error.message}`,
    );
  }
  const second = compile(source);
  ensure(first.ok === second.ok, 'compiling twice gives the same outcome');
  if (first.ok && second.ok)
    ensure(isDeepStrictEqual(first.value, second.value), 'compiling twice gives the same script');
  if (!first.ok && !second.ok)
    ensure(first.error.message === second.error.message, 'compiling twice gives the same error');
}

export const target: FuzzTarget<Uint8Array> = {
  name: 'sieve-parse',
  covers:
    'Sieve lexer, parser, validator and includes: SieveError at a place in the script or a deterministic compile',
  input,
  check,
  regressions: [],
};
