import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import { createCertificate, type TestCertificate } from '@tegami/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PeerTls, TlsCheck } from '../tls-policy.js';
import { daneCheck } from './dane-check.js';
import type { TlsaRecordData } from './tlsa-records.js';

// RFC 7672 §3 case by case, with certificates made here: a root CA, an intermediate under it,
// server certificates under each, self-signed server certificates, and the mistakes.

const MX = 'mx.dane.test';
const DAY_MS = 86_400_000;

let root: TestCertificate;
let intermediate: TestCertificate;
let issuedByRoot: TestCertificate;
let issuedByIntermediate: TestCertificate;
let wrongName: TestCertificate;
let wildcard: TestCertificate;
let expired: TestCertificate;
let expiredSelfSigned: TestCertificate;
let selfSigned: TestCertificate;
let otherSelfSigned: TestCertificate;
let otherRoot: TestCertificate;
let notACa: TestCertificate;
let underNotACa: TestCertificate;

beforeAll(async () => {
  root = await createCertificate([], { ca: true, commonName: 'DANE test root' });
  intermediate = await createCertificate([], {
    ca: true,
    commonName: 'DANE test intermediate',
    issuer: root,
  });
  issuedByRoot = await createCertificate([MX], { issuer: root });
  issuedByIntermediate = await createCertificate([MX], { issuer: intermediate });
  wrongName = await createCertificate(['other.dane.test'], { issuer: root });
  wildcard = await createCertificate(['*.dane.test'], { issuer: root });
  expired = await createCertificate([MX], {
    issuer: root,
    notBefore: new Date(Date.now() - 10 * DAY_MS),
    notAfter: new Date(Date.now() - DAY_MS),
  });
  expiredSelfSigned = await createCertificate(['somewhere.else.test'], {
    notBefore: new Date(Date.now() - 10 * DAY_MS),
    notAfter: new Date(Date.now() - DAY_MS),
  });
  selfSigned = await createCertificate([MX]);
  otherSelfSigned = await createCertificate([MX]);
  otherRoot = await createCertificate([], { ca: true, commonName: 'DANE test root' });
  notACa = await createCertificate(['not-a-ca.dane.test'], { issuer: root });
  underNotACa = await createCertificate([MX], { issuer: notACa });
});

/** What the peer shows: these certificates, leaf first, as the SMTP client reads them off the socket. */
function showing(...certificates: TestCertificate[]): PeerTls {
  return {
    chain: certificates.map((c) => ({ raw: new X509Certificate(c.cert).raw }) as DetailedPeerCertificate),
    // DANE ignores the WebPKI verdict: these certificates are trusted by no one.
    authorized: false,
    authorizationError: 'SELF_SIGNED_CERT_IN_CHAIN',
    protocol: 'TLSv1.3',
  };
}

/** The TLSA record `usage selector matching` for a certificate, computed as a zone's publisher does. */
function tlsa(usage: number, selector: number, matchingType: number, of: TestCertificate): TlsaRecordData {
  const x509 = new X509Certificate(of.cert);
  const selected = selector === 0 ? x509.raw : x509.publicKey.export({ type: 'spki', format: 'der' });
  const data =
    matchingType === 0
      ? selected
      : createHash(matchingType === 1 ? 'sha256' : 'sha512')
          .update(selected)
          .digest();
  return { usage, selector, matchingType, data };
}

function refused(check: TlsCheck): { resultType: string; detail: string } {
  expect(check.ok).toBe(false);
  if (check.ok) throw new Error('unreachable');
  return { resultType: check.resultType, detail: check.detail };
}

describe('DANE-EE(3): the leaf itself (RFC 7672 §3.1.1)', () => {
  it('accepts a self-signed leaf whose key matches 3 1 1', () => {
    expect(daneCheck([tlsa(3, 1, 1, selfSigned)], showing(selfSigned), [MX])).toEqual({ ok: true });
  });

  it('matches every selector and matching type: 3 0 0, 3 0 1, 3 0 2, 3 1 0, 3 1 2', () => {
    for (const [selector, matching] of [
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 2],
    ] as const) {
      expect(daneCheck([tlsa(3, selector, matching, selfSigned)], showing(selfSigned), [MX])).toEqual({
        ok: true,
      });
    }
  });

  it('refuses a leaf that matches no record, as a validation failure', () => {
    const { resultType, detail } = refused(
      daneCheck([tlsa(3, 1, 1, otherSelfSigned)], showing(selfSigned), [MX]),
    );
    expect(resultType).toBe('validation-failure');
    expect(detail).toMatch(/no TLSA record matches/);
    expect(detail).toContain('records: DANE-EE SPKI SHA2-256');
  });

  it('checks neither names nor dates nor issuer (RFC 7672 §3.2.1)', () => {
    const check = daneCheck([tlsa(3, 1, 1, expiredSelfSigned)], showing(expiredSelfSigned), [MX]);
    expect(check).toEqual({ ok: true });
  });

  it('accepts when any one of several records matches (a key rollover publishes two)', () => {
    const records = [tlsa(3, 1, 1, otherSelfSigned), tlsa(3, 1, 1, selfSigned)];
    expect(daneCheck(records, showing(selfSigned), [MX])).toEqual({ ok: true });
  });

  it('matches only the leaf: a DANE-EE record of an issuer in the chain does not count', () => {
    const { resultType } = refused(daneCheck([tlsa(3, 0, 1, root)], showing(issuedByRoot, root), [MX]));
    expect(resultType).toBe('validation-failure');
  });
});

describe('DANE-TA(2): a trust anchor in the chain (RFC 7672 §3.1.2, §3.2.2)', () => {
  it('accepts a leaf for the MX host under the CA of a 2 0 1 record that the server sent', () => {
    expect(daneCheck([tlsa(2, 0, 1, root)], showing(issuedByRoot, root), [MX])).toEqual({ ok: true });
  });

  it('matches the trust anchor by its public key too (2 1 1)', () => {
    expect(daneCheck([tlsa(2, 1, 1, root)], showing(issuedByRoot, root), [MX])).toEqual({ ok: true });
  });

  it('validates a longer chain up to the anchor, at the root or at the intermediate', () => {
    const chain = showing(issuedByIntermediate, intermediate, root);
    expect(daneCheck([tlsa(2, 0, 1, root)], chain, [MX])).toEqual({ ok: true });
    expect(daneCheck([tlsa(2, 0, 2, intermediate)], chain, [MX])).toEqual({ ok: true });
    // Without the root in the chain, an anchor at the intermediate still works.
    expect(
      daneCheck([tlsa(2, 0, 1, intermediate)], showing(issuedByIntermediate, intermediate), [MX]),
    ).toEqual({
      ok: true,
    });
  });

  it('refuses a leaf whose names do not include the reference identifier', () => {
    const { resultType, detail } = refused(daneCheck([tlsa(2, 0, 1, root)], showing(wrongName, root), [MX]));
    expect(resultType).toBe('certificate-host-mismatch');
    expect(detail).toContain('other.dane.test');
    expect(detail).toContain(MX);
  });

  it('accepts any of the reference identifiers (the domain itself for a domain without MX)', () => {
    expect(daneCheck([tlsa(2, 0, 1, root)], showing(wrongName, root), [MX, 'other.dane.test'])).toEqual({
      ok: true,
    });
  });

  it('takes a wildcard for the whole leftmost label only', () => {
    const records = [tlsa(2, 0, 1, root)];
    expect(daneCheck(records, showing(wildcard, root), [MX])).toEqual({ ok: true });
    expect(refused(daneCheck(records, showing(wildcard, root), ['a.mx.dane.test'])).resultType).toBe(
      'certificate-host-mismatch',
    );
    expect(refused(daneCheck(records, showing(wildcard, root), ['dane.test'])).resultType).toBe(
      'certificate-host-mismatch',
    );
  });

  it('refuses an expired leaf below the anchor', () => {
    const { resultType, detail } = refused(daneCheck([tlsa(2, 0, 1, root)], showing(expired, root), [MX]));
    expect(resultType).toBe('certificate-expired');
    expect(detail).toMatch(/valid only from/);
  });

  it('refuses a chain whose leaf the anchor did not sign, though the anchor is in it', () => {
    const impostor = showing(issuedByRoot, otherRoot);
    const { resultType, detail } = refused(daneCheck([tlsa(2, 0, 1, otherRoot)], impostor, [MX]));
    expect(resultType).toBe('validation-failure');
    expect(detail).toMatch(/not signed by the trust anchor/);
  });

  it('refuses an issuer below the anchor that is not a CA', () => {
    const { resultType, detail } = refused(
      daneCheck([tlsa(2, 0, 1, root)], showing(underNotACa, notACa, root), [MX]),
    );
    expect(resultType).toBe('certificate-not-trusted');
    expect(detail).toMatch(/not a CA/);
  });

  it('refuses when the anchor is not in the chain the server sent', () => {
    const { resultType } = refused(daneCheck([tlsa(2, 0, 1, root)], showing(issuedByRoot), [MX]));
    expect(resultType).toBe('validation-failure');
  });

  it('accepts an anchor given as a whole public key (2 1 0) that the server did not send', () => {
    expect(daneCheck([tlsa(2, 1, 0, root)], showing(issuedByRoot), [MX])).toEqual({ ok: true });
    expect(daneCheck([tlsa(2, 1, 0, root)], showing(issuedByIntermediate, intermediate), [MX])).toEqual({
      ok: true,
    });
    // ...but the key must have signed the top of the chain.
    expect(refused(daneCheck([tlsa(2, 1, 0, otherRoot)], showing(issuedByRoot), [MX])).resultType).toBe(
      'validation-failure',
    );
    // ...and the names are still checked.
    expect(refused(daneCheck([tlsa(2, 1, 0, root)], showing(wrongName), [MX])).resultType).toBe(
      'certificate-host-mismatch',
    );
  });

  it('does not take the leaf for a trust anchor', () => {
    const { resultType } = refused(daneCheck([tlsa(2, 0, 1, selfSigned)], showing(selfSigned), [MX]));
    expect(resultType).toBe('validation-failure');
  });
});

describe('which records count (RFC 7672 §3.1.3, RFC 7671 §9)', () => {
  it('finds PKIX-TA(0) and PKIX-EE(1) unusable, even when they match', () => {
    const records = [tlsa(1, 1, 1, selfSigned), tlsa(0, 0, 1, root)];
    const { resultType } = refused(daneCheck(records, showing(selfSigned), [MX]));
    expect(resultType).toBe('tlsa-invalid');
  });

  it('skips unknown selectors and matching types and digests of the wrong length', () => {
    const good = tlsa(3, 1, 1, selfSigned);
    const odd: TlsaRecordData[] = [
      { ...good, selector: 2 },
      { ...good, matchingType: 3 },
      { ...good, data: good.data.subarray(0, 31) },
    ];
    expect(refused(daneCheck(odd, showing(selfSigned), [MX])).resultType).toBe('tlsa-invalid');
    expect(daneCheck([...odd, good], showing(selfSigned), [MX])).toEqual({ ok: true });
  });

  it('uses only the strongest digest published for a usage and selector', () => {
    // A SHA-512 record for another key makes the SHA-256 one that matches not count.
    const records = [tlsa(3, 1, 2, otherSelfSigned), tlsa(3, 1, 1, selfSigned)];
    expect(refused(daneCheck(records, showing(selfSigned), [MX])).resultType).toBe('validation-failure');
    // Another selector keeps its own digest.
    expect(
      daneCheck([tlsa(3, 1, 2, otherSelfSigned), tlsa(3, 0, 1, selfSigned)], showing(selfSigned), [MX]),
    ).toEqual({ ok: true });
  });
});

describe('what the server showed', () => {
  it('refuses no certificate at all', () => {
    const { resultType, detail } = refused(daneCheck([tlsa(3, 1, 1, selfSigned)], showing(), [MX]));
    expect(resultType).toBe('validation-failure');
    expect(detail).toMatch(/no certificate/);
  });

  it('refuses bytes that are not a certificate, without throwing', () => {
    const garbage: PeerTls = {
      ...showing(),
      chain: [{ raw: Buffer.from('not DER') } as DetailedPeerCertificate],
    };
    const { resultType, detail } = refused(daneCheck([tlsa(3, 1, 1, selfSigned)], garbage, [MX]));
    expect(resultType).toBe('validation-failure');
    expect(detail).toMatch(/unreadable certificate/);
  });
});
