import { describe, expect, it } from 'vitest';
import { compileSieve } from './compile-script.js';
import { compileSieveRegex, MAX_REGEX_VALUE, translatePosixRegex } from './regex-match.js';

/** ${0}…${n} of `key` on `value`, or null; i;octet unless `caseless`. */
function match(key: string, value: string, caseless = false): string[] | null {
  return compileSieveRegex(key, caseless).match(value);
}

function matches(key: string, value: string, caseless = false): boolean {
  return match(key, value, caseless) !== null;
}

describe('POSIX extended regular expressions in RE2 syntax', () => {
  it('keeps the common syntax', () => {
    expect(translatePosixRegex('^(foo|bar)+[0-9]{2,3}$').source).toBe('^(foo|bar)+[0-9]{2,3}$');
  });

  it('reads backslash inside brackets literally and knows the character classes', () => {
    expect(matches('[\\.]', '\\')).toBe(true);
    expect(matches('^[[:digit:][:upper:]]+$', 'AB12')).toBe(true);
    expect(matches('^[[:digit:]]+$', 'ab')).toBe(false);
  });

  it('takes a ] first in brackets as a member, and a ) that closes nothing as itself', () => {
    expect(matches('^[]a]+$', ']a]')).toBe(true);
    expect(match('a)', 'xa)')).toEqual(['a)']);
  });

  it('lets . match a line break and anchors only the whole value', () => {
    expect(matches('^a.b$', 'a\nb')).toBe(true);
    expect(matches('^b', 'a\nb')).toBe(false);
  });

  it('has the vertical tab in \\s, as glibc has it in [[:space:]]', () => {
    expect(matches('^a\\sb$', 'a\vb')).toBe(true);
    expect(matches('^a\\Sb$', 'a\vb')).toBe(false);
  });

  it('finds word starts and ends with \\< and \\>', () => {
    expect(match('\\<(b[a-z]*)\\>', 'foo bar-baz')).toEqual(['bar', 'bar']);
    expect(match('o\\>', 'foo bar')).toEqual(['o']);
    expect(matches('o\\<', 'foo bar')).toBe(false);
    expect(matches('\\<oo', 'foo')).toBe(false);
  });

  it('reads a repeated repetition as POSIX does: a** is (a*)*, a+? is (a+)?, never lazy', () => {
    expect(match('a**', 'aaa')).toEqual(['aaa']);
    expect(match('a+?', 'aaa')).toEqual(['aaa']);
    expect(match('(ab){1}{2}', 'ababab')).toEqual(['abab', 'ab']);
  });

  it('reads {,n} as {0,n}', () => {
    expect(match('^a{,2}$', 'aa')).toEqual(['aa']);
    expect(matches('^a{,2}$', 'aaa')).toBe(false);
  });

  it('refuses what glibc refuses, as Pigeonhole refuses the script', () => {
    for (const key of ['*a', 'a|*b', '(+a)', '^*a', 'a\\<*', '{1}a']) {
      expect(() => compileSieveRegex(key, false), key).toThrow(/invalid preceding/);
    }
    expect(() => compileSieveRegex('(a', false)).toThrow(/unmatched/);
    expect(() => compileSieveRegex('a{b', false)).toThrow(/interval/);
    expect(() => compileSieveRegex('a{1', false)).toThrow(/unmatched \{/);
    expect(() => compileSieveRegex('a{3,1}', false)).toThrow(/interval/);
    expect(() => compileSieveRegex('[[:nope:]]', false)).toThrow(/character class/);
    expect(() => compileSieveRegex('[b-a]', false)).toThrow(/range end/);
    expect(() => compileSieveRegex('[a-c-e]', false)).toThrow(/range end/);
    expect(() => compileSieveRegex('[[:alpha:]-z]', false)).toThrow(/range end/);
    expect(() => compileSieveRegex('a\\', false)).toThrow(/trailing backslash/);
  });

  it('refuses back-references, which no linear-time matcher has', () => {
    expect(() => compileSieveRegex('(a)\\1', false)).toThrow(/back-references/);
  });
});

describe('i;ascii-casemap, as glibc REG_ICASE (the C locale)', () => {
  it('ignores the case of letters, in brackets and ranges too', () => {
    expect(match('^hel+o$', 'HELLO', true)).toEqual(['HELLO']);
    expect(matches('^[a-z]+$', 'HeLLo', true)).toBe(true);
    expect(matches('^[[:lower:]]+$', 'HELLO', true)).toBe(true);
  });

  it('upper-cases the ends of a range, as glibc does', () => {
    expect(() => compileSieveRegex('[B-a]', true)).toThrow(/range end/);
    expect(() => compileSieveRegex('[B-a]', false)).not.toThrow();
    // [0-z] is [0-Z]: no `_`, which lies between Z and a.
    expect(matches('[0-z]', '_', true)).toBe(false);
    expect(matches('[0-z]', '_', false)).toBe(true);
  });

  it('refuses such a key when the script is compiled, with the default comparator', () => {
    expect(() => compileSieve('require "regex"; if header :regex "subject" "[B-a]" { keep; }')).toThrow(
      /range end/,
    );
    expect(() =>
      compileSieve('require "regex"; if header :regex :comparator "i;octet" "subject" "[B-a]" { keep; }'),
    ).not.toThrow();
  });

  it('never matches an escaped lower-case letter, and \\C matches c (glibc quirk)', () => {
    // Pigeonhole: `header :regex "x" "\\c"` fails on "abc" with the default comparator.
    expect(matches('\\c', 'abc', true)).toBe(false);
    expect(matches('\\d+', 'd1', true)).toBe(false);
    expect(match('\\C', 'abc', true)).toEqual(['c']);
    expect(match('\\c', 'abc', false)).toEqual(['c']);
  });
});

describe('leftmost-longest matches and their groups, as Pigeonhole reports them', () => {
  // Each expectation was checked with Pigeonhole's sieve-test (glibc 2.36).
  it('takes the longest of the leftmost matches, not the first alternative', () => {
    expect(match('a|ab', 'xab')).toEqual(['ab']);
    expect(match('(a|ab)(c|bcd)(d*)', 'abcd')).toEqual(['abcd', 'a', 'bcd', '']);
    expect(match('(a|ab)(bc|c)', 'abc')).toEqual(['abc', 'a', 'bc']);
  });

  it('leaves a group that took no part in the match empty', () => {
    expect(match('(x)|(ab)|(a)', 'abc')).toEqual(['ab', '', 'ab', '']);
    expect(match('(a)|(b)|(x)', 'abc')).toEqual(['a', 'a', '', '']);
  });

  it('reports the last iteration of a repeated group', () => {
    expect(match('(a|ab)*(b*)', 'abab')).toEqual(['abab', 'a', 'b']);
    expect(match('(a*)*', 'abab')).toEqual(['a', 'a']);
    expect(match('(ab|a)*?', 'abab')).toEqual(['abab', 'ab']);
    expect(match('[[:alpha:]]+ ([a-z]+)-(.*)$', 'foo bar-baz')).toEqual(['foo bar-baz', 'bar', 'baz']);
  });
});

describe('linear-time matching', () => {
  const many = 'a'.repeat(64 * 1024);

  it('accepts nested repetition, as glibc does', () => {
    expect(match('(a+)+r', 'bar')).toEqual(['ar', 'a']);
    expect(() => compileSieveRegex('(x(.*))*', false)).not.toThrow();
  });

  it('gives up on a 64 KiB value with keys that make a backtracker explode', () => {
    for (const key of ['.*.*.*.*.*x', '(a|aa)*c', '(a+)+b', '(.*)(.*)(.*)(.*)(.*)x', '\\<(a+)+b']) {
      expect(match(key, many), key).toBeNull();
    }
  });

  it('finds the groups when such a key matches at the end of a 64 KiB value', () => {
    const value = `${many.slice(1)}b`;
    const found = match('(a|aa)*(b)', value);
    expect(found?.[0]).toBe(value);
    expect(found?.slice(1)).toEqual(['a', 'b']);
  });

  it('looks at the first MAX_REGEX_VALUE characters of a value only', () => {
    expect(matches('x', `${'a'.repeat(MAX_REGEX_VALUE)}x`)).toBe(false);
    expect(matches('x', `${'a'.repeat(MAX_REGEX_VALUE - 1)}x`)).toBe(true);
  });

  it('charges interpreter steps by the size of the key as well as of the value', () => {
    const value = 'a'.repeat(6400);
    const small = compileSieveRegex('a', false).steps(value);
    const large = compileSieveRegex('[a-z]{100}', false).steps(value);
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small * 20);
  });

  it('refuses keys too long or compiling too large', () => {
    expect(() => compileSieveRegex('a'.repeat(2049), false)).toThrow(/longer than 2048/);
    expect(() => compileSieveRegex('a{1001}', false)).toThrow(/above 1000/);
    expect(() => compileSieveRegex('(a{100}){100}', false)).toThrow(/repeat count/);
    expect(() => compileSieveRegex('[a-z]{1000}'.repeat(11), false)).toThrow(/too large/);
    expect(() => compileSieveRegex('[a-z]{1000}'.repeat(9), false)).not.toThrow();
  });
});
