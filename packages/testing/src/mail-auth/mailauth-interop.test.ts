import { Resolver } from 'node:dns/promises';
import {
  authenticate,
  dkimSign as mailauthDkimSign,
  dkimVerify as mailauthDkimVerify,
  sealMessage,
} from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsRecords, type TestDnsServer } from '../dns-server.js';
import { generateDkimKey } from './dkim-keys.js';
import { arcSign, dkimSign } from './independent-signing.js';
import { arcVerifyIndependently, dkimVerifyIndependently } from './independent-verification.js';
import { independentMailAuth } from './python-runner.js';

const tools = independentMailAuth();
const skipNote = tools.available ? '' : ` (skipped: ${tools.reason})`;

const message = Buffer.from(
  [
    'From: Alice <alice@example.test>',
    'To: Bob <bob@example.net>',
    'Subject: Minutes',
    'Date: Thu, 03 Dec 2026 12:00:00 +0000',
    'Message-ID: <minutes.3@example.test>',
    '',
    'All agreed.',
    '',
  ].join('\r\n'),
);

const rsa = generateDkimKey('rsa');
const ed25519 = generateDkimKey('ed25519');
const sealer = generateDkimKey('rsa');
const zone: TestDnsRecords = {
  'rsa._domainkey.example.test': { txt: [rsa.dnsTxt] },
  'ed._domainkey.example.test': { txt: [ed25519.dnsTxt] },
  'broken._domainkey.example.test': { rcode: 'SERVFAIL' },
  'arc._domainkey.lists.test': { txt: [sealer.dnsTxt] },
};

function changeBody(signed: Buffer): Buffer {
  return Buffer.from(signed.toString().replace('All agreed.', 'All agreed!'));
}

// dkimpy answers DNS from the zone itself; mailauth asks the test DNS server serving the same
// zone, through Node's resolver as Tegami's resolver function behaves (ENOTFOUND, ESERVFAIL, …).
describe.skipIf(!tools.available)(`dkimpy and mailauth on the same messages and zone${skipNote}`, () => {
  let dns: TestDnsServer;
  let resolve: (name: string, type: string) => Promise<string[][] | string[]>;

  beforeAll(async () => {
    dns = await startTestDnsServer({ records: zone });
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([dns.address]);
    resolve = (name, type) => resolver.resolve(name, type) as Promise<string[][] | string[]>;
  });

  afterAll(async () => {
    await dns?.stop();
  });

  async function mailauthVerdicts(signed: Buffer): Promise<{ result: string; comment: unknown }[]> {
    const verdict = await mailauthDkimVerify(signed, { resolver: resolve });
    return verdict.results.map((r) => ({ result: r.status.result, comment: r.status.comment }));
  }

  it('mailauth passes what dkimpy signed, rsa-sha256 and ed25519-sha256', async () => {
    for (const [selector, key] of [
      ['rsa', rsa],
      ['ed', ed25519],
    ] as const) {
      const signed = await dkimSign(message, { domain: 'example.test', selector, key });
      expect(await mailauthVerdicts(signed)).toMatchObject([{ result: 'pass' }]);
    }
  });

  it('both fail a changed signed header field', async () => {
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'ed', key: ed25519 });
    const forged = Buffer.from(signed.toString().replace('Subject: Minutes', 'Subject: Invoice'));
    expect(await mailauthVerdicts(forged)).toMatchObject([{ result: 'fail', comment: 'bad signature' }]);
    expect((await dkimVerifyIndependently(forged, zone))[0]?.result).toBe('fail');
  });

  // Where mailauth 4.13.3 and dkimpy differ: RFC 6376 §6.1.3 makes a body hash mismatch a
  // PERMFAIL, "fail" in RFC 8601 §2.7.1, and a missing key record a PERMFAIL too; mailauth
  // calls both "neutral". Tegami's tests that expect dkim=fail for a changed body must map it.
  it('differ on a changed body: dkimpy fail, mailauth neutral "body hash did not verify"', async () => {
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'rsa', key: rsa });
    expect(await mailauthVerdicts(changeBody(signed))).toEqual([
      { result: 'neutral', comment: 'body hash did not verify' },
    ]);
    expect((await dkimVerifyIndependently(changeBody(signed), zone))[0]?.result).toBe('fail');
  });

  it('differ on a missing key record: dkimpy permerror, mailauth neutral "no key"', async () => {
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'unpublished', key: rsa });
    expect(await mailauthVerdicts(signed)).toEqual([{ result: 'neutral', comment: 'no key' }]);
    expect((await dkimVerifyIndependently(signed, zone))[0]?.result).toBe('permerror');
  });

  it('both say temperror when the key lookup gets SERVFAIL', async () => {
    const signed = await dkimSign(message, { domain: 'example.test', selector: 'broken', key: rsa });
    expect(await mailauthVerdicts(signed)).toMatchObject([{ result: 'temperror' }]);
    expect((await dkimVerifyIndependently(signed, zone))[0]?.result).toBe('temperror');
  });

  it('dkimpy passes what mailauth signed with the PKCS#8 keys, rsa-sha256 and ed25519-sha256', async () => {
    // mailauth's index.d.ts wants signingDomain, selector and privateKey at the top; its
    // signer (lib/dkim/dkim-signer.js) reads only signatureData, one entry per signature.
    const options = {
      canonicalization: 'relaxed/relaxed',
      signatureData: [
        {
          signingDomain: 'example.test',
          selector: 'rsa',
          privateKey: rsa.privateKeyPem,
          algorithm: 'rsa-sha256',
        },
        {
          signingDomain: 'example.test',
          selector: 'ed',
          privateKey: ed25519.privateKeyPem,
          algorithm: 'ed25519-sha256',
        },
      ],
    };
    const signed = await mailauthDkimSign(
      message,
      options as unknown as Parameters<typeof mailauthDkimSign>[1],
    );
    expect(signed.errors).toEqual([]);
    const withSignatures = Buffer.concat([Buffer.from(signed.signatures), message]);
    const verdicts = await dkimVerifyIndependently(withSignatures, zone);
    expect(verdicts.map((v) => [v.algorithm, v.result]).sort()).toEqual([
      ['ed25519-sha256', 'pass'],
      ['rsa-sha256', 'pass'],
    ]);
  });

  async function mailauthArc(sealed: Buffer): Promise<string | undefined> {
    const checked = await authenticate(sealed, {
      ip: '192.0.2.1',
      helo: 'mx.lists.test',
      sender: 'list@lists.test',
      mta: 'mx.receiver.test',
      resolver: resolve,
      disableBimi: true,
    });
    return checked.arc ? checked.arc.status.result : undefined;
  }

  it('mailauth validates the ARC chain dkimpy sealed, and dkimpy the one mailauth sealed', async () => {
    const received = Buffer.concat([
      Buffer.from('Authentication-Results: mx.lists.test; spf=pass\r\n'),
      message,
    ]);
    const sealedByDkimpy = await arcSign(received, {
      domain: 'lists.test',
      selector: 'arc',
      key: sealer,
      srvId: 'mx.lists.test',
    });
    expect(await mailauthArc(sealedByDkimpy)).toBe('pass');
    expect(await mailauthArc(changeBody(sealedByDkimpy))).toBe('fail');

    const arcSet = await sealMessage(message, {
      signingDomain: 'lists.test',
      selector: 'arc',
      privateKey: sealer.privateKeyPem,
      authResults: 'mx.lists.test; spf=pass',
      cv: 'none',
    } as Parameters<typeof sealMessage>[1]);
    const sealedByMailauth = Buffer.concat([arcSet, message]);
    expect(await arcVerifyIndependently(sealedByMailauth, zone)).toMatchObject({ cv: 'pass' });
    expect((await arcVerifyIndependently(changeBody(sealedByMailauth), zone)).cv).toBe('fail');
  });
});
