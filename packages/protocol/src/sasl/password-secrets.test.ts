import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeMd5State, md5Finish } from './md5-state.js';
import {
  cramMd5Contexts,
  derivePasswordSecrets,
  digestMd5Ha1,
  scramSha256Keys,
  verifyScrypt,
} from './password-secrets.js';
import { SaslprepError, saslprep } from './saslprep.js';

describe('CRAM-MD5 contexts', () => {
  it.each([
    ['tanstaaftanstaaf', '<1896.697170952@postoffice.reston.mci.net>'],
    ['', 'x'],
    ['a'.repeat(64), 'exactly one block of key'],
    ['パスワード'.repeat(10), 'a key longer than 64 bytes is hashed first'],
  ])('resume to the same HMAC-MD5 as node:crypto (password %#)', (password, challenge) => {
    const { inner, outer } = cramMd5Contexts(password);
    const innerDigest = md5Finish(decodeMd5State(inner), 64, Buffer.from(challenge));
    const hmac = md5Finish(decodeMd5State(outer), 64, innerDigest);
    expect(hmac.toString('hex')).toBe(createHmac('md5', password).update(challenge).digest('hex'));
  });

  it('gives the RFC 2195 example digest', () => {
    const { inner, outer } = cramMd5Contexts('tanstaaftanstaaf');
    const challenge = Buffer.from('<1896.697170952@postoffice.reston.mci.net>');
    const digest = md5Finish(decodeMd5State(outer), 64, md5Finish(decodeMd5State(inner), 64, challenge));
    expect(digest.toString('hex')).toBe('b913a602c7eda7a495b4e6e7334d3890');
  });

  it('md5Finish over long input equals MD5 of it', () => {
    const data = Buffer.alloc(1000, 7);
    const state = decodeMd5State(Buffer.from('0123456789abcdeffedcba9876543210', 'hex'));
    expect(() => md5Finish(state, 3, data)).toThrow();
    const fromStart = md5Finish([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476], 0, data);
    expect(fromStart.toString('hex')).toBe(createHash('md5').update(data).digest('hex'));
  });
});

describe('DIGEST-MD5 HA1', () => {
  it('is MD5 of user:realm:password (RFC 2831 §4 example)', () => {
    // The RFC example: chris / elwood.innosoft.com / secret.
    const ha1 = digestMd5Ha1('chris', 'elwood.innosoft.com', 'secret');
    expect(ha1.toString('hex')).toBe(
      createHash('md5').update('chris:elwood.innosoft.com:secret').digest('hex'),
    );
  });
});

describe('SCRAM-SHA-256 keys', () => {
  it('match the RFC 7677 §3 example', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const keys = scramSha256Keys('pencil', salt, 4096);
    // ClientProof in the RFC example is ClientKey XOR HMAC(StoredKey, AuthMessage).
    const authMessage =
      'n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,' +
      's=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const clientProof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const clientSignature = createHmac('sha256', keys.storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(clientProof.map((byte, i) => byte ^ clientSignature[i]!));
    expect(createHash('sha256').update(clientKey).digest()).toEqual(keys.storedKey);
    const serverSignature = createHmac('sha256', keys.serverKey).update(authMessage).digest('base64');
    expect(serverSignature).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
});

describe('scrypt verifier', () => {
  it('accepts the password and refuses another', async () => {
    const secrets = await derivePasswordSecrets('alice@example.org', 'example.org', 'correct horse');
    expect(secrets.scrypt).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(secrets.scrypt).not.toContain('correct horse');
    await expect(verifyScrypt(secrets.scrypt, 'correct horse')).resolves.toBe(true);
    await expect(verifyScrypt(secrets.scrypt, 'correct horsE')).resolves.toBe(false);
    await expect(verifyScrypt('garbage', 'correct horse')).resolves.toBe(false);
  });

  it('derives no CRAM-MD5 or DIGEST-MD5 secret when those mechanisms are off', async () => {
    const secrets = await derivePasswordSecrets('alice@example.org', 'example.org', 'correct horse', {
      legacy: false,
    });
    expect(Object.keys(secrets).sort()).toEqual(['scramSha256', 'scrypt']);
    const all = await derivePasswordSecrets('alice@example.org', 'example.org', 'correct horse');
    expect(all.cramMd5).toEqual(cramMd5Contexts('correct horse'));
    expect(all.digestMd5).toEqual({
      realm: 'example.org',
      ha1: digestMd5Ha1('alice@example.org', 'example.org', 'correct horse'),
    });
  });

  it('treats a no-break space like a space (SASLprep)', async () => {
    const secrets = await derivePasswordSecrets('a@b.c', 'b.c', 'pass\u00A0word');
    await expect(verifyScrypt(secrets.scrypt, 'pass word')).resolves.toBe(true);
  });
});

describe('saslprep', () => {
  it('maps, normalises and refuses controls', () => {
    expect(saslprep('I\u00ADX')).toBe('IX');
    expect(saslprep('\u2168')).toBe('IX');
    expect(() => saslprep('a\u0007b')).toThrow(SaslprepError);
  });
});
