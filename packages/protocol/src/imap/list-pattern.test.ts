import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileListPattern, hasChildIn, listParents } from './list-pattern.js';

const NAMES = [
  'INBOX',
  'INBOX/Receipts',
  'INBOX/Receipts/2024',
  'Archive',
  'Archive/2023',
  'Archive/2024',
  'Archive/2024/Q1',
  'Drafts',
  'foo',
  'foobar',
  'foo/bar',
  'foo/bar/baz',
  'Inboxes',
  'a.b*c%d',
];

function matching(reference: string, pattern: string, names: readonly string[] = NAMES): string[] {
  const match = compileListPattern(reference, pattern);
  return names.filter((name) => match(name));
}

describe('wildcards (RFC 3501 §6.3.8)', () => {
  it('"*" matches across the delimiter, "%" only within one level', () => {
    expect(matching('', '*')).toEqual(NAMES);
    expect(matching('', '%')).toEqual(['INBOX', 'Archive', 'Drafts', 'foo', 'foobar', 'Inboxes', 'a.b*c%d']);
    expect(matching('', 'foo*')).toEqual(['foo', 'foobar', 'foo/bar', 'foo/bar/baz']);
    expect(matching('', 'foo%')).toEqual(['foo', 'foobar']);
    expect(matching('', 'foo/%')).toEqual(['foo/bar']);
    expect(matching('', 'foo/*')).toEqual(['foo/bar', 'foo/bar/baz']);
    expect(matching('', '%/%')).toEqual(['INBOX/Receipts', 'Archive/2023', 'Archive/2024', 'foo/bar']);
    expect(matching('', '*/%')).toEqual([
      'INBOX/Receipts',
      'INBOX/Receipts/2024',
      'Archive/2023',
      'Archive/2024',
      'Archive/2024/Q1',
      'foo/bar',
      'foo/bar/baz',
    ]);
    expect(matching('', 'Archive/%4')).toEqual(['Archive/2024']);
    expect(matching('', '*4')).toEqual(['INBOX/Receipts/2024', 'Archive/2024']);
  });

  it('"%" matches an empty run, also at the end of a level', () => {
    expect(matching('', 'foo%/bar')).toEqual(['foo/bar']);
    expect(matching('', '%foo')).toEqual(['foo']);
    expect(matching('', 'f%o%')).toEqual(['foo', 'foobar']);
  });

  it('takes every other character literally, regex metacharacters included', () => {
    expect(matching('', 'a.b*')).toEqual(['a.b*c%d']);
    expect(matching('', 'a.b')).toEqual([]);
    expect(matching('', 'a?b*')).toEqual([]);
    expect(matching('', '(foo)')).toEqual([]);
    expect(compileListPattern('', 'a+b[c]^$\\')('a+b[c]^$\\')).toBe(true);
  });

  it('an empty pattern matches only the name that is the reference itself', () => {
    expect(matching('', '')).toEqual([]);
    expect(compileListPattern('', '')('')).toBe(true);
    expect(matching('foo', '')).toEqual(['foo']);
  });

  it('is case-sensitive outside INBOX', () => {
    expect(matching('', 'archive/*')).toEqual([]);
    expect(matching('', 'FOO')).toEqual([]);
    expect(matching('', 'Archive/2024/q1')).toEqual([]);
  });
});

describe('reference and pattern (RFC 3501 §6.3.8, joined the way Dovecot does)', () => {
  it('reads the RFC table rows that a plain join agrees with', () => {
    const names = [
      '~smith/Mail/foo.bar',
      '~smith/Mail/foo.bar/x',
      '~smith/Mail/foo',
      'archive/a',
      'archive/a/b',
    ];
    expect(matching('~smith/Mail/', 'foo.*', names)).toEqual([
      '~smith/Mail/foo.bar',
      '~smith/Mail/foo.bar/x',
    ]);
    expect(matching('archive/', '%', names)).toEqual(['archive/a']);
    expect(matching('#news.', 'comp.mail.*', ['#news.comp.mail.misc', '#news.comp.misc'])).toEqual([
      '#news.comp.mail.misc',
    ]);
  });

  it('writes a delimiter shared by both once', () => {
    expect(matching('Archive/', '/%')).toEqual(['Archive/2023', 'Archive/2024']);
    expect(matching('Archive', '/%')).toEqual(['Archive/2023', 'Archive/2024']);
    expect(matching('Archive/', '%')).toEqual(['Archive/2023', 'Archive/2024']);
  });

  it('keeps a pattern that starts with the delimiter under the reference, as Dovecot does', () => {
    // RFC 3501's row "~smith/Mail/" + "/usr/doc/foo" reads the pattern as absolute; the
    // RFC leaves the reference implementation-defined and Dovecot clients expect a join.
    const names = ['/usr/doc/foo', '~smith/Mail/usr/doc/foo'];
    expect(matching('~smith/Mail/', '/usr/doc/foo', names)).toEqual(['~smith/Mail/usr/doc/foo']);
  });

  it('joins without adding a delimiter', () => {
    expect(matching('foo', 'bar')).toEqual(['foobar']);
    expect(matching('Arch', 'ive/*')).toEqual(['Archive/2023', 'Archive/2024', 'Archive/2024/Q1']);
  });

  it('leaves wildcards in the reference as wildcards', () => {
    expect(matching('%/', '2024')).toEqual(['Archive/2024']);
  });
});

describe('INBOX is case-insensitive (RFC 3501 §5.1)', () => {
  it('finds INBOX whatever the case of the pattern', () => {
    for (const pattern of ['INBOX', 'inbox', 'InBoX', 'iNbOx']) {
      expect(matching('', pattern)).toEqual(['INBOX']);
    }
    expect(matching('', 'in%')).toEqual(['INBOX']);
    expect(matching('', 'i*')).toEqual(['INBOX', 'INBOX/Receipts', 'INBOX/Receipts/2024']);
    expect(matching('', 'I%B%X')).toEqual(['INBOX']);
  });

  it('finds INBOX children through any case of the INBOX part', () => {
    expect(matching('', 'InBoX/%')).toEqual(['INBOX/Receipts']);
    expect(matching('', 'inbox/*')).toEqual(['INBOX/Receipts', 'INBOX/Receipts/2024']);
    expect(matching('inbox/', '%')).toEqual(['INBOX/Receipts']);
    expect(matching('Inbox', '/Receipts')).toEqual(['INBOX/Receipts']);
  });

  it('keeps case below INBOX and in names that only start with "Inbox"', () => {
    expect(matching('', 'inbox/receipts')).toEqual([]);
    expect(matching('', 'INBOXES')).toEqual([]);
    expect(matching('', 'inboxes')).toEqual([]);
    expect(matching('', 'Inboxes')).toEqual(['Inboxes']);
    expect(matching('', 'inbox%')).toEqual(['INBOX']);
  });
});

describe('hostile patterns', () => {
  // A backtracking matcher takes exponential time on these; the NFA takes 200 × 200 steps.
  const name = 'a'.repeat(200);

  it('answers "%*%*…x" against a long name', () => {
    const pattern = `${'%*'.repeat(99)}x`;
    expect(pattern.length).toBe(199);
    expect(compileListPattern('', pattern)(name)).toBe(false);
    expect(compileListPattern('', `${'%*'.repeat(99)}a`)(name)).toBe(true);
  });

  it('answers "%a%a…x" and "*a*a…x", which no rewriting shortens', () => {
    expect(compileListPattern('', `${'%a'.repeat(100)}x`)(name)).toBe(false);
    expect(compileListPattern('', `${'*a'.repeat(100)}x`)(name)).toBe(false);
    expect(compileListPattern('', `${'%a'.repeat(100)}`)(name)).toBe(true);
    expect(compileListPattern('', `${'%a'.repeat(100)}`)(`${name}/a`)).toBe(false);
    expect(compileListPattern('', `${'*a'.repeat(100)}`)(`${name}/a`)).toBe(true);
  });
});

describe('matches like a reference implementation', () => {
  /** Exhaustive recursion: fine for the short strings generated here. */
  function naive(pattern: string, name: string): boolean {
    if (pattern === '') return name === '';
    const [head, rest] = [pattern[0], pattern.slice(1)];
    if (head === '*') return [...Array(name.length + 1).keys()].some((n) => naive(rest, name.slice(n)));
    if (head === '%') {
      for (let n = 0; n <= name.length; n++) {
        if (naive(rest, name.slice(n))) return true;
        if (name[n] === '/') return false;
      }
      return false;
    }
    return name[0] === head && naive(rest, name.slice(1));
  }

  it('agrees on patterns and names over a small alphabet (INBOX aside)', () => {
    const text = (units: string[]) => fc.string({ unit: fc.constantFrom(...units), maxLength: 8 });
    fc.assert(
      fc.property(text(['a', 'b', '/', '*', '%']), text(['a', 'b', '/']), (pattern, name) => {
        expect(compileListPattern('', pattern)(name)).toBe(naive(pattern, name));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('listParents', () => {
  it('lists the superiors, outermost first', () => {
    expect(listParents('a/b/c')).toEqual(['a', 'a/b']);
    expect(listParents('a')).toEqual([]);
    expect(listParents('')).toEqual([]);
    expect(listParents('INBOX/Receipts/2024')).toEqual(['INBOX', 'INBOX/Receipts']);
  });

  it('uses the delimiter it is given', () => {
    expect(listParents('a.b.c', '.')).toEqual(['a', 'a.b']);
    expect(listParents('a/b.c', '.')).toEqual(['a/b']);
  });

  it('skips the empty superiors of leading, doubled and trailing delimiters', () => {
    expect(listParents('/a/b')).toEqual(['/a']);
    expect(listParents('a//b')).toEqual(['a']);
    expect(listParents('a/b/')).toEqual(['a', 'a/b']);
  });
});

describe('hasChildIn', () => {
  it('finds inferiors at any depth, not siblings with a longer name', () => {
    expect(hasChildIn('foo', NAMES)).toBe(true);
    expect(hasChildIn('foo/bar', NAMES)).toBe(true);
    expect(hasChildIn('foo/bar/baz', NAMES)).toBe(false);
    expect(hasChildIn('foobar', NAMES)).toBe(false);
    expect(hasChildIn('Drafts', NAMES)).toBe(false);
    expect(hasChildIn('Archive', new Set(['Archive/2024/Q1']))).toBe(true);
    expect(hasChildIn('a', ['a.b'], '.')).toBe(true);
    expect(hasChildIn('a', ['a.b'])).toBe(false);
  });
});
