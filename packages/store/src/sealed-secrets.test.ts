import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretsKeyring, sealSecret, secretsKeyId, unsealSecret } from './sealed-secrets.js';

const aad = Buffer.from('account 1');

describe('sealed secrets', () => {
  it('opens what it sealed, under the key id stored beside it, and never shows the plaintext', () => {
    const keyring = createSecretsKeyring([randomBytes(32)]);
    const plaintext = Buffer.from('0123456789abcdef0123456789abcdef');
    const value = sealSecret(keyring, plaintext, aad);
    expect(value.keyId).toBe(keyring.current.id);
    expect(value.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(value.sealed.includes(plaintext)).toBe(false);
    expect(unsealSecret(keyring, value, aad)).toEqual({ ok: true, plaintext });
    // A fresh nonce each time: the same secret never seals to the same bytes.
    expect(sealSecret(keyring, plaintext, aad).sealed.equals(value.sealed)).toBe(false);
  });

  it('refuses another key, altered bytes and other associated data as problems, not exceptions', () => {
    const key = randomBytes(32);
    const keyring = createSecretsKeyring([key]);
    const value = sealSecret(keyring, Buffer.from('secret'), aad);
    const other = createSecretsKeyring([randomBytes(32)]);
    expect(unsealSecret(other, value, aad)).toEqual({ ok: false, problem: 'unknown-key' });
    for (const at of [0, 5, value.sealed.length - 1]) {
      const altered = Buffer.from(value.sealed);
      altered[at] = altered[at]! ^ 1;
      expect(unsealSecret(keyring, { ...value, sealed: altered }, aad), `byte ${at}`).toEqual({
        ok: false,
        problem: 'not-authentic',
      });
    }
    expect(unsealSecret(keyring, { ...value, sealed: value.sealed.subarray(0, 10) }, aad)).toMatchObject({
      ok: false,
    });
    expect(unsealSecret(keyring, value, Buffer.from('account 2'))).toEqual({
      ok: false,
      problem: 'not-authentic',
    });
  });

  it('seals with the first key and opens with any, so a key can be rotated', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const sealedBefore = sealSecret(createSecretsKeyring([oldKey]), Buffer.from('x'), aad);
    const rotated = createSecretsKeyring([newKey, oldKey]);
    expect(rotated.current.id).toBe(secretsKeyId(newKey));
    expect(unsealSecret(rotated, sealedBefore, aad)).toEqual({ ok: true, plaintext: Buffer.from('x') });
    expect(sealSecret(rotated, Buffer.from('x'), aad).keyId).toBe(secretsKeyId(newKey));
    expect(secretsKeyId(oldKey)).not.toBe(secretsKeyId(newKey));
  });
});
