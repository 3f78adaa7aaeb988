import { addDomain, createAccount, migrate, openStore, putSieveScript, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;
const tegami = (args: readonly string[]) => runCliInProcess(args, { databaseUrl: database.url });
/** Runs a list command with --json: it succeeds, says nothing on stderr, and prints one JSON value. */
async function listed(args: readonly string[]): Promise<unknown> {
  const run = await tegami([...args, '--json']);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(run.stdout);
}
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

describe('--json on the list commands', () => {
  it('prints an empty array when there is nothing to list', async () => {
    expect(await listed(['domain', 'list'])).toEqual([]);
    expect(await listed(['user', 'list'])).toEqual([]);
    expect(await listed(['alias', 'list'])).toEqual([]);
    expect(await listed(['queue', 'list'])).toEqual([]);
    expect(await listed(['sieve', 'global', 'list'])).toEqual([]);
  });

  it('lists domains, users, aliases and Sieve scripts with camelCase keys and ISO dates', async () => {
    await addDomain(store.pool, 'example.org');
    const alice = await createAccount(store.pool, 'alice@example.org', 'pw');
    await createAccount(store.pool, 'bob@example.org', 'pw');
    expect((await tegami(['user', 'quota', 'bob@example.org', '10M'])).code).toBe(0);
    expect(
      (await tegami(['alias', 'add', 'team@example.org', 'bob@example.org', 'alice@example.org'])).code,
    ).toBe(0);
    await putSieveScript(store.pool, alice.id, 'main', 'keep;\n', { maxScripts: 10, maxBytes: 65536 });

    expect(await listed(['domain', 'list'])).toEqual([{ name: 'example.org', users: 2, aliases: 2 }]);
    const users = (await listed(['user', 'list', 'example.org'])) as Record<string, unknown>[];
    expect(users).toEqual([
      {
        address: 'alice@example.org',
        domain: 'example.org',
        disabled: false,
        usedBytes: 0,
        messages: 0,
        quotaBytes: null,
        createdAt: expect.stringMatching(ISO),
      },
      expect.objectContaining({ address: 'bob@example.org', quotaBytes: 10 * 1024 * 1024 }),
    ]);
    expect(await listed(['alias', 'list', 'example.org'])).toEqual([
      // The first user of a domain becomes its postmaster.
      { address: 'postmaster@example.org', destinations: ['alice@example.org'], dangling: [] },
      { address: 'team@example.org', destinations: ['alice@example.org', 'bob@example.org'], dangling: [] },
    ]);
    expect(await listed(['sieve', 'list', 'alice@example.org'])).toEqual([
      { name: 'main', active: false, updatedAt: expect.stringMatching(ISO) },
    ]);
  });

  it('still refuses a flag the list commands do not have', async () => {
    expect((await tegami(['domain', 'list', '--yaml'])).code).toBe(2);
  });
});
