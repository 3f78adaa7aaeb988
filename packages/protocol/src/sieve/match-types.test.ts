// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve writes its variables as ${name}
import { describe, expect, it } from 'vitest';
import { findComparator } from './comparators.js';
import { globMatch, type MatchType, matchOne, matchValues } from './match-types.js';

const casemap = findComparator('i;ascii-casemap')!;
const octet = findComparator('i;octet')!;
const numeric = findComparator('i;ascii-numeric')!;

function matches(value: string, key: string): readonly string[] | null {
  const outcome = matchOne({ kind: 'matches' }, casemap, value, key);
  return outcome.matched ? outcome.captures : null;
}

describe(':is and :contains (RFC 5228 §2.7.1)', () => {
  it(':is compares whole values with the comparator', () => {
    expect(matchOne({ kind: 'is' }, casemap, 'Frobnitzm', 'frobnitzm').matched).toBe(true);
    expect(matchOne({ kind: 'is' }, octet, 'Frobnitzm', 'frobnitzm').matched).toBe(false);
  });

  it(':contains finds a substring; the empty key is in everything', () => {
    expect(matchOne({ kind: 'contains' }, casemap, 'MAKE MONEY FAST', 'money').matched).toBe(true);
    expect(matchOne({ kind: 'contains' }, casemap, 'anything', '').matched).toBe(true);
  });
});

describe(':matches wildcards and match variables (RFC 5229 §3.2)', () => {
  it('takes the shortest run for each * from the left', () => {
    expect(matches('[acme-users] [fwd] version 1.0 is out', '[*] *')).toEqual([
      '[acme-users] [fwd] version 1.0 is out',
      'acme-users',
      '[fwd] version 1.0 is out',
    ]);
    expect(matches('a.b.c', '*.*')).toEqual(['a.b.c', 'a', 'b.c']);
    expect(matches('xaab', '*a*b')).toEqual(['xaab', 'x', 'a']);
  });

  it('captures ? as one character, counting with the *s', () => {
    expect(matches('axbxc', '?*x*')).toEqual(['axbxc', 'a', '', 'bxc']);
    expect(matches('abxc', '*x?')).toEqual(['abxc', 'ab', 'c']);
  });

  it('treats an escaped wildcard as literal', () => {
    expect(matches('a*c', 'a\\*c')).not.toBeNull();
    expect(matches('abc', 'a\\*c')).toBeNull();
    expect(matches('a?', 'a\\?')).not.toBeNull();
  });

  it('keeps the value case in the captures while matching without case', () => {
    expect(matches('Subject Line', 'subject *')).toEqual(['Subject Line', 'Line']);
  });

  it('takes ? as one whole character beyond the BMP', () => {
    expect(matches('a😀b', 'a?b')).toEqual(['a😀b', '😀']);
  });

  it('fails when the key needs more than the value has', () => {
    expect(matches('abc', 'abc?')).toBeNull();
    expect(matches('', '*')).toEqual(['', '']);
  });

  it('stays fast on keys made to backtrack', () => {
    const value = 'a'.repeat(5000);
    expect(globMatch(value, '*a*a*a*a*a*b')).toBeNull();
  });
});

describe('relational match types (RFC 5231)', () => {
  const value = (relation: 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne'): MatchType => ({
    kind: 'value',
    relation,
  });

  it(':value compares with the comparator order', () => {
    expect(matchOne(value('gt'), numeric, '10', '9').matched).toBe(true);
    expect(matchOne(value('gt'), casemap, '10', '9').matched).toBe(false);
    expect(matchOne(value('le'), numeric, '3', '3').matched).toBe(true);
    expect(matchOne(value('ne'), numeric, 'x', '3').matched).toBe(true);
  });

  it(':count compares the number of values', () => {
    const count: MatchType = { kind: 'count', relation: 'ge' };
    expect(matchValues(count, numeric, ['a', 'b', 'c'], ['3']).matched).toBe(true);
    expect(matchValues(count, numeric, ['a', 'b'], ['3']).matched).toBe(false);
    expect(matchValues({ kind: 'count', relation: 'eq' }, numeric, [], ['0']).matched).toBe(true);
  });
});

describe(':regex', () => {
  it('captures the groups, ${0} the whole match', () => {
    const outcome = matchOne({ kind: 'regex' }, octet, 'abcabc', '(b)(c)');
    expect(outcome.captures).toEqual(['bc', 'b', 'c']);
  });

  it('ignores case with i;ascii-casemap', () => {
    expect(matchOne({ kind: 'regex' }, casemap, 'HELLO', '^hel+o$').matched).toBe(true);
    expect(matchOne({ kind: 'regex' }, octet, 'HELLO', '^hel+o$').matched).toBe(false);
  });
});

describe('matchValues', () => {
  it('sets the captures from the first value and key that match', () => {
    const outcome = matchValues({ kind: 'matches' }, casemap, ['one', 'two'], ['t*', 'o*']);
    expect(outcome.captures).toEqual(['one', 'ne']);
  });

  it('answers false when there are no values', () => {
    expect(matchValues({ kind: 'contains' }, casemap, [], ['']).matched).toBe(false);
  });
});
