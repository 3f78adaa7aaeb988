import fc from 'fast-check';
import {
  formatSequenceSet,
  parseSequenceSet,
  resolveSequenceSet,
  sequenceSetContains,
} from '../../../packages/protocol/src/imap/sequence-set.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedText } from '../mail-seeds.js';

// IMAP sequence sets (packages/protocol/src/imap/sequence-set.ts, RFC 9051 §9): parsed
// exactly when the grammar says so, resolved to what a naive expansion of every number
// gives, membership agreeing with it, and the compact form written back resolving the same.

interface SetInput {
  readonly text: string;
  /** The largest number in use, for `*`. */
  readonly largest: number;
  /** Numbers to ask about. */
  readonly probes: readonly number[];
}

const MAX = 4_294_967_295;

const number = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 40 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '*',
      '0',
      '01',
      '4294967295',
      '4294967296',
      '99999999999',
      '-1',
      '+1',
      '1e3',
      ' 1',
    ),
  },
);

const item = fc.oneof(
  number,
  fc.tuple(number, number).map(([a, b]) => `${a}:${b}`),
);

const text = fc.oneof(
  { weight: 6, arbitrary: fc.array(item, { minLength: 1, maxLength: 6 }).map((items) => items.join(',')) },
  { weight: 2, arbitrary: mutatedText(['1:5,7,9:*', '$', '*:3,4294967295', '1,2,3:4'], { maxMutations: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom('$', '', ',', '1,', ',1', '1::2', '1:2:3', '$,1', '**', '1 ,2') },
);

const input: fc.Arbitrary<SetInput> = fc.record({
  text,
  largest: fc.oneof(fc.integer({ min: 0, max: 45 }), fc.constant(MAX)),
  probes: fc.array(
    fc.oneof(fc.integer({ min: -1, max: 50 }), fc.constantFrom(MAX, MAX + 1, 1.5, Number.NaN)),
    {
      maxLength: 8,
    },
  ),
});

/** RFC 9051 §9: sequence-set = (seq-number / seq-range) ["," sequence-set], or `$` (RFC 5182). */
const GRAMMAR =
  /^(?:\$|(?:(?:\*|[1-9][0-9]*)(?::(?:\*|[1-9][0-9]*))?)(?:,(?:\*|[1-9][0-9]*)(?::(?:\*|[1-9][0-9]*))?)*)$/;

function grammatical(setText: string): boolean {
  return GRAMMAR.test(setText) && (setText.match(/[0-9]+/g) ?? []).every((n) => Number(n) <= MAX);
}

/** Whether n is in the set, item by item, the way RFC 9051 §9 reads it. */
function naiveContains(setText: string, largest: number, n: number): boolean {
  return setText.split(',').some((one) => {
    const [a, b = a] = one.split(':').map((v) => (v === '*' ? largest : Number(v)));
    if (one.includes('*') && largest < 1) return false;
    return n >= Math.min(a!, b!) && n <= Math.max(a!, b!);
  });
}

export const target: FuzzTarget<SetInput> = {
  name: 'sequence-set',
  covers: 'IMAP sequence sets: parse, resolve against `*`, membership, compact form (RFC 9051 §9)',
  input,
  check({ text: setText, largest, probes }) {
    const parsed = parseSequenceSet(setText);
    ensure(
      (parsed !== undefined) === grammatical(setText),
      `parsed=${parsed !== undefined} but grammar disagrees`,
    );
    if (!parsed) return;
    const ranges = resolveSequenceSet(parsed, largest);
    for (const [i, range] of ranges.entries()) {
      ensure(range.from >= 1 && range.from <= range.to, `range ${range.from}:${range.to}`);
      // Sorted, disjoint, not adjacent: canonical.
      if (i > 0) ensure(range.from > ranges[i - 1]!.to + 1, 'ranges overlap or touch');
    }
    if (parsed.savedResult) {
      ensure(ranges.length === 0, '$ resolves to numbers');
      return;
    }
    const small = largest <= 45 && ranges.every((r) => r.to <= 50);
    const candidates = small ? [...Array.from({ length: 52 }, (_, i) => i), ...probes] : probes;
    for (const n of candidates) {
      const expected = Number.isInteger(n) && naiveContains(setText, largest, n);
      ensure(
        sequenceSetContains(ranges, n) === expected,
        `membership of ${n} differs from the naive expansion`,
      );
    }
    if (ranges.length > 0 && small) {
      const numbers = ranges.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i));
      const written = formatSequenceSet(numbers);
      const again = parseSequenceSet(written);
      ensure(again !== undefined, `the compact form ${written} does not parse`);
      ensure(
        JSON.stringify(resolveSequenceSet(again, largest)) === JSON.stringify(ranges),
        `the compact form ${written} resolves differently`,
      );
    }
  },
};
