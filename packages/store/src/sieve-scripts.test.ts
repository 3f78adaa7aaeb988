import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, removeAccount } from './accounts.js';
import { addDomain } from './domains.js';
import {
  activateSieveScript,
  deleteGlobalSieveScript,
  deleteSieveScript,
  getGlobalSieveScript,
  getSieveScript,
  listGlobalSieveScripts,
  listSieveScripts,
  putGlobalSieveScript,
  putSieveScript,
  renameSieveScript,
  setDomainSieveBefore,
  sieveScriptSpace,
} from './sieve-scripts.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let account = 0;
const LIMITS = { maxScripts: 3, maxBytes: 100 };

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'sieve.test');
  await addDomain(store.pool, 'other.test');
});
afterAll(() => store.close());

/** A fresh account for each test, so none sees another's scripts. */
async function newAccount(): Promise<string> {
  return (await createAccount(store.pool, `user${++account}@sieve.test`, 'pw')).id;
}

const names = async (id: string) =>
  (await listSieveScripts(store.pool, id)).map((s) => (s.active ? `${s.name}*` : s.name));

describe("a user's Sieve scripts", () => {
  it('stores a script, replaces its content under the same name, and lists them by name', async () => {
    const id = await newAccount();
    expect(await putSieveScript(store.pool, id, 'vacation', 'keep;', LIMITS)).toEqual({
      kind: 'stored',
      created: true,
    });
    expect(await putSieveScript(store.pool, id, 'A', 'discard;', LIMITS)).toEqual({
      kind: 'stored',
      created: true,
    });
    expect(await putSieveScript(store.pool, id, 'vacation', 'stop;', LIMITS)).toEqual({
      kind: 'stored',
      created: false,
    });
    expect(await names(id)).toEqual(['A', 'vacation']);
    expect(await getSieveScript(store.pool, id, 'vacation')).toMatchObject({
      name: 'vacation',
      content: 'stop;',
      active: false,
    });
    // Names are compared exactly.
    expect(await getSieveScript(store.pool, id, 'Vacation')).toBeUndefined();
  });

  it('refuses a new script past the script count, but lets one be replaced', async () => {
    const id = await newAccount();
    for (const name of ['a', 'b', 'c']) await putSieveScript(store.pool, id, name, 'keep;', LIMITS);
    expect(await putSieveScript(store.pool, id, 'd', 'keep;', LIMITS)).toEqual({
      kind: 'quota',
      limit: 'maxscripts',
      maxScripts: 3,
    });
    expect(await putSieveScript(store.pool, id, 'c', 'discard;', LIMITS)).toEqual({
      kind: 'stored',
      created: false,
    });
    expect(await sieveScriptSpace(store.pool, id, 'd', 10, LIMITS)).toMatchObject({ limit: 'maxscripts' });
    expect(await sieveScriptSpace(store.pool, id, 'c', 10, LIMITS)).toEqual({ kind: 'ok' });
    expect(await names(id)).toEqual(['a', 'b', 'c']);
  });

  it('counts the size in UTF-8 octets', async () => {
    const id = await newAccount();
    // 34 characters, 102 octets.
    const big = 'あ'.repeat(34);
    expect(Buffer.byteLength(big)).toBe(102);
    expect(await putSieveScript(store.pool, id, 'big', big, LIMITS)).toEqual({
      kind: 'quota',
      limit: 'maxsize',
      maxBytes: 100,
    });
    expect(await sieveScriptSpace(store.pool, id, 'big', 101, LIMITS)).toMatchObject({ limit: 'maxsize' });
    expect(await sieveScriptSpace(store.pool, id, 'big', 100, LIMITS)).toEqual({ kind: 'ok' });
    expect(await names(id)).toEqual([]);
  });

  it('takes the last free slot only once when two sessions race for it', async () => {
    const id = await newAccount();
    await putSieveScript(store.pool, id, 'a', 'keep;', LIMITS);
    await putSieveScript(store.pool, id, 'b', 'keep;', LIMITS);
    const results = await Promise.all(
      ['x', 'y', 'z'].map((name) => putSieveScript(store.pool, id, name, 'keep;', LIMITS)),
    );
    expect(results.filter((r) => r.kind === 'stored')).toHaveLength(1);
    expect(await listSieveScripts(store.pool, id)).toHaveLength(3);
  });

  it('keeps one script active: activating another deactivates the first, null deactivates all', async () => {
    const id = await newAccount();
    for (const name of ['a', 'b', 'c']) await putSieveScript(store.pool, id, name, 'keep;', LIMITS);
    expect(await activateSieveScript(store.pool, id, 'c')).toBe('ok');
    expect(await names(id)).toEqual(['a', 'b', 'c*']);
    // 'a' comes before 'c' in the table: the old one goes off before the new one goes on.
    expect(await activateSieveScript(store.pool, id, 'a')).toBe('ok');
    expect(await names(id)).toEqual(['a*', 'b', 'c']);
    expect(await activateSieveScript(store.pool, id, 'a')).toBe('ok');
    expect(await names(id)).toEqual(['a*', 'b', 'c']);
    expect(await activateSieveScript(store.pool, id, 'nope')).toBe('nonexistent');
    expect(await names(id)).toEqual(['a*', 'b', 'c']);
    expect(await activateSieveScript(store.pool, id, null)).toBe('ok');
    expect(await names(id)).toEqual(['a', 'b', 'c']);
  });

  it('ends with one active script when sessions activate different ones at once', async () => {
    const id = await newAccount();
    for (const name of ['a', 'b', 'c']) await putSieveScript(store.pool, id, name, 'keep;', LIMITS);
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(
        ['a', 'b', 'c'].map((name) => activateSieveScript(store.pool, id, name)),
      );
      expect(results).toEqual(['ok', 'ok', 'ok']);
      expect((await listSieveScripts(store.pool, id)).filter((s) => s.active)).toHaveLength(1);
    }
  });

  it('keeps a script active when its content is replaced', async () => {
    const id = await newAccount();
    await putSieveScript(store.pool, id, 'a', 'keep;', LIMITS);
    await activateSieveScript(store.pool, id, 'a');
    await putSieveScript(store.pool, id, 'a', 'discard;', LIMITS);
    expect(await getSieveScript(store.pool, id, 'a')).toMatchObject({ content: 'discard;', active: true });
  });

  it('refuses to delete the active script, and says when there is none by that name', async () => {
    const id = await newAccount();
    await putSieveScript(store.pool, id, 'a', 'keep;', LIMITS);
    await putSieveScript(store.pool, id, 'b', 'keep;', LIMITS);
    await activateSieveScript(store.pool, id, 'a');
    expect(await deleteSieveScript(store.pool, id, 'a')).toBe('active');
    expect(await deleteSieveScript(store.pool, id, 'b')).toBe('deleted');
    expect(await deleteSieveScript(store.pool, id, 'b')).toBe('nonexistent');
    expect(await names(id)).toEqual(['a*']);
  });

  it('renames a script, active or not, but not onto another or from nothing', async () => {
    const id = await newAccount();
    await putSieveScript(store.pool, id, 'a', 'keep;', LIMITS);
    await putSieveScript(store.pool, id, 'b', 'discard;', LIMITS);
    await activateSieveScript(store.pool, id, 'a');
    expect(await renameSieveScript(store.pool, id, 'a', 'b')).toBe('already-exists');
    expect(await renameSieveScript(store.pool, id, 'a', 'a')).toBe('already-exists');
    expect(await renameSieveScript(store.pool, id, 'x', 'y')).toBe('nonexistent');
    expect(await renameSieveScript(store.pool, id, 'a', 'main')).toBe('renamed');
    expect(await names(id)).toEqual(['b', 'main*']);
    expect((await getSieveScript(store.pool, id, 'main'))?.content).toBe('keep;');
  });

  it('goes with the account', async () => {
    const id = await newAccount();
    await putSieveScript(store.pool, id, 'a', 'keep;', LIMITS);
    await removeAccount(store.pool, `user${account}@sieve.test`);
    expect(await listSieveScripts(store.pool, id)).toEqual([]);
  });

  it('refuses an empty name', async () => {
    const id = await newAccount();
    await expect(putSieveScript(store.pool, id, '', 'keep;', LIMITS)).rejects.toThrow(/check constraint/);
  });
});

describe('global Sieve scripts', () => {
  it('stores, replaces, reads, lists and deletes them', async () => {
    expect(await putGlobalSieveScript(store.pool, 'spam', 'keep;')).toEqual({ created: true });
    expect(await putGlobalSieveScript(store.pool, 'spam', 'discard;')).toEqual({ created: false });
    expect(await getGlobalSieveScript(store.pool, 'spam')).toMatchObject({ content: 'discard;' });
    expect(await getGlobalSieveScript(store.pool, 'nope')).toBeUndefined();
    await putGlobalSieveScript(store.pool, 'archive', 'keep;');
    expect((await listGlobalSieveScripts(store.pool)).map((s) => s.name)).toEqual(['archive', 'spam']);
    expect(await deleteGlobalSieveScript(store.pool, 'archive')).toEqual({ kind: 'deleted' });
    expect(await deleteGlobalSieveScript(store.pool, 'archive')).toEqual({ kind: 'nonexistent' });
  });

  it("runs before a domain's users' scripts only when it exists, and is not deleted while it does", async () => {
    await putGlobalSieveScript(store.pool, 'before', 'keep;');
    expect(await setDomainSieveBefore(store.pool, 'sieve.test', 'missing')).toBe('no-script');
    expect(await setDomainSieveBefore(store.pool, 'nowhere.test', 'before')).toBe('no-domain');
    expect(await setDomainSieveBefore(store.pool, 'Sieve.TEST', 'before')).toBe('ok');
    expect(await setDomainSieveBefore(store.pool, 'other.test', 'before')).toBe('ok');
    const domains = await store.pool.query('SELECT name, sieve_before FROM domains ORDER BY name');
    expect(domains.rows).toEqual([
      { name: 'other.test', sieve_before: 'before' },
      { name: 'sieve.test', sieve_before: 'before' },
    ]);
    expect((await listGlobalSieveScripts(store.pool)).find((s) => s.name === 'before')?.beforeIn).toEqual([
      'other.test',
      'sieve.test',
    ]);
    expect(await deleteGlobalSieveScript(store.pool, 'before')).toEqual({
      kind: 'in-use',
      domains: ['other.test', 'sieve.test'],
    });
    await setDomainSieveBefore(store.pool, 'sieve.test', null);
    await setDomainSieveBefore(store.pool, 'other.test', null);
    expect(await deleteGlobalSieveScript(store.pool, 'before')).toEqual({ kind: 'deleted' });
  });
});
