import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateDkimKey, toCharacterStrings } from './dkim-keys.js';

/** The tags of a key record, its character-strings joined as DKIM does (RFC 6376 §3.6.2.2). */
function tags(dnsTxt: readonly string[]): Map<string, string> {
  return new Map(
    dnsTxt
      .join('')
      .split(';')
      .map((tag) => tag.trim().split('=') as [string, string]),
  );
}

const data = Buffer.from('the canonicalized header fields');

describe('generateDkimKey', () => {
  it('publishes an rsa key as SubjectPublicKeyInfo in character-strings of at most 255 bytes', () => {
    const key = generateDkimKey('rsa');
    expect(key.dnsTxt.length).toBeGreaterThan(1);
    for (const s of key.dnsTxt) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(255);
    const record = tags(key.dnsTxt);
    expect(record.get('v')).toBe('DKIM1');
    expect(record.get('k')).toBe('rsa');
    expect(record.get('p')).toBe(key.publicKeyBase64);
    const publicKey = createPublicKey({
      key: Buffer.from(key.publicKeyBase64, 'base64'),
      format: 'der',
      type: 'spki',
    });
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const signature = sign('sha256', data, key.privateKeyPem);
    expect(verify('sha256', data, publicKey, signature)).toBe(true);
  });

  it('gives dkimpy the rsa key as PKCS#1 PEM and everyone else PKCS#8, the same key', () => {
    const key = generateDkimKey('rsa', 1024);
    expect(key.privateKeyForDkimpy).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(key.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const signature = sign('sha256', data, key.privateKeyForDkimpy);
    expect(verify('sha256', data, createPublicKey(key.privateKeyPem), signature)).toBe(true);
    expect(createPublicKey(key.privateKeyPem).asymmetricKeyDetails?.modulusLength).toBe(1024);
  });

  it('publishes an ed25519 key as its 32 raw bytes (RFC 8463) and gives dkimpy the 32-byte seed', () => {
    const key = generateDkimKey('ed25519');
    const record = tags(key.dnsTxt);
    expect(record.get('k')).toBe('ed25519');
    const raw = Buffer.from(record.get('p') ?? '', 'base64');
    expect(raw).toHaveLength(32);
    expect(Buffer.from(key.privateKeyForDkimpy, 'base64')).toHaveLength(32);
    // The raw key behind the SubjectPublicKeyInfo prefix of RFC 8410 is the one that verifies.
    const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');
    const publicKey = createPublicKey({ key: Buffer.concat([spkiPrefix, raw]), format: 'der', type: 'spki' });
    expect(verify(null, data, publicKey, sign(null, data, key.privateKeyPem))).toBe(true);
    // The seed is the private key: rebuilt from it (RFC 8410 PKCS#8 prefix), it signs the same way.
    const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
    const fromSeed = createPrivateKey({
      key: Buffer.concat([pkcs8Prefix, Buffer.from(key.privateKeyForDkimpy, 'base64')]),
      format: 'der',
      type: 'pkcs8',
    });
    expect(verify(null, data, publicKey, sign(null, data, fromSeed))).toBe(true);
  });

  it('makes a new key each time', () => {
    expect(generateDkimKey('ed25519').publicKeyBase64).not.toBe(generateDkimKey('ed25519').publicKeyBase64);
  });
});

describe('toCharacterStrings', () => {
  it('splits at 255 bytes and keeps a short value whole', () => {
    const value = 'x'.repeat(600);
    expect(toCharacterStrings(value).map((s) => s.length)).toEqual([255, 255, 90]);
    expect(toCharacterStrings(value).join('')).toBe(value);
    expect(toCharacterStrings('v=spf1 -all')).toEqual(['v=spf1 -all']);
  });

  it('refuses a value that is not ASCII rather than split a character', () => {
    expect(() => toCharacterStrings('v=spf1 exp=é')).toThrow(/not ASCII/);
  });
});
