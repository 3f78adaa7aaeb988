import { describe, expect, it } from 'vitest';
import type { ImapToken } from './command-reader.js';
import {
  astringOf,
  astringText,
  clampToSafe,
  parseNumber,
  parseNumber64,
  parseNzNumber,
  strictUtf8,
} from './wire-values.js';

const quoted = (bytes: number[] | string): ImapToken => ({
  type: 'string',
  value: Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes),
  literal: false,
});

describe('numbers (RFC 9051 §9)', () => {
  it('number is 0 to 4294967295, digits only, leading zeros allowed', () => {
    expect(parseNumber('0')).toBe(0);
    expect(parseNumber('4294967295')).toBe(4_294_967_295);
    expect(parseNumber('0004294967295')).toBe(4_294_967_295);
    for (const text of ['4294967296', '99999999999999999999', '-1', '+1', '1.0', ' 1', '', '1e3', '٣']) {
      expect(parseNumber(text), text).toBeUndefined();
    }
  });

  it('nz-number refuses 0', () => {
    expect(parseNzNumber('0')).toBeUndefined();
    expect(parseNzNumber('00')).toBeUndefined();
    expect(parseNzNumber('01')).toBe(1);
  });

  it('number64 is 0 to 2^63 - 1, as a bigint', () => {
    expect(parseNumber64('9223372036854775807')).toBe(9_223_372_036_854_775_807n);
    expect(parseNumber64('9223372036854775808')).toBeUndefined();
    expect(parseNumber64('18446744073709551615')).toBeUndefined();
    expect(parseNumber64('0'.repeat(41))).toBeUndefined();
    expect(parseNumber64('0'.repeat(40))).toBe(0n);
  });

  it('clamps past 2^53 for comparing with sizes', () => {
    expect(clampToSafe(5n)).toBe(5);
    expect(clampToSafe(9_223_372_036_854_775_807n)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('astring arguments', () => {
  it('takes atoms and strings of valid UTF-8', () => {
    expect(astringText({ type: 'atom', value: 'INBOX' })).toBe('INBOX');
    // 8-bit atoms are not in the grammar, but python's imaplib sends UTF-8 search words so.
    expect(astringText({ type: 'atom', value: '\u30c6\u30b9\u30c8' })).toBe('\u30c6\u30b9\u30c8');
    expect(astringText(quoted('Été'))).toBe('Été');
    expect(astringText(quoted(''))).toBe('');
  });

  it('says what is wrong with anything else', () => {
    expect(() => astringText(undefined, 'mailbox name')).toThrow('mailbox name expected');
    expect(() => astringText({ type: 'list', items: [] })).toThrow('string expected');
    expect(() => astringText({ type: 'atom', value: 'caf\ufffd' })).toThrow('invalid UTF-8 in an atom');
    expect(() => astringText(quoted([0x61, 0x00]))).toThrow('NUL is not allowed in a string');
    expect(() => astringText(quoted([0xff]))).toThrow('invalid UTF-8 in a string');
    expect(() =>
      astringText({ type: 'string', value: Buffer.from('x'), literal: true, binary: true }),
    ).toThrow('literal8 is allowed only for APPEND message data');
    expect(astringOf(quoted([0x00]))).toBeUndefined();
  });

  it('decodes strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF', () => {
    expect(strictUtf8(Buffer.from([0xc3, 0xa9]))).toBe('é');
    expect(strictUtf8(Buffer.from([0xef, 0xbb, 0xbf, 0x61]))).toBe('\ufeffa');
    for (const bytes of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3]]) {
      expect(strictUtf8(Buffer.from(bytes)), String(bytes)).toBeUndefined();
    }
  });
});
