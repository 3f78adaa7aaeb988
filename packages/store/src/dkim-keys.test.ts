import { createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { dkimPublicKeyOf } from '@tegami/protocol/dkim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDkimKey, DEFAULT_DKIM_GRACE_MS, rotateDkimKeys } from './dkim-key-rotation.js';
import {
  deleteDkimKey,
  dkimSigningKeys,
  listDkimKeys,
  resealDkimKeys,
  type UnreadableDkimKey,
} from './dkim-keys.js';
import { addDomain, removeDomain } from './domains.js';
import { createSecretsKeyring } from './sealed-secrets.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store.close());

const keyring = createSecretsKeyring([randomBytes(32)]);
const JAN = new Date('2025-01-14T10:00:00Z');

describe('DKIM keys in the store', () => {
  it('makes an rsa-sha256 and an ed25519-sha256 key, both signing, under dated selectors', async () => {
    await addDomain(store.pool, 'both.test');
    const rsa = await createDkimKey(store.pool, keyring, {
      domain: 'Both.Test',
      algorithm: 'rsa-sha256',
      now: JAN,
    });
    const ed = await createDkimKey(store.pool, keyring, {
      domain: 'both.test',
      algorithm: 'ed25519-sha256',
      now: JAN,
    });
    expect(rsa).toMatchObject({
      domain: 'both.test',
      selector: 'rsa-20250114',
      state: 'active',
      secretsKeyId: keyring.current.id,
    });
    expect(ed).toMatchObject({ selector: 'ed25519-20250114', algorithm: 'ed25519-sha256', state: 'active' });
    // RFC 8463 §4.2: an Ed25519 p= is the bare 32-octet key.
    expect(Buffer.from(ed.publicKey, 'base64')).toHaveLength(32);

    const keys = await dkimSigningKeys(store.pool, keyring, 'BOTH.test');
    expect(keys.map((k) => [k.selector, k.algorithm])).toEqual([
      ['rsa-20250114', 'rsa-sha256'],
      ['ed25519-20250114', 'ed25519-sha256'],
    ]);
    for (const key of keys) {
      const published = key.algorithm === 'rsa-sha256' ? rsa.publicKey : ed.publicKey;
      expect(dkimPublicKeyOf(key.privateKeyPem, key.algorithm)).toBe(published);
    }
    const rsaKey = createPrivateKey(keys[0]!.privateKeyPem);
    expect(rsaKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const signature = sign('sha256', Buffer.from('x'), rsaKey);
    expect(verify('sha256', Buffer.from('x'), createPublicKey(rsaKey), signature)).toBe(true);
  });

  it('keeps private keys sealed in the table and out of JSON and logs', async () => {
    const rows = await store.pool.query<{ private_key_sealed: Buffer }>(
      'SELECT private_key_sealed FROM dkim_keys',
    );
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const row of rows.rows) expect(row.private_key_sealed.includes('PRIVATE KEY')).toBe(false);
    const [key] = await dkimSigningKeys(store.pool, keyring, 'both.test');
    expect(key!.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(JSON.stringify({ key })).not.toContain('PRIVATE KEY');
    expect(JSON.stringify({ key })).toContain('rsa-20250114');
  });

  it('refuses a second key of one algorithm, a taken selector, a bad selector and an unknown domain', async () => {
    await expect(
      createDkimKey(store.pool, keyring, { domain: 'both.test', algorithm: 'rsa-sha256' }),
    ).rejects.toThrow(/already signs with rsa-sha256 \(selector rsa-20250114\): use tegami dkim rotate/);
    await addDomain(store.pool, 'sel.test');
    await createDkimKey(store.pool, keyring, {
      domain: 'sel.test',
      algorithm: 'rsa-sha256',
      selector: 'Mail',
    });
    await expect(
      createDkimKey(store.pool, keyring, {
        domain: 'sel.test',
        algorithm: 'ed25519-sha256',
        selector: 'mail',
      }),
    ).rejects.toMatchObject({
      code: 'duplicate',
      message: 'sel.test has a DKIM key with selector mail already',
    });
    await expect(
      createDkimKey(store.pool, keyring, { domain: 'sel.test', algorithm: 'ed25519-sha256', selector: '-x' }),
    ).rejects.toMatchObject({ code: 'invalid' });
    await expect(
      createDkimKey(store.pool, keyring, { domain: 'nowhere.test', algorithm: 'rsa-sha256' }),
    ).rejects.toMatchObject({
      code: 'not_found',
      message: 'no domain nowhere.test (tegami domain add nowhere.test)',
    });
    expect(await dkimSigningKeys(store.pool, keyring, 'nowhere.test')).toEqual([]);
  });

  it('rotates: the new key signs at once, the old one is retiring for the grace period', async () => {
    await addDomain(store.pool, 'rot.test');
    await createDkimKey(store.pool, keyring, { domain: 'rot.test', algorithm: 'rsa-sha256', now: JAN });
    await createDkimKey(store.pool, keyring, { domain: 'rot.test', algorithm: 'ed25519-sha256', now: JAN });
    const rotated = await rotateDkimKeys(store.pool, keyring, { domain: 'rot.test', now: JAN });
    // The same day: the dated selector gets a number.
    expect(rotated.created.map((k) => k.selector)).toEqual(['rsa-20250114-2', 'ed25519-20250114-2']);
    expect(rotated.retiring.map((k) => [k.selector, k.state])).toEqual([
      ['rsa-20250114', 'retiring'],
      ['ed25519-20250114', 'retiring'],
    ]);
    const retiring = rotated.retiring[0]!;
    expect(retiring.retireUntil!.getTime() - retiring.retiredAt!.getTime()).toBe(DEFAULT_DKIM_GRACE_MS);
    expect((await dkimSigningKeys(store.pool, keyring, 'rot.test')).map((k) => k.selector)).toEqual([
      'rsa-20250114-2',
      'ed25519-20250114-2',
    ]);

    // One algorithm only, with a selector of the operator's and a grace of their own.
    const again = await rotateDkimKeys(store.pool, keyring, {
      domain: 'rot.test',
      algorithm: 'ed25519-sha256',
      selector: 'ed2',
      graceMs: 3_600_000,
    });
    expect(again.created.map((k) => k.selector)).toEqual(['ed2']);
    expect(again.retiring[0]!.retireUntil!.getTime() - again.retiring[0]!.retiredAt!.getTime()).toBe(
      3_600_000,
    );
    expect((await listDkimKeys(store.pool, 'rot.test')).map((k) => `${k.selector} ${k.state}`)).toEqual([
      'ed2 active',
      'rsa-20250114-2 active',
      'ed25519-20250114-2 retiring',
      'ed25519-20250114 retiring',
      'rsa-20250114 retiring',
    ]);
  });

  it('refuses to rotate what does not sign, and a selector for two algorithms at once', async () => {
    await addDomain(store.pool, 'bare.test');
    await expect(rotateDkimKeys(store.pool, keyring, { domain: 'bare.test' })).rejects.toMatchObject({
      code: 'not_found',
      message: 'bare.test has no active DKIM key to rotate: make one with tegami dkim create',
    });
    await expect(
      rotateDkimKeys(store.pool, keyring, { domain: 'both.test', selector: 'one' }),
    ).rejects.toMatchObject({ code: 'invalid' });
    await expect(
      rotateDkimKeys(store.pool, keyring, { domain: 'both.test', graceMs: -1 }),
    ).rejects.toMatchObject({ code: 'invalid' });
  });

  it('rotates each key once when two rotations run at once', async () => {
    await addDomain(store.pool, 'race.test');
    await createDkimKey(store.pool, keyring, { domain: 'race.test', algorithm: 'ed25519-sha256' });
    const results = await Promise.allSettled([
      rotateDkimKeys(store.pool, keyring, { domain: 'race.test', selector: 'a' }),
      rotateDkimKeys(store.pool, keyring, { domain: 'race.test', selector: 'b' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const keys = await listDkimKeys(store.pool, 'race.test');
    expect(keys.filter((k) => k.state === 'active')).toHaveLength(1);
    expect(keys).toHaveLength(3);
  });

  it('deletes a key of any state, and the domain takes its keys with it', async () => {
    const gone = await deleteDkimKey(store.pool, 'rot.test', 'RSA-20250114');
    expect(gone).toMatchObject({ selector: 'rsa-20250114', state: 'retiring' });
    await expect(deleteDkimKey(store.pool, 'rot.test', 'rsa-20250114')).rejects.toMatchObject({
      code: 'not_found',
      message: 'rot.test has no DKIM key with selector rsa-20250114',
    });
    await deleteDkimKey(store.pool, 'rot.test', 'ed2');
    expect((await dkimSigningKeys(store.pool, keyring, 'rot.test')).map((k) => k.algorithm)).toEqual([
      'rsa-sha256',
    ]);

    await addDomain(store.pool, 'leaving.test');
    await createDkimKey(store.pool, keyring, { domain: 'leaving.test', algorithm: 'ed25519-sha256' });
    await removeDomain(store.pool, 'leaving.test');
    expect(await listDkimKeys(store.pool)).not.toContainEqual(
      expect.objectContaining({ domain: 'leaving.test' }),
    );
    await expect(listDkimKeys(store.pool, 'leaving.test')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('leaves out a key the keyring cannot open, and says which, still signing with the other', async () => {
    const stranger = createSecretsKeyring([randomBytes(32)]);
    const unreadable: UnreadableDkimKey[] = [];
    expect(await dkimSigningKeys(store.pool, stranger, 'both.test', (k) => unreadable.push(k))).toEqual([]);
    expect(unreadable.map((k) => [k.selector, k.problem])).toEqual([
      ['rsa-20250114', 'unknown-key'],
      ['ed25519-20250114', 'unknown-key'],
    ]);

    // A sealed key copied onto another row (another domain or selector) does not open.
    await store.pool.query(
      `UPDATE dkim_keys SET private_key_sealed = (SELECT private_key_sealed FROM dkim_keys WHERE selector = 'ed25519-20250114'
                                                   AND domain_id = (SELECT id FROM domains WHERE name = 'both.test'))
        WHERE selector = 'mail'`,
    );
    const copied: UnreadableDkimKey[] = [];
    expect(await dkimSigningKeys(store.pool, keyring, 'sel.test', (k) => copied.push(k))).toEqual([]);
    expect(copied).toEqual([
      {
        domain: 'sel.test',
        selector: 'mail',
        algorithm: 'rsa-sha256',
        secretsKeyId: keyring.current.id,
        problem: 'not-authentic',
      },
    ]);

    // An older key of the keyring still opens what it sealed.
    const rotatedKeyring = createSecretsKeyring([randomBytes(32), keyring.current.key]);
    expect(await dkimSigningKeys(store.pool, rotatedKeyring, 'both.test')).toHaveLength(2);
  });

  it('seals every key again with a new secrets key, so the old one can leave the key file', async () => {
    const newKey = randomBytes(32);
    const during = createSecretsKeyring([newKey, keyring.current.key]);
    const first = await resealDkimKeys(store.pool, during);
    // sel.test's key was copied from another row above: no key opens it, and it stays as it is.
    expect(first).toEqual({ resealed: first.resealed, unreadable: { [keyring.current.id]: 1 } });
    expect(first.resealed).toBeGreaterThan(5);
    expect(await resealDkimKeys(store.pool, during)).toEqual({
      resealed: 0,
      unreadable: { [keyring.current.id]: 1 },
    });
    const after = createSecretsKeyring([newKey]);
    expect((await dkimSigningKeys(store.pool, after, 'both.test')).map((k) => k.selector)).toEqual([
      'rsa-20250114',
      'ed25519-20250114',
    ]);
    expect((await listDkimKeys(store.pool)).filter((k) => k.secretsKeyId !== after.current.id)).toEqual([
      expect.objectContaining({ domain: 'sel.test', selector: 'mail' }),
    ]);
  });
});
