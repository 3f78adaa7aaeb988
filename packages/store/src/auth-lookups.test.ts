import * as protocol from '@tegami/protocol';
import { DEFAULT_SCRYPT_LN, setScryptCost, VerifiedPasswordCache } from '@tegami/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAccount, findAuthSecrets, setPassword } from './accounts.js';
import { applyPasswordChecks, saslCredentialLookup } from './auth-lookups.js';
import { addDomain } from './domains.js';
import { openTestStore } from './test-store.js';

vi.mock('@tegami/protocol', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@tegami/protocol')>();
  return { ...actual, verifyScrypt: vi.fn(actual.verifyScrypt) };
});

let store: Awaited<ReturnType<typeof openTestStore>>;
const verifyScrypt = vi.mocked(protocol.verifyScrypt);

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'cache.test');
});
afterAll(() => store.close());
beforeEach(() => verifyScrypt.mockClear());

async function check(lookup: ReturnType<typeof saslCredentialLookup>, user: string, password: string) {
  const credentials = await lookup(user);
  return credentials?.verifyPassword ? credentials.verifyPassword(password) : false;
}

describe('the verified-credential cache in the credential lookup', () => {
  it('runs scrypt for the first login only, and for every wrong password', async () => {
    await createAccount(store.pool, 'hit@cache.test', 'right');
    const lookup = saslCredentialLookup(store.pool, {
      verifiedPasswords: new VerifiedPasswordCache({ ttlMs: 60_000, maxEntries: 10 }),
    });
    expect(await check(lookup, 'hit@cache.test', 'right')).toBe(true);
    expect(await check(lookup, 'hit@cache.test', 'right')).toBe(true);
    expect(verifyScrypt).toHaveBeenCalledTimes(1);
    expect(await check(lookup, 'hit@cache.test', 'wrong')).toBe(false);
    expect(await check(lookup, 'hit@cache.test', 'wrong')).toBe(false);
    expect(verifyScrypt).toHaveBeenCalledTimes(3);
  });

  it('stops taking the old password at the next login after it is changed (by any process)', async () => {
    await createAccount(store.pool, 'changed@cache.test', 'old-password');
    const lookup = saslCredentialLookup(store.pool, {
      verifiedPasswords: new VerifiedPasswordCache({ ttlMs: 3_600_000, maxEntries: 10 }),
    });
    expect(await check(lookup, 'changed@cache.test', 'old-password')).toBe(true);
    // As `tegami user passwd` does on another replica: nothing tells this process.
    await setPassword(store.pool, 'changed@cache.test', 'new-password');
    expect(await check(lookup, 'changed@cache.test', 'old-password')).toBe(false);
    expect(await check(lookup, 'changed@cache.test', 'new-password')).toBe(true);
  });

  it('finds no disabled account, cached or not', async () => {
    const account = await createAccount(store.pool, 'disabled@cache.test', 'pw');
    const lookup = saslCredentialLookup(store.pool, {
      verifiedPasswords: new VerifiedPasswordCache({ ttlMs: 3_600_000, maxEntries: 10 }),
    });
    expect(await check(lookup, 'disabled@cache.test', 'pw')).toBe(true);
    await store.pool.query('UPDATE accounts SET disabled = true WHERE id = $1', [account.id]);
    expect(await lookup('disabled@cache.test')).toBeUndefined();
  });

  it('is on per protocol, as the settings say', () => {
    const settings = { cacheTtlMs: 60_000, cacheSize: 100, cacheProtocols: ['imap', 'pop3'], scryptLn: 15 };
    const cacheFor = applyPasswordChecks(settings);
    expect(cacheFor('pop3')).toBeInstanceOf(VerifiedPasswordCache);
    expect(cacheFor('imap')).toBeInstanceOf(VerifiedPasswordCache);
    expect(cacheFor('smtp')).toBeUndefined();
    expect(applyPasswordChecks({ ...settings, cacheTtlMs: 0 })('pop3')).toBeUndefined();
  });
});

describe('the scrypt cost setting', () => {
  it('writes new verifiers at the set cost and rehashes an older one at the next login', async () => {
    try {
      setScryptCost(14);
      await createAccount(store.pool, 'cost@cache.test', 'pw');
      expect((await findAuthSecrets(store.pool, 'cost@cache.test'))!.scrypt).toMatch(/^\$scrypt\$ln=14,/);
      setScryptCost(15);
      const rehashed = new Promise<{ accountId: string; error?: unknown }>((resolve) => {
        const lookup = saslCredentialLookup(store.pool, { rehash: true, onRehash: resolve });
        void check(lookup, 'cost@cache.test', 'pw').then((ok) => expect(ok).toBe(true));
      });
      expect((await rehashed).error).toBeUndefined();
      const after = (await findAuthSecrets(store.pool, 'cost@cache.test'))!.scrypt;
      expect(after).toMatch(/^\$scrypt\$ln=15,/);
      // The same password, the other cost: it still verifies, and nothing is rehashed again.
      const lookup = saslCredentialLookup(store.pool, { rehash: true, onRehash: () => expect.unreachable() });
      expect(await check(lookup, 'cost@cache.test', 'pw')).toBe(true);
      expect(await check(lookup, 'cost@cache.test', 'nope')).toBe(false);
    } finally {
      setScryptCost(DEFAULT_SCRYPT_LN);
    }
  });

  it('refuses a cost outside 14..20', () => {
    expect(() => setScryptCost(13)).toThrow(RangeError);
    expect(() => setScryptCost(21)).toThrow(RangeError);
  });
});
