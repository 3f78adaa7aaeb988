import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { addAlias } from './aliases.js';
import { addDomain } from './domains.js';
import { routeLocalRecipient, routeLocalRecipients } from './local-delivery.js';
import { classifyRecipient } from './recipients.js';
import { baseAddress, plusAddressing, setPlusAddressing } from './subaddress.js';
import { openTestStore } from './test-store.js';

describe('baseAddress', () => {
  it('cuts the local part at the first delimiter character', () => {
    expect(baseAddress('alice+lists@example.org', '+')).toBe('alice@example.org');
    expect(baseAddress('alice+a+b@example.org', '+')).toBe('alice@example.org');
    expect(baseAddress('alice-x+y@example.org', '+-')).toBe('alice@example.org');
    expect(baseAddress('alice-x@example.org', '+')).toBeUndefined();
  });

  it('has nothing to cut with no delimiter, none in the address, or nothing before it', () => {
    expect(baseAddress('alice+x@example.org', '')).toBeUndefined();
    expect(baseAddress('alice@example.org', '+')).toBeUndefined();
    expect(baseAddress('+x@example.org', '+')).toBeUndefined();
    expect(baseAddress('no-at-sign', '-')).toBeUndefined();
  });
});

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'plus.test');
  await addDomain(store.pool, 'strict.test');
  await createAccount(store.pool, 'alice@plus.test', 'pw');
  await createAccount(store.pool, 'bob+work@plus.test', 'pw');
  await createAccount(store.pool, 'bob@plus.test', 'pw');
  await createAccount(store.pool, 'carol@strict.test', 'pw');
  await addAlias(store.pool, 'sales@plus.test', ['alice@plus.test']);
  await setPlusAddressing(store.pool, 'strict.test', false);
});
afterAll(() => store.close());

describe('subaddresses at RCPT (classifyRecipient)', () => {
  it('takes user+tag as the user and alias+tag as the alias', async () => {
    expect(await classifyRecipient(store.pool, 'alice+lists', 'plus.test')).toBe('account');
    expect(await classifyRecipient(store.pool, 'Alice+Lists', 'PLUS.test')).toBe('account');
    expect(await classifyRecipient(store.pool, 'sales+q3', 'plus.test')).toBe('alias');
    expect(await classifyRecipient(store.pool, 'nobody+x', 'plus.test')).toBe('unknown-user');
  });

  it('refuses them where the domain turned them off, or the delimiter is off or another', async () => {
    expect(await plusAddressing(store.pool, 'strict.test')).toBe(false);
    expect(await classifyRecipient(store.pool, 'carol+x', 'strict.test')).toBe('unknown-user');
    expect(await classifyRecipient(store.pool, 'carol', 'strict.test')).toBe('account');
    expect(await classifyRecipient(store.pool, 'alice+lists', 'plus.test', '')).toBe('unknown-user');
    expect(await classifyRecipient(store.pool, 'alice-lists', 'plus.test', '-')).toBe('account');
    expect(await classifyRecipient(store.pool, 'alice+lists', 'plus.test', '-')).toBe('unknown-user');
  });
});

describe('subaddresses at delivery (routeLocalRecipients)', () => {
  it('routes user+tag to the user, alias+tag to the alias, and an exact address first', async () => {
    const [plus, alias, exact, plain] = await routeLocalRecipients(store.pool, [
      'alice+lists@plus.test',
      'sales+q3@plus.test',
      'bob+work@plus.test',
      'bob+home@plus.test',
    ]);
    expect(plus).toMatchObject({ kind: 'account', mailbox: { address: 'alice@plus.test' }, sieve: false });
    expect(alias).toEqual({ kind: 'alias', destinations: ['alice@plus.test'] });
    // An account whose name has the delimiter in it keeps its own mail.
    expect(exact).toMatchObject({ kind: 'account', mailbox: { address: 'bob+work@plus.test' } });
    expect(plain).toMatchObject({ kind: 'account', mailbox: { address: 'bob@plus.test' } });
  });

  it('does not route them where the domain or the setting says no', async () => {
    expect((await routeLocalRecipient(store.pool, 'carol+x@strict.test')).kind).toBe('unknown');
    expect(
      (await routeLocalRecipient(store.pool, 'alice+x@plus.test', { recipientDelimiter: '' })).kind,
    ).toBe('unknown');
    await setPlusAddressing(store.pool, 'strict.test', true);
    expect((await routeLocalRecipient(store.pool, 'carol+x@strict.test')).kind).toBe('account');
    await setPlusAddressing(store.pool, 'strict.test', false);
  });

  it('says which accounts have a Sieve script to run, their own or their domain’s', async () => {
    const alice = await routeLocalRecipient(store.pool, 'alice@plus.test');
    if (alice.kind !== 'account') throw new Error('no account');
    await store.pool.query(
      `INSERT INTO sieve_scripts (account_id, name, content, active) VALUES ($1, 'main', 'keep;', false)`,
      [alice.mailbox.accountId],
    );
    expect(alice.sieve).toBe(false);
    expect((await routeLocalRecipient(store.pool, 'alice+x@plus.test')).kind === 'account').toBe(true);
    expect(await routeLocalRecipient(store.pool, 'alice+x@plus.test')).toMatchObject({ sieve: false });
    await store.pool.query(`UPDATE sieve_scripts SET active = true WHERE account_id = $1`, [
      alice.mailbox.accountId,
    ]);
    expect(await routeLocalRecipient(store.pool, 'alice+x@plus.test')).toMatchObject({ sieve: true });
    expect(await routeLocalRecipient(store.pool, 'bob@plus.test')).toMatchObject({ sieve: false });

    await store.pool.query(`INSERT INTO sieve_global_scripts (name, content) VALUES ('spam', 'keep;')`);
    await store.pool.query(`UPDATE domains SET sieve_before = 'spam' WHERE name = 'plus.test'`);
    expect(await routeLocalRecipient(store.pool, 'bob@plus.test')).toMatchObject({ sieve: true });
    expect(await routeLocalRecipient(store.pool, 'carol@strict.test')).toMatchObject({ sieve: false });
  });
});
