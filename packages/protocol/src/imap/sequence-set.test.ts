import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatSequenceSet,
  type NumberRange,
  parseSequenceSet,
  resolveSequenceSet,
  type SequenceRange,
  type SequenceSet,
  sequenceSetContains,
} from './sequence-set.js';

const MAX = 4_294_967_295;

function resolve(text: string, largest: number): NumberRange[] | undefined {
  const set = parseSequenceSet(text);
  return set && resolveSequenceSet(set, largest);
}

/** Every number a resolved set holds, for small sets. */
function expand(ranges: readonly NumberRange[]): number[] {
  return ranges.flatMap(({ from, to }) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

describe('parseSequenceSet (RFC 3501 §9, RFC 9051 §9)', () => {
  it('reads numbers, ranges in either order, * and comma lists', () => {
    expect(parseSequenceSet('1')).toEqual({ ranges: [{ from: 1, to: 1 }], savedResult: false });
    expect(parseSequenceSet('1:5')?.ranges).toEqual([{ from: 1, to: 5 }]);
    expect(parseSequenceSet('5:1')?.ranges).toEqual([{ from: 5, to: 1 }]);
    expect(parseSequenceSet('*')?.ranges).toEqual([{ from: '*', to: '*' }]);
    expect(parseSequenceSet('3:*')?.ranges).toEqual([{ from: 3, to: '*' }]);
    expect(parseSequenceSet('*:3')?.ranges).toEqual([{ from: '*', to: 3 }]);
    expect(parseSequenceSet('2,4:7,9,12:*')?.ranges).toEqual([
      { from: 2, to: 2 },
      { from: 4, to: 7 },
      { from: 9, to: 9 },
      { from: 12, to: '*' },
    ]);
    expect(parseSequenceSet(`${MAX}`)?.ranges).toEqual([{ from: MAX, to: MAX }]);
    expect(parseSequenceSet(`1:${MAX}`)?.ranges).toEqual([{ from: 1, to: MAX }]);
  });

  it('reads $ alone as the saved search result (RFC 5182 §2)', () => {
    expect(parseSequenceSet('$')).toEqual({ ranges: [], savedResult: true });
    for (const text of ['$,1', '1,$', '$:3', '1:$', '$$', ' $'])
      expect(parseSequenceSet(text)).toBeUndefined();
  });

  it('refuses zero, leading zeros, numbers past 2^32 - 1, empty items and spaces', () => {
    for (const text of [
      '',
      '0',
      '0:5',
      '5:0',
      '01',
      '1:05',
      '00',
      `${MAX + 1}`,
      '99999999999',
      '1:4294967296',
      ',',
      '1,',
      ',1',
      '1,,2',
      ':',
      '1:',
      ':1',
      '1:2:3',
      '**',
      '*:',
      '1 ',
      ' 1',
      '1, 2',
      '1 :2',
      '-1',
      '+1',
      '1.5',
      '1e3',
      '0x10',
      'a',
      '١',
    ]) {
      expect(parseSequenceSet(text), text).toBeUndefined();
    }
  });
});

describe('resolveSequenceSet', () => {
  it('turns * into the largest number in use', () => {
    expect(resolve('*', 10)).toEqual([{ from: 10, to: 10 }]);
    expect(resolve('3:*', 10)).toEqual([{ from: 3, to: 10 }]);
    expect(resolve('*:3', 10)).toEqual([{ from: 3, to: 10 }]);
    expect(resolve('1:*', 1)).toEqual([{ from: 1, to: 1 }]);
  });

  it('orders each range low to high, even when * is below the other end (RFC 9051 §6.4.8)', () => {
    expect(resolve('5:1', 10)).toEqual([{ from: 1, to: 5 }]);
    expect(resolve('559:*', 500)).toEqual([{ from: 500, to: 559 }]);
  });

  it('sorts, merges overlapping and adjacent ranges, and drops duplicates', () => {
    expect(resolve('9,1:3,2:5,7', 10)).toEqual([
      { from: 1, to: 5 },
      { from: 7, to: 7 },
      { from: 9, to: 9 },
    ]);
    expect(resolve('1:3,4:6', 10)).toEqual([{ from: 1, to: 6 }]);
    expect(resolve('4,4,4', 10)).toEqual([{ from: 4, to: 4 }]);
    expect(resolve('1:10,3:4,*', 10)).toEqual([{ from: 1, to: 10 }]);
  });

  it('keeps numbers past the largest, for the caller to judge', () => {
    expect(resolve('8:12', 10)).toEqual([{ from: 8, to: 12 }]);
    expect(resolve('1,20', 0)).toEqual([
      { from: 1, to: 1 },
      { from: 20, to: 20 },
    ]);
  });

  it('lets * name nothing in an empty mailbox', () => {
    expect(resolve('*', 0)).toEqual([]);
    expect(resolve('1:*', 0)).toEqual([]);
    expect(resolve('*:4', 0)).toEqual([]);
    expect(resolve('2,3:*', 0)).toEqual([{ from: 2, to: 2 }]);
  });

  it('leaves $ to the caller', () => {
    expect(resolve('$', 10)).toEqual([]);
  });
});

describe('sequenceSetContains', () => {
  it('finds numbers inside ranges and not between or beyond them', () => {
    const ranges = resolve('1:3,5,7:9,100:*', 200)!;
    const inside = [1, 2, 3, 5, 7, 8, 9, 100, 150, 200];
    const outside = [0, 4, 6, 10, 99, 201, -1, 2.5];
    for (const n of inside) expect(sequenceSetContains(ranges, n), `${n}`).toBe(true);
    for (const n of outside) expect(sequenceSetContains(ranges, n), `${n}`).toBe(false);
    expect(sequenceSetContains([], 1)).toBe(false);
  });
});

describe('formatSequenceSet', () => {
  it('writes runs as ranges', () => {
    expect(formatSequenceSet([1, 2, 3, 5, 7, 8, 9])).toBe('1:3,5,7:9');
    expect(formatSequenceSet([4])).toBe('4');
    expect(formatSequenceSet([4, 5])).toBe('4:5');
    expect(formatSequenceSet([1, 3, 5])).toBe('1,3,5');
    expect(formatSequenceSet([MAX - 1, MAX])).toBe(`${MAX - 1}:${MAX}`);
    expect(formatSequenceSet([])).toBe('');
  });

  it('keeps the order it is given, which COPYUID pairs on (RFC 4315 §3)', () => {
    expect(formatSequenceSet([7, 8, 2, 3, 4])).toBe('7:8,2:4');
    expect(formatSequenceSet([3, 2, 1])).toBe('3,2,1');
  });

  it('refuses numbers that are not nz-numbers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX + 1]) {
      expect(() => formatSequenceSet([1, bad]), `${bad}`).toThrow(RangeError);
    }
  });
});

describe('properties', () => {
  const sortedUnique = fc
    .uniqueArray(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 60 })
    .map((numbers) => numbers.sort((a, b) => a - b));

  it('format → parse → resolve gives back the numbers', () => {
    fc.assert(
      fc.property(sortedUnique, fc.integer({ min: 0, max: 400 }), (numbers, largest) => {
        const text = formatSequenceSet(numbers);
        const set = parseSequenceSet(text);
        expect(set).toBeDefined();
        expect(expand(resolveSequenceSet(set!, largest))).toEqual(numbers);
      }),
    );
  });

  it('formats sorted numbers as short as they go: no two ranges could be one', () => {
    fc.assert(
      fc.property(sortedUnique, (numbers) => {
        const set = parseSequenceSet(formatSequenceSet(numbers))!;
        expect(set.ranges).toEqual(resolveSequenceSet(set, 1));
      }),
    );
  });

  const seqNumber = fc.oneof(fc.constant<'*'>('*'), fc.integer({ min: 1, max: 200 }));
  const sets = fc.array(fc.record({ from: seqNumber, to: seqNumber }), { minLength: 1, maxLength: 8 });
  const written = (ranges: readonly SequenceRange[]) =>
    ranges.map(({ from, to }) => (from === to ? `${from}` : `${from}:${to}`)).join(',');

  it('parses what it is written as, and resolves and tests membership like a naive expansion', () => {
    fc.assert(
      fc.property(sets, fc.integer({ min: 0, max: 250 }), (ranges, largest) => {
        const set: SequenceSet | undefined = parseSequenceSet(written(ranges));
        expect(set).toEqual({ ranges, savedResult: false });

        const naive = new Set<number>();
        for (const { from, to } of ranges) {
          if ((from === '*' || to === '*') && largest === 0) continue;
          const a = from === '*' ? largest : from;
          const b = to === '*' ? largest : to;
          for (let n = Math.min(a, b); n <= Math.max(a, b); n++) naive.add(n);
        }
        const resolved = resolveSequenceSet(set!, largest);
        expect(expand(resolved)).toEqual([...naive].sort((a, b) => a - b));
        const probes = Array.from({ length: 253 }, (_, n) => n);
        expect(probes.filter((n) => sequenceSetContains(resolved, n))).toEqual(
          probes.filter((n) => naive.has(n)),
        );
      }),
      { numRuns: 300 },
    );
  });
});
