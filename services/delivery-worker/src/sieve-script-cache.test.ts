import type { StoredSieveScript } from '@tegami/store';
import { describe, expect, it } from 'vitest';
import { compileWithIncludes, type IncludeLoader, SieveScriptCache } from './sieve-script-cache.js';

const script = (version: string, content = 'keep;', key = 'personal:1'): StoredSieveScript => ({
  key,
  name: 'main',
  content,
  version,
});
const noIncludes: IncludeLoader = async () => ({ personal: new Map(), global: new Map() });

describe('SieveScriptCache', () => {
  it('compiles a script once per version', async () => {
    const cache = new SieveScriptCache();
    const first = await cache.compiled(script('v1'), 'i1', noIncludes);
    expect(first.kind).toBe('compiled');
    expect(await cache.compiled(script('v1'), 'i1', noIncludes)).toBe(first);
    expect(await cache.compiled(script('v2'), 'i1', noIncludes)).not.toBe(first);
    // A change to what it could include is a new version too.
    expect(await cache.compiled(script('v1'), 'i2', noIncludes)).not.toBe(first);
  });

  it('keeps a compile error as the answer for that version', async () => {
    const cache = new SieveScriptCache();
    const broken = await cache.compiled(script('v1', 'fileinto "x";'), 'i1', noIncludes);
    expect(broken.kind === 'error' && broken.error.message).toMatch(/fileinto/);
    expect(await cache.compiled(script('v1', 'fileinto "x";'), 'i1', noIncludes)).toBe(broken);
  });

  it('holds at most its bound, dropping the least recently used first', async () => {
    const cache = new SieveScriptCache(2);
    const a = await cache.compiled(script('v1', 'keep;', 'personal:a'), 'i', noIncludes);
    const b = await cache.compiled(script('v1', 'keep;', 'personal:b'), 'i', noIncludes);
    expect(await cache.compiled(script('v1', 'keep;', 'personal:a'), 'i', noIncludes)).toBe(a);
    await cache.compiled(script('v1', 'keep;', 'personal:c'), 'i', noIncludes);
    expect(cache.size).toBe(2);
    expect(await cache.compiled(script('v1', 'keep;', 'personal:a'), 'i', noIncludes)).toBe(a);
    expect(await cache.compiled(script('v1', 'keep;', 'personal:b'), 'i', noIncludes)).not.toBe(b);
  });
});

describe('compileWithIncludes', () => {
  it('loads the scripts include names, nested ones included, and only those', async () => {
    const asked: string[] = [];
    const loader: IncludeLoader = async (names) => {
      asked.push(...names.personal.map((n) => `personal:${n}`), ...names.global.map((n) => `global:${n}`));
      const personal = new Map([['lib', 'require "include"; include :global "common";']]);
      const global = new Map([['common', 'require "fileinto"; fileinto "Common";']]);
      return {
        personal: new Map(names.personal.filter((n) => personal.has(n)).map((n) => [n, personal.get(n)!])),
        global: new Map(names.global.filter((n) => global.has(n)).map((n) => [n, global.get(n)!])),
      };
    };
    const compiled = await compileWithIncludes('require "include"; include "lib";', loader);
    expect(compiled.kind).toBe('compiled');
    expect(asked).toEqual(['personal:lib', 'global:common']);
    if (compiled.kind === 'compiled')
      expect([...compiled.script.includes.keys()].sort()).toEqual(['global:common', 'personal:lib']);
  });

  it('refuses a script that includes a missing one, naming it and its line (as Pigeonhole)', async () => {
    const compiled = await compileWithIncludes('require "include";\ninclude "gone";', noIncludes);
    expect(compiled.kind).toBe('error');
    if (compiled.kind !== 'error') return;
    expect(compiled.error.message).toMatch(/line 2.*gone/);
  });
});
