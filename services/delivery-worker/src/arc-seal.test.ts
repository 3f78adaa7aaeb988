import {
  arcSign,
  arcVerifyIndependently,
  generateDkimKey,
  independentMailAuth,
  type TestDnsRecords,
} from '@tegami/testing';
import { describe, expect, it } from 'vitest';
import { arcSeal, MAX_ARC_SETS } from './arc-seal.js';

// Our seals checked by dkimpy (Debian's python3-dkim), an ARC implementation independent of
// the mailauth that makes them.

const tools = independentMailAuth();
const ours = generateDkimKey('rsa');
const list = generateDkimKey('rsa');
const zone: TestDnsRecords = {
  'fwd._domainkey.alias.test': { txt: [ours.dnsTxt] },
  'arc._domainkey.lists.test': { txt: [list.dnsTxt] },
};
const key = { domain: 'alias.test', selector: 'fwd', privateKeyPem: ours.privateKeyPem };
const now = new Date('2026-12-03T12:00:00Z');
const HOST = 'mx.alias.test';

const body = [
  'From: Carol <carol@origin.test>',
  'To: info@alias.test',
  'Subject: Hello',
  'Date: Thu, 03 Dec 2026 11:59:00 +0000',
  'Message-ID: <hello.1@origin.test>',
  '',
  'Hello there.',
  '',
].join('\r\n');

/** What our smtp-ingress puts on top of a message from port 25. */
function received(results: string, rest = body): Buffer {
  return Buffer.from(
    `Authentication-Results: ${HOST};\r\n spf=pass smtp.mailfrom=carol@origin.test;\r\n ${results}\r\nReceived: from client.origin.test ([192.0.2.7]) by ${HOST} with ESMTP; Thu, 03 Dec 2026 11:59:30 +0000\r\n${rest}`,
  );
}

function field(message: Buffer, name: string): string | undefined {
  const header = message.toString('utf8').split('\r\n\r\n')[0]!;
  return new RegExp(`^${name}: ([\\s\\S]*?)\\r\\n(?![ \\t])`, 'mi').exec(`${header}\r\n`)?.[1];
}

describe.skipIf(!tools.available)('ARC seal of forwarded mail, verified by dkimpy', () => {
  it('seals mail that had no chain with i=1 cv=none, carrying our Authentication-Results', async () => {
    const sealed = await arcSeal(
      received('dkim=none (message not signed);\r\n arc=none;\r\n dmarc=none'),
      key,
      HOST,
      now,
    );
    expect(sealed).toMatchObject({ kind: 'sealed', instance: 1, cv: 'none' });
    if (sealed.kind !== 'sealed') return;
    expect(field(sealed.message, 'ARC-Seal')).toMatch(/i=1; .*cv=none; d=alias\.test; s=fwd/s);
    expect(field(sealed.message, 'ARC-Authentication-Results')).toBe(
      `i=1; ${HOST};\r\n spf=pass smtp.mailfrom=carol@origin.test;\r\n dkim=none (message not signed);\r\n arc=none;\r\n dmarc=none`,
    );
    const verdict = await arcVerifyIndependently(sealed.message, zone);
    expect(verdict.cv).toBe('pass');
    expect(verdict.instances).toMatchObject([
      { instance: 1, cv: 'none', amsValid: true, asValid: true, asDomain: 'alias.test' },
    ]);
  });

  it('adds i=2 cv=pass to a chain that passed on arrival', async () => {
    const fromList = await arcSign(
      Buffer.from(`Authentication-Results: lists.test; spf=pass smtp.mailfrom=carol@origin.test\r\n${body}`),
      { domain: 'lists.test', selector: 'arc', key: list, srvId: 'lists.test' },
    );
    expect((await arcVerifyIndependently(fromList, zone)).cv).toBe('pass');
    const sealed = await arcSeal(
      received('arc=pass (i=1 spf=pass);\r\n dmarc=pass', fromList.toString('utf8')),
      key,
      HOST,
      now,
    );
    expect(sealed).toMatchObject({ kind: 'sealed', instance: 2, cv: 'pass' });
    if (sealed.kind !== 'sealed') return;
    const verdict = await arcVerifyIndependently(sealed.message, zone);
    expect(verdict.cv).toBe('pass');
    expect(verdict.instances.map((i) => [i.instance, i.cv, i.asDomain])).toEqual([
      [2, 'pass', 'alias.test'],
      [1, 'none', 'lists.test'],
    ]);
  });

  it('says cv=fail for a chain that failed on arrival, which the next hop then sees as failed', async () => {
    const fromList = await arcSign(
      Buffer.from(`Authentication-Results: lists.test; spf=pass smtp.mailfrom=carol@origin.test\r\n${body}`),
      { domain: 'lists.test', selector: 'arc', key: list, srvId: 'lists.test' },
    );
    const tampered = fromList.toString('utf8').replace('Hello there.', 'Pay me.');
    const sealed = await arcSeal(received('arc=fail (body hash mismatch)', tampered), key, HOST, now);
    expect(sealed).toMatchObject({ kind: 'sealed', instance: 2, cv: 'fail' });
    if (sealed.kind !== 'sealed') return;
    expect((await arcVerifyIndependently(sealed.message, zone)).cv).toBe('fail');
    // And a failed chain is not sealed again.
    expect(await arcSeal(received('arc=fail', sealed.message.toString('utf8')), key, HOST, now)).toEqual({
      kind: 'not-sealed',
      reason: 'its ARC chain failed at an earlier hop',
    });
  });
});

describe('a message with header fields only', () => {
  it('goes unsealed rather than with a set that would push its header into the body', async () => {
    // No blank line after the header: mailauth's set lacked ARC-Message-Signature and held one.
    const headersOnly = Buffer.from('From: Carol <carol@origin.test>\r\nSubject: Hello\r\n');
    expect(await arcSeal(headersOnly, key, HOST, now)).toEqual({
      kind: 'not-sealed',
      reason: 'mailauth wrote an incomplete ARC set (no blank line after the header?)',
    });
  });
});

describe('when there is nothing to seal with', () => {
  it('seals mail that was never checked (submission) with "none" results', async () => {
    const sealed = await arcSeal(Buffer.from(body), key, HOST, now);
    expect(sealed).toMatchObject({ kind: 'sealed', instance: 1, cv: 'none' });
    if (sealed.kind === 'sealed')
      expect(field(sealed.message, 'ARC-Authentication-Results')).toBe(`i=1; ${HOST}; none`);
  });

  it('ignores Authentication-Results of other hosts', async () => {
    const other = Buffer.from(`Authentication-Results: mx.elsewhere.test; arc=pass\r\n${body}`);
    const sealed = await arcSeal(other, key, HOST, now);
    if (sealed.kind === 'sealed')
      expect(field(sealed.message, 'ARC-Authentication-Results')).toBe(`i=1; ${HOST}; none`);
    else throw new Error(sealed.reason);
  });

  it('does not seal a chain nobody verified, a broken one, or one of 50 sets', async () => {
    const set = (i: number, cv = 'pass') =>
      `ARC-Seal: i=${i}; a=rsa-sha256; cv=${cv}; d=x.test; s=s; b=AA==\r\nARC-Message-Signature: i=${i}; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==\r\nARC-Authentication-Results: i=${i}; x.test; none\r\n`;
    expect(await arcSeal(Buffer.from(set(1, 'none') + body), key, HOST, now)).toEqual({
      kind: 'not-sealed',
      reason: 'it carries an ARC chain that was not verified on arrival',
    });
    expect(await arcSeal(Buffer.from(set(2) + body), key, HOST, now)).toEqual({
      kind: 'not-sealed',
      reason: 'the ARC chain on it is broken (arc-seal instances are not 1 to 1)',
    });
    const partial = `ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.test; s=s; b=AA==\r\n${body}`;
    expect(await arcSeal(Buffer.from(partial), key, HOST, now)).toEqual({
      kind: 'not-sealed',
      reason: 'the ARC chain on it is broken (0 arc-message-signature for 1 ARC-Seal)',
    });
    let fifty = set(1, 'none');
    for (let i = 2; i <= MAX_ARC_SETS; i++) fifty = set(i) + fifty;
    expect(await arcSeal(received('arc=pass', fifty + body), key, HOST, now)).toEqual({
      kind: 'not-sealed',
      reason: 'it has 50 ARC sets already (RFC 8617 §4.2.1)',
    });
    let fortyNine = set(1, 'none');
    for (let i = 2; i < MAX_ARC_SETS; i++) fortyNine = set(i) + fortyNine;
    expect(await arcSeal(received('arc=pass', fortyNine + body), key, HOST, now)).toMatchObject({
      kind: 'sealed',
      instance: 50,
    });
  });
});
