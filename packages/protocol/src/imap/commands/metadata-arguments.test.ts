import { describe, expect, it } from 'vitest';
import type { ImapToken } from '../command-tokens.js';
import { metadataEntryMatches } from '../metadata-entries.js';
import { bad } from './command-spec.js';
import { metadataEntry, parseGetMetadata, parseSetMetadata } from './metadata-arguments.js';

const atom = (value: string): ImapToken => ({ type: 'atom', value });
const quoted = (value: string | Buffer): ImapToken => ({
  type: 'string',
  value: Buffer.from(value),
  literal: false,
});
const literal = (value: string | Buffer, binary = false): ImapToken => ({
  type: 'string',
  value: Buffer.from(value),
  literal: true,
  ...(binary && { binary: true }),
});
const list = (...items: ImapToken[]): ImapToken => ({ type: 'list', items });

describe('METADATA entry names (RFC 5464 §3.2, §5)', () => {
  it('takes names under /private and /shared, in lower case whatever the case given', () => {
    expect(metadataEntry(atom('/private/comment'))).toBe('/private/comment');
    expect(metadataEntry(atom('/SHARED/Comment'))).toBe('/shared/comment');
    expect(metadataEntry(quoted('/Private/Vendor/Example.COM/x'))).toBe('/private/vendor/example.com/x');
    expect(metadataEntry(literal('/shared/vendor/a b'))).toBe('/shared/vendor/a b');
    expect(metadataEntry(atom('/private'))).toBe('/private');
    expect(metadataEntry(atom('/shared'))).toBe('/shared');
  });

  it('refuses names outside /private and /shared', () => {
    for (const name of ['/comment', '/privatex/a', '/sharedcomment', 'private/comment', '', '/']) {
      expect(metadataEntry(quoted(name)), name).toMatchObject({ status: 'BAD' });
    }
  });

  it('refuses "*" and "%", "//" and a trailing "/"', () => {
    expect(metadataEntry(atom('/private/*'))).toEqual(
      bad("invalid entry name: entry names contain no '*' or '%'"),
    );
    expect(metadataEntry(atom('/shared/a%b'))).toMatchObject({ status: 'BAD' });
    expect(metadataEntry(atom('/private//comment'))).toEqual(
      bad("invalid entry name: entry names contain no '//'"),
    );
    expect(metadataEntry(atom('/private/comment/'))).toEqual(
      bad("invalid entry name: entry names do not end with '/'"),
    );
  });

  it('refuses non-ASCII and control characters, literal8 and over-long names', () => {
    expect(metadataEntry(quoted('/private/commént'))).toEqual(
      bad('invalid entry name: entry names are printable ASCII'),
    );
    expect(metadataEntry(literal('/private/a\tb'))).toMatchObject({ status: 'BAD' });
    expect(metadataEntry(literal('/private/comment', true))).toMatchObject({ status: 'BAD' });
    expect(metadataEntry(list(atom('/private/comment')))).toMatchObject({ status: 'BAD' });
    expect(metadataEntry(atom(`/private/${'x'.repeat(1015)}`))).toBe(`/private/${'x'.repeat(1015)}`);
    expect(metadataEntry(atom(`/private/${'x'.repeat(1016)}`))).toMatchObject({ status: 'BAD' });
  });

  it('matches an entry, its children at DEPTH 1 and all below at DEPTH infinity (§4.2.2)', () => {
    expect(metadataEntryMatches('/private/a', '/private/a', '0')).toBe(true);
    expect(metadataEntryMatches('/private/a', '/private/a/b', '0')).toBe(false);
    expect(metadataEntryMatches('/private/a', '/private/a/b', '1')).toBe(true);
    expect(metadataEntryMatches('/private/a', '/private/a/b/c', '1')).toBe(false);
    expect(metadataEntryMatches('/private/a', '/private/a/b/c', 'infinity')).toBe(true);
    expect(metadataEntryMatches('/private/a', '/private/ab', 'infinity')).toBe(false);
    expect(metadataEntryMatches('/private', '/private/comment', '1')).toBe(true);
  });
});

describe('GETMETADATA arguments', () => {
  it('reads a mailbox and one entry, DEPTH 0 and no MAXSIZE by default', () => {
    expect(parseGetMetadata([quoted(''), atom('/shared/Comment')])).toEqual({
      mailbox: quoted(''),
      entries: ['/shared/comment'],
      depth: '0',
      maxSize: undefined,
    });
  });

  it('reads a list of entries in the order given', () => {
    expect(
      parseGetMetadata([atom('INBOX'), list(atom('/shared/comment'), quoted('/private/comment'))]),
    ).toMatchObject({ entries: ['/shared/comment', '/private/comment'] });
    expect(parseGetMetadata([atom('INBOX'), list()])).toMatchObject({ entries: [] });
  });

  it('reads MAXSIZE and DEPTH in any order and case (§5: case-insensitive)', () => {
    expect(
      parseGetMetadata([
        list(atom('maxsize'), atom('1024'), atom('Depth'), atom('INFINITY')),
        atom('INBOX'),
        atom('/private'),
      ]),
    ).toMatchObject({ depth: 'infinity', maxSize: 1024 });
    expect(parseGetMetadata([list(atom('DEPTH'), atom('1')), atom('INBOX'), atom('/private')])).toMatchObject(
      {
        depth: '1',
        maxSize: undefined,
      },
    );
    expect(
      parseGetMetadata([list(atom('MAXSIZE'), atom('0')), atom('INBOX'), atom('/private')]),
    ).toMatchObject({
      maxSize: 0,
    });
  });

  it('refuses unknown options, bad values and misplaced arguments with BAD', () => {
    const refused: ImapToken[][] = [
      [list(atom('DEPTH'), atom('2')), atom('INBOX'), atom('/private')],
      [list(atom('MAXSIZE'), atom('-1')), atom('INBOX'), atom('/private')],
      [list(atom('MAXSIZE'), atom('4294967296')), atom('INBOX'), atom('/private')],
      [list(atom('MAXSIZE')), atom('INBOX'), atom('/private')],
      [list(atom('FOO'), atom('1')), atom('INBOX'), atom('/private')],
      [list(quoted('DEPTH'), atom('1')), atom('INBOX'), atom('/private')],
      [atom('INBOX'), atom('/private/comment'), atom('/shared/comment')],
      [atom('INBOX')],
      [list(), atom('/private')],
      [list(atom('DEPTH'), atom('1')), list(), atom('/private')],
      [atom('INBOX'), atom('/private/*')],
      [atom('INBOX'), list(atom('/private/a'), atom('/other'))],
    ];
    for (const args of refused)
      expect(parseGetMetadata(args), JSON.stringify(args)).toMatchObject({ status: 'BAD' });
  });
});

describe('SETMETADATA arguments', () => {
  it('reads values as strings, literals and literal8, and NIL as a removal (§4.3)', () => {
    const binary = Buffer.from([0x61, 0x00, 0xff]);
    expect(
      parseSetMetadata([
        atom('INBOX'),
        list(
          atom('/private/Comment'),
          quoted('my notes'),
          atom('/shared/comment'),
          atom('nil'),
          atom('/private/vendor/x/text'),
          literal('two\r\nlines'),
          atom('/private/vendor/x/bytes'),
          literal(binary, true),
          atom('/private/vendor/x/empty'),
          quoted(''),
          atom('/private/vendor/x/quoted-nil'),
          quoted('NIL'),
        ),
      ]),
    ).toEqual({
      mailbox: atom('INBOX'),
      changes: [
        { entry: '/private/comment', value: Buffer.from('my notes') },
        { entry: '/shared/comment', value: null },
        { entry: '/private/vendor/x/text', value: Buffer.from('two\r\nlines') },
        { entry: '/private/vendor/x/bytes', value: binary },
        { entry: '/private/vendor/x/empty', value: Buffer.alloc(0) },
        { entry: '/private/vendor/x/quoted-nil', value: Buffer.from('NIL') },
      ],
    });
  });

  it('refuses atoms as values, entries without values and the bare tops', () => {
    const refused: ImapToken[][] = [
      [atom('INBOX'), list(atom('/private/comment'), atom('value'))],
      [atom('INBOX'), list(atom('/private/comment'), atom('12'))],
      [atom('INBOX'), list(atom('/private/comment'))],
      [atom('INBOX'), list(atom('/private/comment'), list())],
      [atom('INBOX'), list(atom('/private'), quoted('x'))],
      [atom('INBOX'), list(atom('/SHARED'), quoted('x'))],
      [atom('INBOX'), list(atom('/private/a*'), quoted('x'))],
      [atom('INBOX'), atom('/private/comment'), quoted('x')],
      [list(), list(atom('/private/comment'), quoted('x'))],
      [atom('INBOX')],
    ];
    for (const args of refused)
      expect(parseSetMetadata(args), JSON.stringify(args)).toMatchObject({ status: 'BAD' });
  });

  it('takes an empty list (nothing to change)', () => {
    expect(parseSetMetadata([atom('INBOX'), list()])).toEqual({ mailbox: atom('INBOX'), changes: [] });
  });
});
