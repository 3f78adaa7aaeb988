import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDomain, createAccount, getSieveScript, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;
let aliceId: string;
const tegami = (args: readonly string[], stdin?: string) =>
  runCliInProcess(args, { databaseUrl: database.url }, stdin);
const dir = mkdtempSync(join(tmpdir(), 'tegami-sieve-cli-'));

const ARCHIVE = 'require "fileinto";\nif header :contains "list-id" "" { fileinto "Lists"; }\n';

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.org');
  aliceId = (await createAccount(store.pool, 'alice@example.org', 'pw')).id;
  writeFileSync(join(dir, 'lists.sieve'), ARCHIVE);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

describe('tegami sieve', () => {
  it("stores a user's script from a file or standard input, lists, prints and activates it", async () => {
    expect(
      await tegami(['sieve', 'put', 'Alice@example.org', 'lists', join(dir, 'lists.sieve')]),
    ).toMatchObject({
      code: 0,
      stdout: 'stored script lists of alice@example.org\n',
    });
    expect(await tegami(['sieve', 'put', 'alice@example.org', 'keep', '-'], 'keep;\n')).toMatchObject({
      code: 0,
      stdout: 'stored script keep of alice@example.org\n',
    });
    expect(await tegami(['sieve', 'put', 'alice@example.org', 'keep', '-'], 'stop;\n')).toMatchObject({
      code: 0,
      stdout: 'replaced script keep of alice@example.org\n',
    });
    expect(await tegami(['sieve', 'activate', 'alice@example.org', 'lists'])).toMatchObject({
      code: 0,
      stdout: 'script lists of alice@example.org is active\n',
    });
    const list = await tegami(['sieve', 'list', 'alice@example.org']);
    expect(list.stdout).toMatch(
      /^SCRIPT\s+STATUS\s+UPDATED\nkeep\s+-\s+\d{4}-\d\d-\d\dT[\d:]+Z\nlists\s+active\s+\d{4}-/,
    );
    expect(await tegami(['sieve', 'get', 'alice@example.org', 'lists'])).toMatchObject({
      code: 0,
      stdout: ARCHIVE,
    });
    expect(await getSieveScript(store.pool, aliceId, 'lists')).toMatchObject({
      content: ARCHIVE,
      active: true,
    });
  });

  it('refuses a script that does not compile, with its line and column, and exit code 1', async () => {
    const broken = 'require "fileinto";\n\nif true {\n  fileinto "X"\n}\n';
    const run = await tegami(['sieve', 'put', 'alice@example.org', 'broken', '-'], broken);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tegami: standard input: line 5, column 1: .+\n$/);
    writeFileSync(join(dir, 'unknown.sieve'), 'frobnicate;\n');
    const fromFile = await tegami([
      'sieve',
      'put',
      'alice@example.org',
      'broken',
      join(dir, 'unknown.sieve'),
    ]);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toMatch(new RegExp(`^tegami: ${join(dir, 'unknown.sieve')}: line 1, column 1: `));
    expect(await getSieveScript(store.pool, aliceId, 'broken')).toBeUndefined();
  });

  it('deactivates, refuses to delete the active script, and deletes the others', async () => {
    await tegami(['sieve', 'activate', 'alice@example.org', 'keep']);
    expect(await tegami(['sieve', 'delete', 'alice@example.org', 'keep'])).toMatchObject({
      code: 1,
      stderr:
        'tegami: script keep of alice@example.org is active: deactivate it first (`tegami sieve deactivate alice@example.org`)\n',
    });
    expect(await tegami(['sieve', 'activate', 'alice@example.org', '--none'])).toMatchObject({
      code: 0,
      stdout: 'no script of alice@example.org is active\n',
    });
    expect(await tegami(['sieve', 'delete', 'alice@example.org', 'keep'])).toMatchObject({
      code: 0,
      stdout: 'deleted script keep of alice@example.org\n',
    });
    await tegami(['sieve', 'activate', 'alice@example.org', 'lists']);
    expect(await tegami(['sieve', 'deactivate', 'alice@example.org'])).toMatchObject({ code: 0 });
    expect((await getSieveScript(store.pool, aliceId, 'lists'))?.active).toBe(false);
  });

  it('says which user, script or name is wrong', async () => {
    expect(await tegami(['sieve', 'list', 'nobody@example.org'])).toMatchObject({
      code: 1,
      stderr: 'tegami: no user nobody@example.org\n',
    });
    expect(await tegami(['sieve', 'get', 'alice@example.org', 'nope'])).toMatchObject({
      code: 1,
      stderr: 'tegami: alice@example.org has no script nope\n',
    });
    expect(await tegami(['sieve', 'activate', 'alice@example.org', 'nope'])).toMatchObject({
      code: 1,
      stderr: 'tegami: alice@example.org has no script nope\n',
    });
    const badName = await tegami(['sieve', 'put', 'alice@example.org', 'a\tb', '-'], 'keep;');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('the script name holds a control character');
  });

  it("keeps the administrator's scripts and runs one before a domain's users' own", async () => {
    expect(
      await tegami(['sieve', 'global', 'put', 'spam', '-'], 'require "fileinto";\nfileinto "Junk";\n'),
    ).toMatchObject({
      code: 0,
      stdout: 'stored global script spam\n',
    });
    expect(await tegami(['sieve', 'global', 'get', 'spam'])).toMatchObject({
      stdout: 'require "fileinto";\nfileinto "Junk";\n',
    });
    expect(await tegami(['sieve', 'before', 'example.org', 'nope'])).toMatchObject({
      code: 1,
      stderr: 'tegami: no global script nope (store it with tegami sieve global put)\n',
    });
    expect(await tegami(['sieve', 'before', 'Example.ORG', 'spam'])).toMatchObject({
      code: 0,
      stdout: "example.org runs spam before its users' scripts\n",
    });
    expect((await tegami(['sieve', 'global', 'list'])).stdout).toMatch(
      /^SCRIPT\s+BEFORE USERS OF\s+UPDATED\nspam\s+example\.org\s+\d{4}-/,
    );
    expect(await tegami(['sieve', 'global', 'delete', 'spam'])).toMatchObject({
      code: 1,
      stderr:
        "tegami: global script spam runs before the users' scripts of example.org: take it off first (`tegami sieve before example.org --none`)\n",
    });
    expect(await tegami(['sieve', 'before', 'example.org', '--none'])).toMatchObject({
      code: 0,
      stdout: "example.org runs no script before its users'\n",
    });
    expect(await tegami(['sieve', 'global', 'delete', 'spam'])).toMatchObject({
      code: 0,
      stdout: 'deleted global script spam\n',
    });
    const broken = await tegami(['sieve', 'global', 'put', 'bad', '-'], 'if {');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^tegami: standard input: line 1, column \d+: /);
  });
});
