import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { addAlias } from './aliases.js';
import { addDomain } from './domains.js';
import { classifyRecipient, isSenderAllowed, listLocalDomains } from './recipients.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let aliceId: string;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'example.org');
  aliceId = (await createAccount(store.pool, 'alice@example.org', 'pw')).id;
  await createAccount(store.pool, 'bob@example.org', 'pw');
  await addAlias(store.pool, 'sales@example.org', ['alice@example.org']);
  await addAlias(store.pool, 'support@example.org', ['bob@example.org']);
});
afterAll(() => store.close());

describe('classifyRecipient', () => {
  it('tells users, aliases, unknown local names and other domains apart', async () => {
    expect(await classifyRecipient(store.pool, 'Alice', 'EXAMPLE.org')).toBe('account');
    expect(await classifyRecipient(store.pool, 'sales', 'example.org')).toBe('alias');
    expect(await classifyRecipient(store.pool, 'nobody', 'example.org')).toBe('unknown-user');
    expect(await classifyRecipient(store.pool, 'alice', 'elsewhere.test')).toBe('remote');
    expect(await listLocalDomains(store.pool)).toEqual(['example.org']);
  });
});

describe('isSenderAllowed', () => {
  it('allows the account its own address and aliases that deliver to it, nothing else', async () => {
    expect(await isSenderAllowed(store.pool, aliceId, 'ALICE@example.org')).toBe(true);
    expect(await isSenderAllowed(store.pool, aliceId, 'sales@example.org')).toBe(true);
    expect(await isSenderAllowed(store.pool, aliceId, 'support@example.org')).toBe(false);
    expect(await isSenderAllowed(store.pool, aliceId, 'bob@example.org')).toBe(false);
    expect(await isSenderAllowed(store.pool, aliceId, 'alice@elsewhere.test')).toBe(false);
  });
});
