// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve writes its variables as ${name}
import { describe, expect, it } from 'vitest';
import {
  applyModifiers,
  expandVariables,
  isVariableName,
  limitVariableValue,
  MAX_VARIABLE_BYTES,
} from './variables.js';

const scope = {
  lookup: (name: string) => ({ company: 'ACME', 'global.x': 'g' })[name] ?? null,
  matchVariable: (index: number) => ['whole', 'one'][index] ?? '',
};

describe('variable substitution (RFC 5229 §3)', () => {
  it('replaces names case-insensitively and match variables by number', () => {
    expect(expandVariables('${Company} ${1} ${0} ${2}', scope)).toBe('ACME one whole ');
    expect(expandVariables('${001}', scope)).toBe('one');
  });

  it('replaces unknown names with the empty string', () => {
    expect(expandVariables('[${nothing}]', scope)).toBe('[]');
  });

  it('leaves malformed references as written and never rescans', () => {
    expect(expandVariables('${a b} ${ ${1x}', scope)).toBe('${a b} ${ ${1x}');
    const nested = { lookup: () => '${company}', matchVariable: () => '' };
    expect(expandVariables('${x}', nested)).toBe('${company}');
  });

  it('checks names', () => {
    expect(isVariableName('a_1')).toBe(true);
    expect(isVariableName('1a')).toBe(false);
    expect(isVariableName('a.b')).toBe(false);
  });

  it('cuts long values on a character boundary', () => {
    const long = 'é'.repeat(MAX_VARIABLE_BYTES);
    expect(Buffer.byteLength(limitVariableValue(long))).toBe(MAX_VARIABLE_BYTES);
  });
});

describe('set modifiers (RFC 5229 §4.1)', () => {
  it('applies them in precedence order', () => {
    // RFC 5229 §4.1 example: :upperfirst then... :lower applies first (40), then :upperfirst (30).
    expect(applyModifiers(['upperfirst', 'lower'], 'juMBlEd lETteRS')).toBe('Jumbled letters');
    expect(applyModifiers(['length', 'quotewildcard'], 'a*b')).toBe('4');
  });

  it('quotes wildcards and regex specials', () => {
    expect(applyModifiers(['quotewildcard'], 'Rock*?\\')).toBe('Rock\\*\\?\\\\');
    expect(applyModifiers(['quoteregex'], 'a.b(c)')).toBe('a\\.b\\(c\\)');
  });

  it('encodes for URLs (RFC 5435 §6)', () => {
    expect(applyModifiers(['encodeurl'], 'a b&é')).toBe('a%20b%26%C3%A9');
  });

  it('changes case of ASCII letters only, as Pigeonhole does', () => {
    expect(applyModifiers(['upper'], 'é-a')).toBe('é-A');
  });

  it('counts characters, not bytes, for :length', () => {
    expect(applyModifiers(['length'], 'héllo')).toBe('5');
  });
});
