import { describe, expect, it } from 'vitest';
import { exampleArguments, matchArguments, parseSynopsis } from './usage.js';

const match = (usage: readonly string[], argv: readonly string[]) => {
  const result = matchArguments(usage.map(parseSynopsis), argv);
  return result.ok ? { synopsis: result.args.synopsis.text } : result;
};

describe('parseSynopsis', () => {
  it('reads operands, optional and repeated ones, flags and literal words', () => {
    expect(parseSynopsis('<alias> [<destination>...]')).toEqual({
      text: '<alias> [<destination>...]',
      operands: [
        { name: 'alias', optional: false, repeated: false },
        { name: 'destination', optional: true, repeated: true },
      ],
      requiredFlags: [],
      optionalFlags: [],
      valueFlags: [],
    });
    expect(parseSynopsis('<address> none [--password-stdin] --all')).toMatchObject({
      operands: [
        { name: 'address', optional: false },
        { name: 'none', literal: 'none', optional: false },
      ],
      requiredFlags: ['--all'],
      optionalFlags: ['--password-stdin'],
    });
  });

  it('reads flags that take a value', () => {
    expect(parseSynopsis('<domain> [--selector=<selector>] --algorithm=<rsa|ed25519>')).toMatchObject({
      requiredFlags: ['--algorithm'],
      optionalFlags: ['--selector'],
      valueFlags: [
        { flag: '--selector', value: 'selector' },
        { flag: '--algorithm', value: 'rsa|ed25519' },
      ],
    });
    expect(() => parseSynopsis('[--selector=<s>')).toThrow(/unbalanced/);
    expect(() => parseSynopsis('--selector=s')).toThrow(/cannot parse/);
  });

  it('refuses a synopsis it could not parse arguments by', () => {
    expect(() => parseSynopsis('[<domain>] <address>')).toThrow(/must come last/);
    expect(() => parseSynopsis('<a>... <b>')).toThrow(/must come last/);
    expect(() => parseSynopsis('[<domain>')).toThrow(/unbalanced/);
    expect(() => parseSynopsis('<Address>')).toThrow(/cannot parse/);
    expect(() => parseSynopsis('-a')).toThrow(/cannot parse/);
  });
});

describe('matchArguments', () => {
  it('binds operands and flags by name', () => {
    const result = matchArguments(
      [parseSynopsis('<alias> <destination>... [--dry-run]')],
      ['sales@example.org', '--dry-run', 'a@example.org', 'b@remote.test'],
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.args.one('alias')).toBe('sales@example.org');
    expect(result.args.all('destination')).toEqual(['a@example.org', 'b@remote.test']);
    expect(result.args.has('--dry-run')).toBe(true);
    expect(result.args.optional('nothing')).toBeUndefined();
  });

  it('takes the synopsis the arguments fit: an operand, or the flag instead', () => {
    const retry = ['<queue-id>', '--all'];
    expect(match(retry, ['4Q2K9X1Z7BDM3HJA'])).toEqual({ synopsis: '<queue-id>' });
    expect(match(retry, ['--all'])).toEqual({ synopsis: '--all' });
    expect(match(retry, [])).toEqual({ ok: false, problem: 'missing <queue-id> or --all' });
    expect(match(retry, ['--all', 'X'])).toEqual({ ok: false, problem: 'unexpected argument "X"' });
    expect(match(retry, ['X', 'Y'])).toEqual({ ok: false, problem: 'unexpected argument "Y"' });
    expect(match(retry, ['--al'])).toEqual({ ok: false, problem: 'unknown option --al' });
    expect(match(retry, ['--all', '--all'])).toEqual({ ok: false, problem: '--all given twice' });
  });

  it('prefers a literal word to an operand in its place, whatever the order of the synopses', () => {
    const quota = ['<address> <size>', '<address> none'];
    expect(match(quota, ['a@example.org', 'none'])).toEqual({ synopsis: '<address> none' });
    expect(match(quota, ['a@example.org', '2G'])).toEqual({ synopsis: '<address> <size>' });
    expect(match(quota, ['a@example.org'])).toEqual({ ok: false, problem: 'missing <size> or none' });
  });

  it('accepts optional and repeated operands up to their limits', () => {
    expect(match(['[<domain>]'], [])).toEqual({ synopsis: '[<domain>]' });
    expect(match(['[<domain>]'], ['a', 'b'])).toEqual({ ok: false, problem: 'unexpected argument "b"' });
    expect(match(['<alias> [<destination>...]'], ['a'])).toEqual({ synopsis: '<alias> [<destination>...]' });
    expect(match(['<alias> <destination>...'], ['a'])).toEqual({
      ok: false,
      problem: 'missing <destination>',
    });
  });

  it('takes the value of a flag as the next argument or after =, and says when it is missing', () => {
    const create = ['<domain> [--selector=<selector>] [--algorithm=<rsa|ed25519>]'];
    const bound = (argv: string[]) => {
      const result = matchArguments(create.map(parseSynopsis), argv);
      if (!result.ok) return result;
      return {
        domain: result.args.one('domain'),
        selector: result.args.value('--selector'),
        algorithm: result.args.value('--algorithm'),
      };
    };
    expect(bound(['example.org', '--selector', 's1', '--algorithm=ed25519'])).toEqual({
      domain: 'example.org',
      selector: 's1',
      algorithm: 'ed25519',
    });
    expect(bound(['--selector=', 'example.org'])).toEqual({
      domain: 'example.org',
      selector: '',
      algorithm: undefined,
    });
    expect(bound(['example.org'])).toEqual({
      domain: 'example.org',
      selector: undefined,
      algorithm: undefined,
    });
    expect(bound(['example.org', '--selector'])).toEqual({ ok: false, problem: '--selector needs a value' });
    expect(bound(['example.org', '--selector', 'a', '--selector', 'b'])).toEqual({
      ok: false,
      problem: '--selector given twice',
    });
    expect(bound(['example.org', '--size=2'])).toEqual({ ok: false, problem: 'unknown option --size=2' });
  });

  it('takes what follows -- as operands, and a lone - as one', () => {
    const result = matchArguments([parseSynopsis('<key>')], ['--', '--all']);
    expect(result.ok && result.args.one('key')).toBe('--all');
    expect(match(['<key>'], ['-'])).toEqual({ synopsis: '<key>' });
  });

  it('fits the sample arguments it makes for a synopsis', () => {
    for (const text of [
      '<alias> <destination>...',
      '<address> none',
      '[<domain>]',
      '<a> [--b] --c',
      '<d> [--e=<f>]',
      '',
    ]) {
      expect(match([text], exampleArguments(parseSynopsis(text)))).toEqual({ synopsis: text });
    }
  });
});
