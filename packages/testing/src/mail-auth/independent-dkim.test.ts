import { describe, expect, it } from 'vitest';
import type { TestDnsRecords } from '../dns-server.js';
import { generateDkimKey } from './dkim-keys.js';
import { dkimSign } from './independent-signing.js';
import { dkimVerifyIndependently } from './independent-verification.js';
import { independentMailAuth } from './python-runner.js';

const tools = independentMailAuth();
const skipNote = tools.available ? '' : ` (skipped: ${tools.reason})`;

const message = Buffer.from(
  [
    'From: Alice <alice@example.test>',
    'To: Bob <bob@example.net>',
    'Subject: Lunch on Thursday',
    'Date: Thu, 03 Dec 2026 12:00:00 +0000',
    'Message-ID: <lunch.1@example.test>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Shall we meet at noon?',
    '',
  ].join('\r\n'),
);

const rsa = generateDkimKey('rsa');
const ed25519 = generateDkimKey('ed25519');
const zone: TestDnsRecords = {
  'rsa._domainkey.example.test': { txt: [rsa.dnsTxt] },
  'ed._domainkey.example.test': { txt: [ed25519.dnsTxt] },
  // A key published through a CNAME, as a mail provider's customers do.
  'alias._domainkey.example.test': { cname: 'rsa._domainkey.provider.test' },
  'rsa._domainkey.provider.test': { txt: [rsa.dnsTxt] },
  'broken._domainkey.example.test': { rcode: 'SERVFAIL' },
  'dropped._domainkey.example.test': { drop: true },
  'revoked._domainkey.example.test': { txt: ['v=DKIM1; k=rsa; p='] },
};

function changeBody(signed: Buffer, from: string, to: string): Buffer {
  const text = signed.toString('latin1');
  const bodyAt = text.indexOf('\r\n\r\n') + 4;
  expect(text.indexOf(from, bodyAt)).toBeGreaterThan(0);
  return Buffer.from(text.slice(0, bodyAt) + text.slice(bodyAt).replace(from, to), 'latin1');
}

describe.skipIf(!tools.available)(`dkimpy signs and verifies with the test zone${skipNote}`, () => {
  it('passes an rsa-sha256 signature, prepended to the unchanged message', async () => {
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'rsa', key: rsa });
    expect(signed.subarray(signed.length - message.length)).toEqual(message);
    expect(signed.toString()).toMatch(
      /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/simple; d=example\.test;/,
    );
    expect(await dkimVerifyIndependently(signed, zone)).toEqual([
      expect.objectContaining({
        result: 'pass',
        domain: 'example.test',
        selector: 'rsa',
        algorithm: 'rsa-sha256',
      }),
    ]);
  });

  it('passes an ed25519-sha256 signature (RFC 8463)', async () => {
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'ed', key: ed25519 });
    expect(await dkimVerifyIndependently(signed, zone)).toEqual([
      expect.objectContaining({ result: 'pass', algorithm: 'ed25519-sha256' }),
    ]);
  });

  it('fails both when one byte of the body changed', async () => {
    for (const [selector, key] of [
      ['rsa', rsa],
      ['ed', ed25519],
    ] as const) {
      const signed = await dkimSign(message, { domain: 'example.test', selector, key });
      const [verdict] = await dkimVerifyIndependently(changeBody(signed, 'noon', 'nooN'), zone);
      expect(verdict).toMatchObject({ result: 'fail', reason: expect.stringMatching(/body hash mismatch/) });
    }
  });

  it('fails when a signed header field changed, with the body intact', async () => {
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'rsa', key: rsa });
    const forged = Buffer.from(signed.toString().replace('Subject: Lunch', 'Subject: Dinner'));
    const [verdict] = await dkimVerifyIndependently(forged, zone);
    expect(verdict).toMatchObject({ result: 'fail', reason: 'signature did not verify' });
  });

  it('verifies each signature of a message signed twice, rsa and ed25519, top one first', async () => {
    const once = await dkimSign(message, { domain: 'example.test', selector: 'rsa', key: rsa });
    const twice = await dkimSign(once, {
      domain: 'example.test',
      selector: 'ed',
      key: ed25519,
      headers: ['From', 'To', 'Subject', 'Date', 'Message-ID'],
      canonicalization: 'relaxed/relaxed',
    });
    expect(twice.toString()).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed;/);
    expect((await dkimVerifyIndependently(twice, zone)).map((v) => [v.selector, v.result])).toEqual([
      ['ed', 'pass'],
      ['rsa', 'pass'],
    ]);
  });

  it('keeps the simple/simple body exact: a trailing space added breaks it, relaxed ignores it', async () => {
    const simple = await dkimSign(message, {
      domain: 'example.test',
      selector: 'rsa',
      key: rsa,
      canonicalization: 'simple/simple',
    });
    const relaxed = await dkimSign(message, {
      domain: 'example.test',
      selector: 'rsa',
      key: rsa,
      canonicalization: 'relaxed/relaxed',
    });
    const [simpleVerdict] = await dkimVerifyIndependently(changeBody(simple, 'noon?', 'noon? '), zone);
    const [relaxedVerdict] = await dkimVerifyIndependently(changeBody(relaxed, 'noon?', 'noon? '), zone);
    expect(simpleVerdict?.result).toBe('fail');
    expect(relaxedVerdict?.result).toBe('pass');
  });

  it('finds a key behind a CNAME, as the test DNS server answers it', async () => {
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'alias', key: rsa });
    expect((await dkimVerifyIndependently(signed, zone))[0]?.result).toBe('pass');
  });

  it('says permerror without a key record, and for a revoked key (empty p=)', async () => {
    const unpublished = await dkimSign(message, { domain: 'example.test', selector: 'missing', key: rsa });
    expect((await dkimVerifyIndependently(unpublished, zone))[0]).toMatchObject({
      result: 'permerror',
      reason: expect.stringMatching(/missing public key/),
    });
    const revoked = await dkimSign(message, { domain: 'example.test', selector: 'revoked', key: rsa });
    expect((await dkimVerifyIndependently(revoked, zone))[0]?.result).toBe('permerror');
  });

  it('says temperror when the key lookup gets SERVFAIL or no answer', async () => {
    for (const selector of ['broken', 'dropped']) {
      const signed = await dkimSign(message, { domain: 'example.test', selector, key: rsa });
      expect((await dkimVerifyIndependently(signed, zone))[0]).toMatchObject({
        result: 'temperror',
        reason: expect.stringContaining(`${selector}._domainkey.example.test`),
      });
    }
  });

  it('says permerror for an rsa key smaller than the minimum, pass when the minimum allows it', async () => {
    const small = generateDkimKey('rsa', 512);
    const smallZone = { 'small._domainkey.example.test': { txt: [small.dnsTxt] } };
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'small', key: small });
    expect((await dkimVerifyIndependently(signed, smallZone))[0]).toMatchObject({
      result: 'permerror',
      reason: expect.stringMatching(/too small/),
    });
    expect((await dkimVerifyIndependently(signed, smallZone, { minKeyBits: 512 }))[0]?.result).toBe('pass');
  });

  it('returns no verdict for an unsigned message', async () => {
    expect(await dkimVerifyIndependently(message, zone)).toEqual([]);
  });

  it('needs the ed25519 seed for dkimpy: the PKCS#8 PEM that node:crypto and mailauth take is refused', async () => {
    const pemForDkimpy = { ...ed25519, privateKeyForDkimpy: ed25519.privateKeyPem };
    await expect(
      dkimSign(message, { domain: 'example.test', selector: 'ed', key: pemForDkimpy }),
    ).rejects.toThrow(/invalid ed25519 private key/);
  });

  it('refuses to sign with a key of the other algorithm, and says why dkimpy refused a header', async () => {
    await expect(
      dkimSign(message, { domain: 'example.test', selector: 'rsa', key: rsa, algorithm: 'ed25519-sha256' }),
    ).rejects.toThrow(/rsa key cannot sign ed25519-sha256/);
    await expect(
      dkimSign(message, { domain: 'example.test', selector: 'rsa', key: rsa, headers: ['To', 'Subject'] }),
    ).rejects.toThrow(/From header field MUST be signed/);
  });
});
