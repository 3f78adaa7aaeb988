import { createHmac, randomBytes } from 'node:crypto';
import {
  cramMd5Contexts,
  createSaslExchange,
  derivePasswordSecrets,
  digestMd5Ha1,
  type SaslCredentialLookup,
} from '@tegami/protocol';
import { createTestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, findAuthSecrets, setPassword } from './accounts.js';
import { saslCredentialLookup, type UnreadableLegacySecrets } from './auth-lookups.js';
import { openStore, type StorePool } from './db.js';
import { addDomain } from './domains.js';
import {
  LEGACY_SASL_OFF,
  type LegacySaslPolicy,
  legacySaslPolicy,
  settleLegacySaslSecrets,
} from './legacy-sasl-secrets.js';
import { loadMigrations, migrate } from './migrate.js';
import { createSecretsKeyring, type SecretsKeyring } from './sealed-secrets.js';
import { openTestStore } from './test-store.js';

const DOMAIN = 'legacy.test';
const on = (keyring: SecretsKeyring): LegacySaslPolicy => legacySaslPolicy(keyring, true);

/** A CRAM-MD5 login (RFC 2195) as a client makes it: true when the server says success. */
async function cramMd5Login(lookup: SaslCredentialLookup, user: string, password: string): Promise<boolean> {
  const exchange = createSaslExchange('CRAM-MD5', {
    service: 'imap',
    hostname: 'mx',
    realms: [DOMAIN],
    lookup,
  });
  const challenge = await exchange.start();
  if (challenge.kind !== 'challenge') return false;
  const digest = createHmac('md5', password).update(challenge.challenge).digest('hex');
  const outcome = await exchange.respond(Buffer.from(`${user} ${digest}`));
  return outcome.kind === 'success';
}

async function plainLogin(lookup: SaslCredentialLookup, user: string, password: string): Promise<boolean> {
  const exchange = createSaslExchange('PLAIN', { service: 'imap', hostname: 'mx', realms: [DOMAIN], lookup });
  return (await exchange.start(Buffer.from(`\0${user}\0${password}`))).kind === 'success';
}

/** The legacy columns of one account, as a database dump shows them. */
async function legacyColumns(store: StorePool, address: string) {
  const result = await store.pool.query(
    `SELECT id, cram_md5_inner, cram_md5_outer, digest_md5_ha1, legacy_sasl_key_id, legacy_sasl_sealed
       FROM accounts WHERE address = $1`,
    [address],
  );
  return result.rows[0];
}

describe('CRAM-MD5 and DIGEST-MD5 secrets at rest', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  const keyring = createSecretsKeyring([randomBytes(32)]);

  beforeAll(async () => {
    store = await openTestStore();
    await addDomain(store.pool, DOMAIN);
  });
  afterAll(() => store.close());

  it('stores them only sealed: no row holds the derived values, and they open back to them', async () => {
    const address = `alice@${DOMAIN}`;
    await createAccount(store.pool, address, 'correct horse', on(keyring));
    const cram = cramMd5Contexts('correct horse');
    const ha1 = digestMd5Ha1(address, DOMAIN, 'correct horse');
    const row = await legacyColumns(store, address);
    expect(row).toMatchObject({ cram_md5_inner: null, cram_md5_outer: null, digest_md5_ha1: null });
    expect(row.legacy_sasl_key_id).toBe(keyring.current.id);
    const dump = (await store.pool.query('SELECT * FROM accounts WHERE address = $1', [address])).rows[0];
    for (const value of Object.values(dump).filter(Buffer.isBuffer)) {
      for (const secret of [cram.inner, cram.outer, ha1]) expect(value.includes(secret)).toBe(false);
    }

    const secrets = await findAuthSecrets(store.pool, address, on(keyring));
    expect(secrets?.cramMd5).toEqual(cram);
    expect(secrets?.digestMd5).toEqual({ realm: DOMAIN, ha1 });
    expect(secrets?.unreadableLegacySecrets).toBeUndefined();
    // With the mechanisms off they are not even opened.
    const off = await findAuthSecrets(store.pool, address, LEGACY_SASL_OFF);
    expect(off?.cramMd5).toBeUndefined();
    expect(off?.digestMd5).toBeUndefined();
    expect(
      await cramMd5Login(saslCredentialLookup(store.pool, { legacy: on(keyring) }), address, 'correct horse'),
    ).toBe(true);
  });

  it('derives and stores none with the mechanisms off, and a new password removes old ones', async () => {
    const address = `bob@${DOMAIN}`;
    await createAccount(store.pool, address, 'bob-password');
    expect(await legacyColumns(store, address)).toMatchObject({
      cram_md5_inner: null,
      digest_md5_ha1: null,
      legacy_sasl_key_id: null,
      legacy_sasl_sealed: null,
    });
    await setPassword(store.pool, address, 'bob-password', on(keyring));
    expect((await legacyColumns(store, address)).legacy_sasl_key_id).toBe(keyring.current.id);
    await setPassword(store.pool, address, 'bob-password-2');
    expect(await legacyColumns(store, address)).toMatchObject({
      legacy_sasl_key_id: null,
      legacy_sasl_sealed: null,
    });
    const lookup = saslCredentialLookup(store.pool, { legacy: on(keyring) });
    expect(await cramMd5Login(lookup, address, 'bob-password-2')).toBe(false);
    expect(await plainLogin(lookup, address, 'bob-password-2')).toBe(true);
  });

  it('fails the login cleanly, logging once, with a wrong key, altered bytes or secrets moved from another account', async () => {
    const carol = `carol@${DOMAIN}`;
    const dave = `dave@${DOMAIN}`;
    const erin = `erin@${DOMAIN}`;
    for (const user of [carol, dave, erin]) await createAccount(store.pool, user, `${user}-pw`, on(keyring));
    // dave gets carol's sealed secrets (a database write, not a password change) …
    await store.pool.query(
      `UPDATE accounts SET legacy_sasl_sealed = (SELECT legacy_sasl_sealed FROM accounts WHERE address = $1)
        WHERE address = $2`,
      [carol, dave],
    );
    // … and erin's are altered by one bit.
    await store.pool.query(
      `UPDATE accounts SET legacy_sasl_sealed = set_byte(legacy_sasl_sealed, 20, get_byte(legacy_sasl_sealed, 20) # 1)
        WHERE address = $1`,
      [erin],
    );
    const reported: UnreadableLegacySecrets[] = [];
    const lookup = saslCredentialLookup(store.pool, {
      legacy: on(keyring),
      onUnreadableLegacySecrets: (account) => reported.push(account),
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await cramMd5Login(lookup, dave, `${dave}-pw`)).toBe(false);
      expect(await cramMd5Login(lookup, dave, `${carol}-pw`)).toBe(false);
      expect(await cramMd5Login(lookup, erin, `${erin}-pw`)).toBe(false);
    }
    expect(await cramMd5Login(lookup, carol, `${carol}-pw`)).toBe(true);
    expect(await plainLogin(lookup, dave, `${dave}-pw`)).toBe(true);
    expect(reported.map((r) => [r.address, r.problem, r.keyId])).toEqual([
      [dave, 'not-authentic', keyring.current.id],
      [erin, 'not-authentic', keyring.current.id],
    ]);

    // A process given another key: carol's secrets are under a key it does not have.
    const stranger: UnreadableLegacySecrets[] = [];
    const otherKey = saslCredentialLookup(store.pool, {
      legacy: on(createSecretsKeyring([randomBytes(32)])),
      onUnreadableLegacySecrets: (account) => stranger.push(account),
    });
    expect(await cramMd5Login(otherKey, carol, `${carol}-pw`)).toBe(false);
    expect(await cramMd5Login(otherKey, carol, `${carol}-pw`)).toBe(false);
    expect(await plainLogin(otherKey, carol, `${carol}-pw`)).toBe(true);
    expect(stranger.map((r) => [r.address, r.problem])).toEqual([[carol, 'unknown-key']]);
  });
});

describe('stored secrets brought in line at start', () => {
  let store: StorePool;
  let drop: () => Promise<void>;
  const oldKey = createSecretsKeyring([randomBytes(32)]);

  let shared: Awaited<ReturnType<typeof derivePasswordSecrets>>;

  /**
   * An account as the code before migration 0008 wrote it: the CRAM-MD5 and DIGEST-MD5
   * secrets in clear. (The scrypt and SCRAM secrets, which this does not touch, are one
   * shared set for `shared-password`: deriving scrypt for hundreds of accounts is slow.)
   */
  async function insertClearAccount(address: string, password: string): Promise<void> {
    const cram = cramMd5Contexts(password);
    const secrets = {
      ...shared,
      cramMd5: cram,
      digestMd5: { realm: DOMAIN, ha1: digestMd5Ha1(address, DOMAIN, password) },
    };
    await store.pool.query(
      `INSERT INTO accounts (domain_id, local_part, address, password_scrypt, cram_md5_inner, cram_md5_outer,
              digest_md5_realm, digest_md5_ha1, scram_sha256_salt, scram_sha256_iterations,
              scram_sha256_stored_key, scram_sha256_server_key)
       VALUES ((SELECT id FROM domains WHERE name = $2), split_part($1, '@', 1), $1, $3, $4, $5, $2, $6, $7, $8, $9, $10)`,
      [
        address,
        DOMAIN,
        secrets.scrypt,
        secrets.cramMd5.inner,
        secrets.cramMd5.outer,
        secrets.digestMd5.ha1,
        secrets.scramSha256.salt,
        secrets.scramSha256.iterations,
        secrets.scramSha256.storedKey,
        secrets.scramSha256.serverKey,
      ],
    );
  }

  beforeAll(async () => {
    const database = await createTestDatabase();
    store = openStore({ url: database.url, poolSize: 12 });
    drop = async () => {
      await store.close();
      await database.drop();
    };
    // The schema as it was before, and accounts written then.
    await migrate(
      store.pool,
      loadMigrations().filter((m) => m.version < 8),
    );
    await store.pool.query('INSERT INTO domains (name) VALUES ($1)', [DOMAIN]);
    shared = await derivePasswordSecrets('shared', DOMAIN, 'shared-password');
    for (let i = 0; i < 450; i++) await insertClearAccount(`user${i}@${DOMAIN}`, `password-${i}`);
    await migrate(store.pool);
  }, 120_000);
  afterAll(() => drop());

  it('seals the clear secrets of old rows in place, once, with several replicas starting at once', async () => {
    const replicas = await Promise.all(
      Array.from({ length: 4 }, () => settleLegacySaslSecrets(store.pool, on(oldKey))),
    );
    expect(replicas.reduce((sum, r) => sum + r.sealed, 0)).toBe(450);
    for (const r of replicas) expect(r).toMatchObject({ resealed: 0, removed: 0, unreadable: {} });
    const left = await store.pool.query(
      `SELECT count(*)::int AS clear, count(legacy_sasl_sealed)::int AS sealed FROM accounts
        WHERE cram_md5_inner IS NOT NULL OR cram_md5_outer IS NOT NULL OR digest_md5_ha1 IS NOT NULL`,
    );
    expect(left.rows[0]).toEqual({ clear: 0, sealed: 0 });
    expect(await settleLegacySaslSecrets(store.pool, on(oldKey))).toEqual({
      sealed: 0,
      resealed: 0,
      removed: 0,
      unreadable: {},
    });
    const lookup = saslCredentialLookup(store.pool, { legacy: on(oldKey) });
    expect(await cramMd5Login(lookup, `user7@${DOMAIN}`, 'password-7')).toBe(true);
    expect((await findAuthSecrets(store.pool, `user8@${DOMAIN}`, on(oldKey)))?.digestMd5?.ha1).toEqual(
      digestMd5Ha1(`user8@${DOMAIN}`, DOMAIN, 'password-8'),
    );
  });

  it('seals again with a new key, keeping logins working, and names the keys it does not have', async () => {
    const newKey = randomBytes(32);
    const rotated = createSecretsKeyring([newKey, oldKey.current.key]);
    const result = await settleLegacySaslSecrets(store.pool, on(rotated));
    expect(result).toMatchObject({ sealed: 0, resealed: 450, removed: 0, unreadable: {} });
    const ids = await store.pool.query('SELECT DISTINCT legacy_sasl_key_id AS id FROM accounts');
    expect(ids.rows).toEqual([{ id: rotated.current.id }]);
    // The old key is gone from the file: nothing needs it any more.
    const newOnly = createSecretsKeyring([newKey]);
    expect(
      await cramMd5Login(
        saslCredentialLookup(store.pool, { legacy: on(newOnly) }),
        `user9@${DOMAIN}`,
        'password-9',
      ),
    ).toBe(true);
    // A process with the old key only cannot open them, and says so.
    expect((await settleLegacySaslSecrets(store.pool, on(oldKey))).unreadable).toEqual({
      [rotated.current.id]: 450,
    });
  });

  it('deletes every stored CRAM-MD5 and DIGEST-MD5 secret when the mechanisms are off', async () => {
    await insertClearAccount(`late@${DOMAIN}`, 'late-password');
    const result = await settleLegacySaslSecrets(store.pool, LEGACY_SASL_OFF);
    expect(result).toEqual({ sealed: 0, resealed: 0, removed: 451, unreadable: {} });
    const left = await store.pool.query(
      `SELECT count(*)::int AS n FROM accounts
        WHERE cram_md5_inner IS NOT NULL OR cram_md5_outer IS NOT NULL OR digest_md5_ha1 IS NOT NULL
           OR legacy_sasl_key_id IS NOT NULL OR legacy_sasl_sealed IS NOT NULL`,
    );
    expect(left.rows[0].n).toBe(0);
    expect((await settleLegacySaslSecrets(store.pool, LEGACY_SASL_OFF)).removed).toBe(0);
    const lookup = saslCredentialLookup(store.pool, { legacy: LEGACY_SASL_OFF });
    expect(await plainLogin(lookup, `user1@${DOMAIN}`, 'shared-password')).toBe(true);
  });
});
