// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve writes its variables as ${name}
import { describe, expect, it } from 'vitest';
import { SIEVE_EXTENSIONS } from './command-table.js';
import { compileSieve } from './compile-script.js';
import { SieveError } from './types.js';

function compileError(script: string, options?: Parameters<typeof compileSieve>[1]): SieveError {
  try {
    compileSieve(script, options);
  } catch (error) {
    if (error instanceof SieveError) return error;
    throw error;
  }
  throw new Error('compiled without error');
}

describe('compileSieve: require (RFC 5228 §3.2)', () => {
  it('collects the required extensions', () => {
    const compiled = compileSieve('require ["fileinto", "Variables"];\nfileinto "x";');
    expect([...compiled.requires].sort()).toEqual(['fileinto', 'variables']);
  });

  it('refuses an unknown capability at its string', () => {
    const unknown = compileError('require ["fileinto",\n  "frobnicate"];');
    expect(unknown.reason).toMatch(/unknown Sieve capability 'frobnicate'/);
    expect(unknown.position).toEqual({ line: 1, column: 9 });
  });

  it('refuses require after another command or inside a block', () => {
    expect(compileError('keep;\nrequire "fileinto";').position).toEqual({ line: 2, column: 1 });
    expect(compileError('if true {\n  require "fileinto";\n}').position?.line).toBe(2);
  });

  it('offers only the extensions the caller allows', () => {
    const error = compileError('require "vacation";', { extensions: new Set(['fileinto']) });
    expect(error.reason).toMatch(/unknown Sieve capability 'vacation'/);
  });

  it('advertises the capabilities Pigeonhole names', () => {
    for (const name of ['fileinto', 'vacation-seconds', 'comparator-i;ascii-numeric', 'enotify', 'mailbox']) {
      expect(SIEVE_EXTENSIONS).toContain(name);
    }
    for (const name of SIEVE_EXTENSIONS) expect(() => compileSieve(`require "${name}";`)).not.toThrow();
  });
});

describe('compileSieve: commands and tests', () => {
  it('refuses a command whose extension is not required', () => {
    const error = compileError('if true {\n    fileinto "x";\n}');
    expect(error.reason).toBe("unknown command 'fileinto'");
    expect(error.position).toEqual({ line: 2, column: 5 });
  });

  it('refuses unknown tests and tests used as commands', () => {
    expect(compileError('if frob { keep; }').reason).toBe("unknown test 'frob'");
    expect(compileError('header "a" "b";').reason).toBe("unknown command 'header'");
  });

  it('checks the number and kind of positional arguments', () => {
    expect(compileError('require "fileinto"; fileinto "a" "b";').reason).toMatch(
      /expects 1 positional argument/,
    );
    expect(compileError('require "fileinto"; fileinto ["a"];').reason).toMatch(
      /expects a string as argument 1/,
    );
    expect(compileError('if header "subject" { keep; }').reason).toMatch(/expects 2 positional arguments/);
    expect(compileError('if size 10 { keep; }').reason).toMatch(/expects 0 positional arguments/);
    expect(compileError('if size { keep; }').reason).toMatch(/:under or the :over/);
  });

  it('refuses unknown, repeated, misplaced and conflicting tags', () => {
    expect(compileError('keep :copy;').reason).toMatch(/unknown tagged argument ':copy'/);
    expect(compileError('if header :is :contains "a" "b" { keep; }').reason).toMatch(/exclude each other/);
    expect(compileError('if header "subject" :contains "hi" { keep; }').reason).toMatch(/must come before/);
    expect(compileError('if size :over 1 :under 5 { keep; }').reason).toMatch(/must come before|exclude/);
    expect(compileError('if header :comparator { keep; }').reason).toMatch(/expects a string/);
  });

  it('checks blocks, tests and if/elsif/else order', () => {
    expect(compileError('keep { stop; }').reason).toMatch(/does not accept a command block/);
    expect(compileError('if true;').reason).toMatch(/requires a command block/);
    expect(compileError('else { keep; }').reason).toMatch(/must follow an if/);
    expect(compileError('if true { keep; } else { keep; } else { stop; }').position).toEqual({
      line: 1,
      column: 34,
    });
    expect(compileError('if allof() { keep; }').reason).toBeDefined();
  });

  it('checks comparators', () => {
    expect(compileError('if header :comparator "i;foo" "a" "b" { keep; }').reason).toBe(
      "unknown comparator 'i;foo'",
    );
    expect(compileError('if header :comparator "i;ascii-numeric" "a" "b" { keep; }').reason).toMatch(
      /unknown comparator/,
    );
    expect(
      compileError(
        'require "comparator-i;ascii-numeric";\nif header :contains :comparator "i;ascii-numeric" "a" "b" { keep; }',
      ).reason,
    ).toMatch(/does not support sub-string/);
  });

  it('checks relational operators and regular expressions', () => {
    expect(compileError('require "relational"; if header :value "foo" "a" "b" { keep; }').reason).toMatch(
      /"gt", "ge"/,
    );
    const regex = compileError('require "regex";\nif header :regex "subject" "(a" { keep; }');
    expect(regex.reason).toMatch(/unmatched/);
    expect(regex.position?.line).toBe(2);
    expect(
      compileError(
        'require ["regex", "comparator-i;ascii-numeric"]; if header :regex :comparator "i;ascii-numeric" "a" "b" { keep; }',
      ).reason,
    ).toMatch(/only supports i;octet and i;ascii-casemap/);
  });

  it('checks constant addresses, header names, envelope parts and indexes', () => {
    expect(compileError('redirect "foo";').reason).toMatch(/redirect address 'foo' is invalid/);
    expect(compileError('if address "subject" "x" { keep; }').reason).toMatch(
      /not allowed for the address test/,
    );
    expect(compileError('require "envelope"; if envelope "orcpt" "x" { keep; }').reason).toMatch(
      /envelope part/,
    );
    expect(compileError('require "index"; if header :last "x" "y" { keep; }').reason).toMatch(
      /without the :index/,
    );
    expect(compileError('require "index"; if header :index 0 "x" "y" { keep; }').reason).toMatch(
      /cannot be zero/,
    );
    expect(compileError('require "vacation"; vacation :from "foo" "x";').reason).toMatch(/:from address/);
  });

  it('checks variable names and set modifiers', () => {
    expect(compileError('require "variables"; set "1a" "x";').reason).toMatch(/invalid variable name/);
    expect(compileError('require "variables"; set :lower :upper "a" "x";').reason).toMatch(
      /equal precedence/,
    );
    expect(compileError('require "variables"; set :quoteregex "a" "x";').reason).toMatch(
      /unknown tagged argument/,
    );
    expect(compileError('require "imap4flags"; setflag "v" "\\\\Seen";').reason).toMatch(
      /variables extension/,
    );
  });

  it('checks include names and notify methods', () => {
    expect(compileError('require "include"; include "a/b";').reason).toMatch(/invalid script name/);
    expect(compileError('require "enotify"; notify "xmpp:a@b.c";').reason).toMatch(/invalid method/);
    expect(compileError('require "enotify"; notify :importance "4" "mailto:a@b.c";').reason).toMatch(
      /importance/,
    );
  });

  it('leaves checks of strings built from variables to run time', () => {
    expect(() => compileSieve('require "variables"; set "a" "x"; redirect "${a}";')).not.toThrow();
    expect(() =>
      compileSieve('require ["variables", "regex"]; if header :regex "a" "${a}(" { keep; }'),
    ).not.toThrow();
  });
});

describe('compileSieve: the script as a whole', () => {
  it('refuses scripts over the size limit', () => {
    expect(compileError('keep;'.repeat(100), { maxScriptBytes: 50 }).reason).toMatch(/too large/);
  });

  it('reports syntax errors with their place', () => {
    const error = compileError('if true {\n  keep;\n');
    expect(error.position?.line).toBeGreaterThan(0);
  });

  it('accepts bytes, refusing invalid UTF-8', () => {
    expect(compileSieve(Buffer.from('keep;')).ast.commands).toHaveLength(1);
    expect(() => compileSieve(Uint8Array.from([0x6b, 0xff, 0x3b]))).toThrow(SieveError);
  });

  it('decodes encoded characters when required (RFC 5228 §2.4.2.4)', () => {
    const compiled = compileSieve(
      'require ["encoded-character", "fileinto"];\nfileinto "${hex:49 4E}${unicode:0042 4f}X";',
    );
    const fileinto = compiled.ast.commands[1]!;
    expect(fileinto.arguments[0]).toMatchObject({ values: ['INBOX'] });
    const plain = compileSieve('require "fileinto"; fileinto "${hex:41}";');
    expect(plain.ast.commands[1]!.arguments[0]).toMatchObject({ values: ['${hex:41}'] });
    expect(compileError('require "encoded-character"; keep :flags "${unicode:D800}";').reason).toBeDefined();
    const malformed = compileSieve('require ["encoded-character", "fileinto"]; fileinto "${hex:4G}";');
    expect(malformed.ast.commands[1]!.arguments[0]).toMatchObject({ values: ['${hex:4G}'] });
  });
});

describe('compileSieve: include (RFC 6609)', () => {
  const scripts: Record<string, string> = {
    'personal:a': 'require "include"; include "b";',
    'personal:b': 'require "fileinto"; fileinto "b";',
    'personal:loop1': 'require "include"; include "loop2";',
    'personal:loop2': 'require "include"; include "loop1";',
    'personal:bad': 'fileinto "x";',
    'global:g': 'keep;',
  };
  const include = (location: 'personal' | 'global', name: string) => scripts[`${location}:${name}`] ?? null;

  it('compiles included scripts recursively, their requires included', () => {
    const compiled = compileSieve('require "include"; include "a"; include :global "g";', { include });
    expect([...compiled.includes.keys()].sort()).toEqual(['global:g', 'personal:a', 'personal:b']);
    expect(compiled.requires.has('fileinto')).toBe(true);
  });

  it('refuses cycles', () => {
    expect(compileError('require "include"; include "loop1";', { include }).reason).toMatch(
      /circular include/,
    );
  });

  it('bounds the nesting depth', () => {
    const deep = (_: 'personal' | 'global', name: string) => `require "include"; include "${name}x";`;
    expect(
      compileError('require "include"; include "n";', { include: deep, maxIncludeDepth: 3 }).reason,
    ).toMatch(/nesting deeper than 3/);
  });

  it('names the included script an error is in', () => {
    const error = compileError('require "include"; include "bad";', { include });
    expect(error.script).toBe('personal:bad');
    expect(error.message).toMatch(/^personal:bad: line 1/);
  });

  it('refuses a missing script at its include, as Pigeonhole does, unless :optional', () => {
    const error = compileError('require "include";\nkeep;\ninclude :personal "none";', { include });
    expect(error.reason).toBe("included personal script 'none' does not exist");
    expect(error.position).toEqual({ line: 3, column: 1 });
    expect(error.script).toBeNull();
    expect(compileSieve('require "include"; include :optional "none";', { include }).includes.size).toBe(0);
  });

  it('names the including script when a nested include is missing', () => {
    const nested = (_: 'personal' | 'global', name: string) =>
      name === 'outer' ? 'require "include";\ninclude :global "gone";' : null;
    const error = compileError('require "include"; include "outer";', { include: nested });
    expect(error.message).toBe(
      "personal:outer: line 2, column 1: included global script 'gone' does not exist",
    );
  });

  it('still looks up the includes after a missing one, and reports the first', () => {
    const asked: string[] = [];
    const lookup = (location: 'personal' | 'global', name: string) => {
      asked.push(`${location}:${name}`);
      return name === 'here' ? 'require "include"; include :global "deeper";' : null;
    };
    const error = compileError('require "include"; include "gone"; include "here"; include :global "too";', {
      include: lookup,
    });
    expect(error.reason).toBe("included personal script 'gone' does not exist");
    expect(asked).toEqual(['personal:gone', 'personal:here', 'global:deeper', 'global:too']);
  });

  it('leaves a missing script for run time when not given the scripts (ManageSieve)', () => {
    expect(compileSieve('require "include"; include "none";').includes.size).toBe(0);
  });
});
