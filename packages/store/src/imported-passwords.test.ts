import { randomBytes } from 'node:crypto';
import {
  createSaslExchange,
  type SaslCredentialLookup,
  scramSha256Keys,
  VerifiedPasswordCache,
} from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAuthSecrets, setPassword } from './accounts.js';
import { saslCredentialLookup } from './auth-lookups.js';
import { addDomain } from './domains.js';
import { importUser, upgradeImportedPassword } from './imported-passwords.js';
import { legacySaslPolicy } from './legacy-sasl-secrets.js';
import { listMailboxes } from './mailboxes.js';
import { createSecretsKeyring } from './sealed-secrets.js';
import { openTestStore } from './test-store.js';

// Made by `doveadm pw -s SHA512-CRYPT -p 'pässword 1'` and `-s BLF-CRYPT`.
const SHA512_CRYPT =
  '{SHA512-CRYPT}$6$pVUQVmJthKPrdOC5$EwRUbf5bcdR.DoRqlTiA.BsTZxBzpdMi8ZnVvas7sDVrsbnxYz5uCdtdhGqSaSu8aXTXYRrU/Of3RKO3hkuLE1';
const BLF_CRYPT = '{BLF-CRYPT}$2y$05$Fs/LiYGHULLxSoCr6roPjuFwg4kHYqWmtvjlqfXYaSvfdH1BVNFNi';
const PASSWORD = 'pässword 1';
const DOMAIN = 'moved.test';

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, DOMAIN);
});
afterAll(() => store.close());

async function columns(address: string) {
  const result = await store.pool.query(
    `SELECT password_legacy_hash, password_scrypt, scram_sha256_salt, scram_sha256_iterations,
            scram_sha256_stored_key, legacy_sasl_sealed, quota_bytes, disabled
       FROM accounts WHERE address = $1`,
    [address],
  );
  return result.rows[0];
}

function login(lookup: SaslCredentialLookup, mechanism: 'PLAIN' | 'LOGIN', user: string, password: string) {
  const exchange = createSaslExchange(mechanism, {
    service: 'imap',
    hostname: 'mx',
    realms: [DOMAIN],
    lookup,
  });
  if (mechanism === 'PLAIN')
    return exchange.start(Buffer.from(`\0${user}\0${password}`)).then((o) => o.kind === 'success');
  return (async () => {
    await exchange.start();
    await exchange.respond(Buffer.from(user));
    return (await exchange.respond(Buffer.from(password))).kind === 'success';
  })();
}

describe('importing users with their old password hashes', () => {
  it('creates the user with the standard mailboxes and the hash, and no Tegami secrets yet', async () => {
    const outcome = await importUser(store.pool, { address: 'Ann@moved.test', passwordHash: SHA512_CRYPT });
    expect(outcome).toMatchObject({
      kind: 'created',
      address: 'ann@moved.test',
      scheme: 'SHA512-CRYPT',
      postmaster: true,
    });
    const row = await columns('ann@moved.test');
    expect(row).toMatchObject({
      password_legacy_hash: SHA512_CRYPT,
      password_scrypt: null,
      scram_sha256_salt: null,
    });
    const account = await store.pool.query('SELECT id FROM accounts WHERE address = $1', ['ann@moved.test']);
    const names = (await listMailboxes(store.pool, account.rows[0].id)).map((m) => m.name);
    expect(names).toContain('INBOX');
  });

  it('refuses a hash it could not check, and writes nothing', async () => {
    await expect(
      importUser(store.pool, { address: 'bad@moved.test', passwordHash: '{SCRAM-SHA-1}abc' }),
    ).rejects.toThrow(/password hash: unknown scheme \{SCRAM-SHA-1\}/);
    expect(await columns('bad@moved.test')).toBeUndefined();
  });

  it('refuses a domain that is not local unless asked to create it', async () => {
    await expect(
      importUser(store.pool, { address: 'x@elsewhere.test', passwordHash: BLF_CRYPT }),
    ).rejects.toThrow(/unknown domain elsewhere\.test/);
    expect(
      await importUser(
        store.pool,
        { address: 'x@elsewhere.test', passwordHash: BLF_CRYPT },
        { createDomain: true },
      ),
    ).toMatchObject({ kind: 'created', domainCreated: true });
  });

  it('writes nothing on a dry run, and says what it would do', async () => {
    const outcome = await importUser(
      store.pool,
      { address: 'dry@new-domain.test', passwordHash: BLF_CRYPT },
      { createDomain: true, dryRun: true },
    );
    expect(outcome).toMatchObject({ kind: 'created', domainCreated: true });
    expect(await columns('dry@new-domain.test')).toBeUndefined();
    const domain = await store.pool.query('SELECT 1 FROM domains WHERE name = $1', ['new-domain.test']);
    expect(domain.rowCount).toBe(0);
  });

  it('leaves a user who exists alone, unless updating; an update never replaces a Tegami password', async () => {
    await importUser(store.pool, { address: 'upd@moved.test', passwordHash: SHA512_CRYPT });
    expect(await importUser(store.pool, { address: 'upd@moved.test', passwordHash: BLF_CRYPT })).toEqual({
      kind: 'exists',
      address: 'upd@moved.test',
    });
    expect((await columns('upd@moved.test')).password_legacy_hash).toBe(SHA512_CRYPT);
    expect(
      await importUser(
        store.pool,
        { address: 'upd@moved.test', passwordHash: BLF_CRYPT, quotaBytes: 1000 },
        { update: true },
      ),
    ).toMatchObject({ kind: 'updated', passwordReplaced: true, passwordKept: false });
    expect(await columns('upd@moved.test')).toMatchObject({
      password_legacy_hash: BLF_CRYPT,
      quota_bytes: '1000',
    });
    expect(
      await importUser(
        store.pool,
        { address: 'upd@moved.test', passwordHash: BLF_CRYPT, quotaBytes: 1000 },
        { update: true },
      ),
    ).toMatchObject({ kind: 'unchanged', passwordKept: false });

    await setPassword(store.pool, 'upd@moved.test', 'a Tegami password');
    expect((await columns('upd@moved.test')).password_legacy_hash).toBeNull();
    expect(
      await importUser(
        store.pool,
        { address: 'upd@moved.test', passwordHash: SHA512_CRYPT, disabled: true },
        { update: true },
      ),
    ).toMatchObject({ kind: 'updated', passwordReplaced: false, passwordKept: true });
    expect(await columns('upd@moved.test')).toMatchObject({ password_legacy_hash: null, disabled: true });
  });

  it('allows no account with neither a hash nor Tegami secrets, nor with both', async () => {
    const domain = await store.pool.query('SELECT id FROM domains WHERE name = $1', [DOMAIN]);
    await expect(
      store.pool.query(
        `INSERT INTO accounts (domain_id, local_part, address, digest_md5_realm) VALUES ($1, 'none', 'none@moved.test', $2)`,
        [domain.rows[0].id, DOMAIN],
      ),
    ).rejects.toThrow(/accounts_one_password_form/);
    await expect(
      store.pool.query(
        `UPDATE accounts SET password_legacy_hash = '{PLAIN}x' WHERE address = 'upd@moved.test'`,
      ),
    ).rejects.toThrow(/accounts_one_password_form/);
  });
});

describe('the first login of an imported user', () => {
  it('takes the old password over PLAIN, then replaces the hash with Tegami’s secrets', async () => {
    await importUser(store.pool, { address: 'first@moved.test', passwordHash: SHA512_CRYPT });
    const lookup = saslCredentialLookup(store.pool);
    expect(await login(lookup, 'PLAIN', 'first@moved.test', 'wrong')).toBe(false);
    expect((await columns('first@moved.test')).password_legacy_hash).toBe(SHA512_CRYPT);
    expect(await login(lookup, 'PLAIN', 'first@moved.test', PASSWORD)).toBe(true);
    const row = await columns('first@moved.test');
    expect(row.password_legacy_hash).toBeNull();
    expect(row.password_scrypt).toMatch(/^\$scrypt\$/);
    // The SCRAM keys are those of the same password: SCRAM-SHA-256 works from now on.
    const keys = scramSha256Keys(PASSWORD, row.scram_sha256_salt, row.scram_sha256_iterations);
    expect(row.scram_sha256_stored_key).toEqual(keys.storedKey);
    expect(await login(lookup, 'PLAIN', 'first@moved.test', PASSWORD)).toBe(true);
    expect(await login(lookup, 'LOGIN', 'first@moved.test', 'wrong')).toBe(false);
  });

  it('takes it over LOGIN as well (a BLF-CRYPT hash)', async () => {
    await importUser(store.pool, { address: 'login@moved.test', passwordHash: BLF_CRYPT });
    const lookup = saslCredentialLookup(store.pool);
    expect(await login(lookup, 'LOGIN', 'login@moved.test', PASSWORD)).toBe(true);
    expect((await columns('login@moved.test')).password_legacy_hash).toBeNull();
  });

  it('gives SCRAM nothing to match before the first cleartext login', async () => {
    await importUser(store.pool, { address: 'scram@moved.test', passwordHash: SHA512_CRYPT });
    const secrets = await findAuthSecrets(store.pool, 'scram@moved.test');
    expect(secrets?.legacyPasswordHash).toBe(SHA512_CRYPT);
    const keys = scramSha256Keys(PASSWORD, secrets!.scramSha256.salt, secrets!.scramSha256.iterations);
    expect(secrets!.scramSha256.storedKey.equals(keys.storedKey)).toBe(false);
    expect(secrets!.cramMd5).toBeUndefined();
  });

  it('seals CRAM-MD5/DIGEST-MD5 secrets at the upgrade when the operator keeps them', async () => {
    const legacy = legacySaslPolicy(createSecretsKeyring([randomBytes(32)]), true);
    await importUser(store.pool, { address: 'cram@moved.test', passwordHash: BLF_CRYPT });
    expect(
      await login(saslCredentialLookup(store.pool, { legacy }), 'PLAIN', 'cram@moved.test', PASSWORD),
    ).toBe(true);
    expect((await columns('cram@moved.test')).legacy_sasl_sealed).toBeInstanceOf(Buffer);
    expect((await findAuthSecrets(store.pool, 'cram@moved.test', legacy))?.cramMd5).toBeDefined();
  });

  it('does not overwrite a password set between the check and the write', async () => {
    await importUser(store.pool, { address: 'race@moved.test', passwordHash: SHA512_CRYPT });
    const secrets = await findAuthSecrets(store.pool, 'race@moved.test');
    await setPassword(store.pool, 'race@moved.test', 'set meanwhile');
    expect(
      await upgradeImportedPassword(
        store.pool,
        { accountId: secrets!.accountId, address: secrets!.address },
        SHA512_CRYPT,
        PASSWORD,
      ),
    ).toBeUndefined();
    const lookup = saslCredentialLookup(store.pool);
    expect(await login(lookup, 'PLAIN', 'race@moved.test', 'set meanwhile')).toBe(true);
    expect(await login(lookup, 'PLAIN', 'race@moved.test', PASSWORD)).toBe(false);
  });

  it('caches the new verifier, never the imported hash, so a re-import is checked afresh', async () => {
    const cache = new VerifiedPasswordCache({ ttlMs: 3_600_000, maxEntries: 10 });
    const lookup = saslCredentialLookup(store.pool, { verifiedPasswords: cache });
    await importUser(store.pool, { address: 'cached@moved.test', passwordHash: SHA512_CRYPT });
    expect(await login(lookup, 'PLAIN', 'cached@moved.test', PASSWORD)).toBe(true);
    const row = await columns('cached@moved.test');
    const { accountId } = (await findAuthSecrets(store.pool, 'cached@moved.test'))!;
    expect(cache.has(accountId, row.password_scrypt, PASSWORD)).toBe(true);
    // The operator sets another password: the cached one no longer opens the account.
    await setPassword(store.pool, 'cached@moved.test', 'another');
    expect(await login(lookup, 'PLAIN', 'cached@moved.test', PASSWORD)).toBe(false);
  });
});
