import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, findAccount, removeAccount } from './accounts.js';
import { addAlias, findAlias, listAliases, removeAlias } from './aliases.js';
import { addDomain } from './domains.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'example.org');
  await addDomain(store.pool, 'example.net');
  await createAccount(store.pool, 'alice@example.org', 'pw');
});
afterAll(() => store.close());

describe('alias destinations in a local domain', () => {
  it('refuses a local destination that is neither a user nor an alias, in any local domain', async () => {
    await expect(addAlias(store.pool, 'info@example.org', ['nobody@example.org'])).rejects.toMatchObject({
      code: 'not_found',
      message:
        'nobody@example.org is neither a user nor an alias, and example.org is a local domain: mail to it ' +
        'would bounce. Add the user first (`tegami user add nobody@example.org`)',
    });
    await expect(
      addAlias(store.pool, 'info@example.org', ['alice@example.org', 'Nobody@Example.NET']),
    ).rejects.toThrow(/^nobody@example\.net is neither a user nor an alias/);
    // Nothing of a refused alias is stored, not even its valid destinations.
    expect(await findAlias(store.pool, 'info@example.org')).toBeUndefined();
  });

  it('accepts users, other aliases and other domains (forwarding)', async () => {
    await addAlias(store.pool, 'sales@example.org', ['alice@example.org', 'partner@remote.test']);
    await addAlias(store.pool, 'team@example.net', ['sales@example.org']);
    expect(await findAlias(store.pool, 'team@example.net')).toEqual({
      address: 'team@example.net',
      destinations: ['sales@example.org'],
    });
  });

  it('keeps a user while aliases deliver to it, naming them', async () => {
    await createAccount(store.pool, 'bob@example.org', 'pw');
    await addAlias(store.pool, 'help@example.org', ['bob@example.org']);
    await addAlias(store.pool, 'abuse@example.org', ['bob@example.org', 'alice@example.org']);
    await expect(removeAccount(store.pool, 'bob@example.org')).rejects.toMatchObject({
      code: 'conflict',
      message:
        'user bob@example.org is a destination of 2 aliases: abuse@example.org, help@example.org. ' +
        'Point them elsewhere first, or remove bob@example.org from them ' +
        '(`tegami alias remove abuse@example.org bob@example.org`)',
    });
    expect(await findAccount(store.pool, 'bob@example.org')).toBeDefined();
    await removeAlias(store.pool, 'abuse@example.org', ['bob@example.org']);
    await expect(removeAccount(store.pool, 'bob@example.org')).rejects.toThrow(
      /^user bob@example\.org is a destination of the alias help@example\.org\. Point it elsewhere first/,
    );
    await removeAlias(store.pool, 'help@example.org');
    await removeAccount(store.pool, 'bob@example.org');
    expect(await findAccount(store.pool, 'bob@example.org')).toBeUndefined();
  });

  it('keeps an alias while other aliases deliver to it, but lets it lose some destinations', async () => {
    await expect(removeAlias(store.pool, 'sales@example.org')).rejects.toThrow(
      /^alias sales@example\.org is a destination of the alias team@example\.net\./,
    );
    await expect(
      removeAlias(store.pool, 'sales@example.org', ['alice@example.org', 'partner@remote.test']),
    ).rejects.toMatchObject({ code: 'conflict' });
    await removeAlias(store.pool, 'sales@example.org', ['partner@remote.test']);
    expect((await findAlias(store.pool, 'sales@example.org'))?.destinations).toEqual(['alice@example.org']);
  });

  it('lets no alias to a user being removed at the same moment slip through', async () => {
    const users = Array.from({ length: 12 }, (_, i) => `racer${i}@example.org`);
    for (const user of users) await createAccount(store.pool, user, 'pw');
    const outcomes = await Promise.all(
      users.map(async (user) => {
        const [removed, added] = await Promise.allSettled([
          removeAccount(store.pool, user),
          addAlias(store.pool, `to-${user}`, [user]),
        ]);
        return [removed.status, added.status];
      }),
    );
    // For each user exactly one of the two wins; either way nothing dangles.
    for (const [removed, added] of outcomes) expect(removed === 'fulfilled').not.toBe(added === 'fulfilled');
    expect((await listAliases(store.pool)).flatMap((a) => a.dangling)).toEqual([]);
  });

  it('lists the dangling destinations a database from before these checks holds', async () => {
    const domain = await store.pool.query("SELECT id FROM domains WHERE name = 'example.org'");
    await store.pool.query(
      `INSERT INTO aliases (domain_id, address, destination)
       VALUES ($1, 'old@example.org', 'left@example.org'), ($1, 'old@example.org', 'alice@example.org'),
              ($1, 'old@example.org', 'someone@remote.test')`,
      [domain.rows[0].id],
    );
    const old = (await listAliases(store.pool, 'example.org')).find((a) => a.address === 'old@example.org');
    expect(old).toEqual({
      address: 'old@example.org',
      destinations: ['alice@example.org', 'left@example.org', 'someone@remote.test'],
      dangling: ['left@example.org'],
    });
  });
});
