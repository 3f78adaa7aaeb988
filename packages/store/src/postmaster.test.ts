import { createTestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, removeAccount } from './accounts.js';
import { addAlias, findAlias, listAliases } from './aliases.js';
import { openStore } from './db.js';
import { addDomain, removeDomain } from './domains.js';
import { loadMigrations, migrate } from './migrate.js';
import { postmasterDomain } from './postmaster.js';
import { classifyRecipient } from './recipients.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store.close());

const postmasterOf = async (domain: string) =>
  (await findAlias(store.pool, `postmaster@${domain}`))?.destinations;

describe('the postmaster of a domain (RFC 5321 §4.5.1)', () => {
  it('is the first user added, and stays so as more users come', async () => {
    await addDomain(store.pool, 'first.test');
    expect(await postmasterOf('first.test')).toBeUndefined();
    expect(await classifyRecipient(store.pool, 'postmaster', 'first.test')).toBe('unknown-user');
    expect((await createAccount(store.pool, 'ann@first.test', 'pw')).postmaster).toBe(true);
    expect((await createAccount(store.pool, 'ben@first.test', 'pw')).postmaster).toBe(false);
    expect(await postmasterOf('first.test')).toEqual(['ann@first.test']);
    expect(await classifyRecipient(store.pool, 'PostMaster', 'first.test')).toBe('alias');
  });

  it('is left alone when the operator named one first, by an alias or an account', async () => {
    await addDomain(store.pool, 'named.test');
    await addAlias(store.pool, 'postmaster@named.test', ['ops@elsewhere.test']);
    expect((await createAccount(store.pool, 'cat@named.test', 'pw')).postmaster).toBe(false);
    expect(await postmasterOf('named.test')).toEqual(['ops@elsewhere.test']);

    await addDomain(store.pool, 'own.test');
    expect((await createAccount(store.pool, 'postmaster@own.test', 'pw')).postmaster).toBe(false);
    expect((await createAccount(store.pool, 'dan@own.test', 'pw')).postmaster).toBe(false);
    expect(await postmasterOf('own.test')).toBeUndefined();
    expect(await classifyRecipient(store.pool, 'postmaster', 'own.test')).toBe('account');
  });

  it('passes to the oldest remaining user when the postmaster user is removed, and goes with the last', async () => {
    await addDomain(store.pool, 'heirs.test');
    for (const user of ['eve', 'fay', 'gus']) await createAccount(store.pool, `${user}@heirs.test`, 'pw');
    expect((await removeAccount(store.pool, 'fay@heirs.test')).newPostmaster).toBeUndefined();
    expect((await removeAccount(store.pool, 'eve@heirs.test')).newPostmaster).toBe('gus@heirs.test');
    expect(await postmasterOf('heirs.test')).toEqual(['gus@heirs.test']);
    expect((await removeAccount(store.pool, 'gus@heirs.test')).newPostmaster).toBeUndefined();
    expect(await postmasterOf('heirs.test')).toBeUndefined();
    // Nothing of the domain is left behind: it can go.
    await removeDomain(store.pool, 'heirs.test');
  });

  it('keeps a postmaster alias that still delivers elsewhere when one of its users goes', async () => {
    await addDomain(store.pool, 'shared.test');
    await createAccount(store.pool, 'hal@shared.test', 'pw');
    await createAccount(store.pool, 'ivy@shared.test', 'pw');
    await addAlias(store.pool, 'postmaster@shared.test', ['ops@elsewhere.test']);
    expect((await removeAccount(store.pool, 'hal@shared.test')).newPostmaster).toBeUndefined();
    expect(await postmasterOf('shared.test')).toEqual(['ops@elsewhere.test']);
  });
});

describe('postmasterDomain: whose postmaster a bare <Postmaster> is (RFC 5321 §4.1.1.3)', () => {
  it('prefers the host name, then the local domain it is in, then the first domain added', async () => {
    const fresh = await openTestStore();
    try {
      expect(await postmasterDomain(fresh.pool, 'mx.example.org')).toBeUndefined();
      await addDomain(fresh.pool, 'zzz-first.test');
      await addDomain(fresh.pool, 'example.org');
      await addDomain(fresh.pool, 'mx.example.net');
      await addDomain(fresh.pool, 'org');
      expect(await postmasterDomain(fresh.pool, 'MX.Example.NET')).toBe('mx.example.net');
      expect(await postmasterDomain(fresh.pool, 'mx.example.org')).toBe('example.org');
      expect(await postmasterDomain(fresh.pool, 'mail.isp.test')).toBe('zzz-first.test');
      // A name that merely ends the same way is not a parent domain.
      expect(await postmasterDomain(fresh.pool, 'notexample.org')).toBe('org');
    } finally {
      await fresh.close();
    }
  });
});

describe('migration 0009', () => {
  it('gives each domain with users and no postmaster one: its first user', async () => {
    const database = await createTestDatabase();
    const old = openStore({ url: database.url });
    try {
      await migrate(
        old.pool,
        // 0019 too: today's createAccount subscribes the new mailboxes.
        loadMigrations().filter((m) => m.version < 9 || m.version === 19),
      );
      for (const domain of ['users.test', 'empty.test', 'named.test', 'own.test'])
        await addDomain(old.pool, domain);
      for (const user of ['bob@users.test', 'amy@users.test', 'cy@named.test', 'postmaster@own.test'])
        await createAccount(old.pool, user, 'pw');
      // As before this release: no postmaster aliases, except one the operator made.
      await old.pool.query(`DELETE FROM aliases WHERE address LIKE 'postmaster@%'`);
      await addAlias(old.pool, 'postmaster@named.test', ['ops@elsewhere.test']);
      expect((await migrate(old.pool)).applied).toContain(9);
      const postmasters = (await listAliases(old.pool)).filter((a) => a.address.startsWith('postmaster@'));
      expect(postmasters).toEqual([
        { address: 'postmaster@named.test', destinations: ['ops@elsewhere.test'], dangling: [] },
        { address: 'postmaster@users.test', destinations: ['bob@users.test'], dangling: [] },
      ]);
    } finally {
      await old.close();
      await database.drop();
    }
  });
});
