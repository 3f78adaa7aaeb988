import { describe, expect, it } from 'vitest';
import type { TestDnsRecords } from '../dns-server.js';
import { generateDkimKey } from './dkim-keys.js';
import { arcSign, dkimSign } from './independent-signing.js';
import { arcVerifyIndependently, dkimVerifyIndependently } from './independent-verification.js';
import { independentMailAuth } from './python-runner.js';

const tools = independentMailAuth();
const skipNote = tools.available ? '' : ` (skipped: ${tools.reason})`;

const original = Buffer.from(
  [
    'From: Alice <alice@example.test>',
    'To: list@lists.test',
    'Subject: Agenda',
    'Date: Thu, 03 Dec 2026 12:00:00 +0000',
    'Message-ID: <agenda.7@example.test>',
    '',
    'Item one.',
    '',
  ].join('\r\n'),
);

const author = generateDkimKey('rsa');
const list = generateDkimKey('rsa');
const relay = generateDkimKey('rsa');
const zone: TestDnsRecords = {
  'a._domainkey.example.test': { txt: [author.dnsTxt] },
  'arc._domainkey.lists.test': { txt: [list.dnsTxt] },
  'seal._domainkey.relay.test': { txt: [relay.dnsTxt] },
};

/** What a receiving hop puts on top before it seals: its own verdicts, under its authserv-id. */
function withResults(message: Buffer, results: string): Buffer {
  return Buffer.concat([Buffer.from(`Authentication-Results: ${results}\r\n`), message]);
}

function changeBody(message: Buffer): Buffer {
  return Buffer.from(message.toString().replace('Item one.', 'Item 1.'));
}

describe.skipIf(!tools.available)(
  `dkimpy seals and verifies ARC chains with the test zone${skipNote}`,
  () => {
    it('adds one ARC set over the Authentication-Results of its authserv-id: cv=pass', async () => {
      const signed = await dkimSign(original, { domain: 'example.test', selector: 'a', key: author });
      const received = withResults(signed, 'mx.lists.test; dkim=pass header.d=example.test; spf=pass');
      const sealed = await arcSign(received, {
        domain: 'lists.test',
        selector: 'arc',
        key: list,
        srvId: 'mx.lists.test',
      });
      const text = sealed.toString();
      expect(text).toMatch(/^ARC-Seal: i=1; cv=none; a=rsa-sha256; d=lists\.test; s=arc;/);
      expect(text).toMatch(
        /\r\nARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed\/relaxed;\s+d=lists\.test;/,
      );
      expect(text).toContain(
        '\r\nARC-Authentication-Results: i=1; mx.lists.test; dkim=pass header.d=example.test;',
      );
      expect(sealed.subarray(sealed.length - received.length)).toEqual(received);
      expect(await arcVerifyIndependently(sealed, zone)).toMatchObject({
        cv: 'pass',
        instances: [{ instance: 1, cv: 'none', amsValid: true, asValid: true, amsDomain: 'lists.test' }],
      });
    });

    it('extends a chain at the next hop (i=2, cv=pass) and still verifies the author signature', async () => {
      const first = await arcSign(withResults(original, 'mx.lists.test; spf=pass'), {
        domain: 'lists.test',
        selector: 'arc',
        key: list,
        srvId: 'mx.lists.test',
      });
      const second = await arcSign(withResults(first, 'mx.relay.test; arc=pass; spf=fail'), {
        domain: 'relay.test',
        selector: 'seal',
        key: relay,
        srvId: 'mx.relay.test',
      });
      expect(second.toString()).toMatch(/^ARC-Seal: i=2; cv=pass;/);
      const verdict = await arcVerifyIndependently(second, zone);
      expect(verdict.cv).toBe('pass');
      expect(verdict.instances.map((i) => [i.instance, i.cv, i.asDomain])).toEqual([
        [2, 'pass', 'relay.test'],
        [1, 'none', 'lists.test'],
      ]);
    });

    it('fails the chain when the body changed after sealing', async () => {
      const sealed = await arcSign(withResults(original, 'mx.lists.test; spf=pass'), {
        domain: 'lists.test',
        selector: 'arc',
        key: list,
        srvId: 'mx.lists.test',
      });
      expect(await arcVerifyIndependently(changeBody(sealed), zone)).toMatchObject({
        cv: 'fail',
        instances: [{ instance: 1, amsValid: false }],
      });
    });

    it('fails when the sealer key is not published, and says none for a message without ARC', async () => {
      const sealed = await arcSign(withResults(original, 'mx.lists.test; spf=pass'), {
        domain: 'lists.test',
        selector: 'arc',
        key: list,
        srvId: 'mx.lists.test',
      });
      const withoutKey = { ...zone, 'arc._domainkey.lists.test': { txt: ['v=DKIM1; p=none-here'] } };
      expect((await arcVerifyIndependently(sealed, withoutKey)).cv).toBe('fail');
      const broken: TestDnsRecords = { 'arc._domainkey.lists.test': { rcode: 'SERVFAIL' } };
      expect(await arcVerifyIndependently(sealed, broken)).toMatchObject({
        cv: 'fail',
        temporaryDnsFailures: expect.arrayContaining([expect.stringContaining('arc._domainkey.lists.test')]),
      });
      expect((await arcVerifyIndependently(original, zone)).cv).toBe('none');
    });

    it('lets the author DKIM signature survive a seal (ARC adds header fields only)', async () => {
      const signed = await dkimSign(original, { domain: 'example.test', selector: 'a', key: author });
      const sealed = await arcSign(withResults(signed, 'mx.lists.test; dkim=pass'), {
        domain: 'lists.test',
        selector: 'arc',
        key: list,
        srvId: 'mx.lists.test',
      });
      expect((await dkimVerifyIndependently(sealed, zone)).map((v) => v.result)).toEqual(['pass']);
    });

    it('refuses to seal without Authentication-Results of its authserv-id, or with an ed25519 key', async () => {
      await expect(
        arcSign(withResults(original, 'mx.elsewhere.test; spf=pass'), {
          domain: 'lists.test',
          selector: 'arc',
          key: list,
          srvId: 'mx.lists.test',
        }),
      ).rejects.toThrow(/needs an "Authentication-Results: mx\.lists\.test; …" header field/);
      // dkimpy matches the field name case-sensitively: a lower-case one is not found.
      const lowerCase = Buffer.concat([
        Buffer.from('authentication-results: mx.lists.test; spf=pass\r\n'),
        original,
      ]);
      await expect(
        arcSign(lowerCase, { domain: 'lists.test', selector: 'arc', key: list, srvId: 'mx.lists.test' }),
      ).rejects.toThrow(/dkimpy added no ARC set/);
      await expect(
        arcSign(withResults(original, 'mx.lists.test; spf=pass'), {
          domain: 'lists.test',
          selector: 'arc',
          key: generateDkimKey('ed25519'),
          srvId: 'mx.lists.test',
        }),
      ).rejects.toThrow(/rsa-sha256: give an rsa key/);
    });
  },
);
