import { describe, expect, it } from 'vitest';
import { dkimPublicKeyOf, generateDkimKeyPair } from './key-pair.js';
import {
  dkimRecordName,
  dkimRecordValue,
  matchDkimRecords,
  parseDkimKeyRecord,
  parseDkimSelector,
  txtCharacterStrings,
  zoneFileTxtLine,
} from './key-record.js';

describe('the DNS record of a DKIM key', () => {
  it('lives at <selector>._domainkey.<domain> and says v=DKIM1; k=…; p=…', async () => {
    const rsa = await generateDkimKeyPair('rsa-sha256');
    expect(dkimRecordName('rsa-20250114', 'example.org')).toBe('rsa-20250114._domainkey.example.org');
    expect(dkimRecordValue('rsa-sha256', rsa.publicKey)).toBe(`v=DKIM1; k=rsa; p=${rsa.publicKey}`);
    expect(dkimRecordValue('ed25519-sha256', 'AAAA')).toBe('v=DKIM1; k=ed25519; p=AAAA');
    expect(dkimPublicKeyOf(rsa.privateKeyPem, 'rsa-sha256')).toBe(rsa.publicKey);
    expect(() => dkimPublicKeyOf(rsa.privateKeyPem, 'ed25519-sha256')).toThrow(/not an ed25519 key: rsa/);
  });

  it('is written as one zone file line of 255-octet strings', async () => {
    const { publicKey } = await generateDkimKeyPair('rsa-sha256');
    const value = dkimRecordValue('rsa-sha256', publicKey);
    const strings = txtCharacterStrings(value);
    expect(value.length).toBeGreaterThan(255);
    expect(strings.length).toBe(Math.ceil(value.length / 255));
    expect(strings.every((s) => s.length <= 255)).toBe(true);
    expect(strings.join('')).toBe(value);
    const line = zoneFileTxtLine('s._domainkey.example.org', value);
    expect(line).toBe(`s._domainkey.example.org. IN TXT ${strings.map((s) => `"${s}"`).join(' ')}`);
    expect(line).not.toContain('\n');
    expect(zoneFileTxtLine('x.example', 'a "quoted" \\ value')).toBe(
      'x.example. IN TXT "a \\"quoted\\" \\\\ value"',
    );
  });
});

describe('parseDkimSelector', () => {
  it('takes DNS labels, lower-cased, and refuses anything else', () => {
    expect(parseDkimSelector('Rsa-2025.Mail')).toEqual({ ok: true, selector: 'rsa-2025.mail' });
    for (const bad of ['', '-a', 'a-', 'a..b', 'a_b', 'a b', 'ä', 'x'.repeat(64)]) {
      expect(parseDkimSelector(bad).ok, bad).toBe(false);
    }
  });
});

describe('parseDkimKeyRecord (RFC 6376 §3.6.1)', () => {
  it('reads the tags, with defaults, whitespace in p= and a final semicolon', () => {
    expect(parseDkimKeyRecord('v=DKIM1; p=MIIB AAA\tBBB;')).toEqual({
      ok: true,
      record: { keyType: 'rsa', publicKey: 'MIIBAAABBB', services: ['*'], testing: false },
    });
    expect(parseDkimKeyRecord('k=ed25519; h=sha256; s=email; t=y:s; p=abc')).toEqual({
      ok: true,
      record: {
        keyType: 'ed25519',
        publicKey: 'abc',
        hashes: ['sha256'],
        services: ['email'],
        testing: true,
      },
    });
  });

  it('refuses a list that is not a key record', () => {
    expect(parseDkimKeyRecord('k=rsa')).toEqual({ ok: false, problem: 'no p= tag' });
    expect(parseDkimKeyRecord('p=a; p=b')).toEqual({ ok: false, problem: 'tag p= appears twice' });
    expect(parseDkimKeyRecord('k=rsa; v=DKIM1; p=a')).toEqual({
      ok: false,
      problem: 'v= must come first and be DKIM1',
    });
    expect(parseDkimKeyRecord('v=spf1 -all').ok).toBe(false);
  });
});

describe('matchDkimRecords', () => {
  const key = { algorithm: 'rsa-sha256' as const, publicKey: 'MIIBkey' };
  it('says published when the one DKIM record carries this key', () => {
    expect(matchDkimRecords([['v=DKIM1; k=rsa; p=MIIB', 'key']], key)).toEqual({
      kind: 'published',
      testing: false,
    });
    // Another TXT record at the name is not a key record and does not count.
    expect(matchDkimRecords([['v=spf1 -all'], ['p=MIIBkey; t=y']], key)).toEqual({
      kind: 'published',
      testing: true,
    });
  });

  it('tells a missing, revoked, different, broken and doubled record apart', () => {
    expect(matchDkimRecords([], key)).toEqual({ kind: 'missing' });
    expect(matchDkimRecords([['v=spf1 -all']], key)).toEqual({ kind: 'missing' });
    expect(matchDkimRecords([['v=DKIM1; p=']], key)).toEqual({ kind: 'revoked' });
    expect(matchDkimRecords([['v=DKIM1; p=other']], key)).toEqual({
      kind: 'different',
      detail: 'another public key (p=)',
    });
    expect(matchDkimRecords([['v=DKIM1; k=ed25519; p=MIIBkey']], key)).toEqual({
      kind: 'different',
      detail: 'k=ed25519, this key is k=rsa',
    });
    expect(matchDkimRecords([['v=DKIM1; h=sha1; p=MIIBkey']], key)).toMatchObject({ kind: 'different' });
    expect(matchDkimRecords([['v=DKIM1; k=rsa']], key)).toEqual({ kind: 'invalid', detail: 'no p= tag' });
    expect(matchDkimRecords([['v=DKIM1; p=MIIBkey'], ['v=DKIM1; p=MIIBkey']], key)).toEqual({
      kind: 'ambiguous',
      count: 2,
    });
  });
});
