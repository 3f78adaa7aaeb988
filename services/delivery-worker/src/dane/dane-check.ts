import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { PeerTls, TlsCheck, TlsResultType } from '../tls-policy.js';
import {
  TlsaMatching,
  type TlsaRecordData,
  TlsaSelector,
  TlsaUsage,
  tlsaParameterNames,
  type UsableTlsaRecord,
  usableTlsaRecords,
} from './tlsa-records.js';

// DANE authentication of an SMTP server (RFC 7672 §3) against its TLSA records: pure, so
// every case is a unit test with certificates made by the test.

/**
 * Whether the chain the peer showed satisfies the TLSA records, for the given reference
 * identifiers (the MX host name; for a domain without MX, the domain itself).
 *
 * - DANE-EE(3), RFC 7672 §3.1.1 and §3.2.1: the leaf certificate (or its public key) matches
 *   the record; nothing else is checked: not the names, not the dates, not who signed it.
 * - DANE-TA(2), RFC 7672 §3.1.2 and §3.2.2: a certificate the peer sent above the leaf matches
 *   the record (or, for `2 1 0`, the record's key signed the top of the chain), every
 *   certificate below it is signed by the next, within its dates, the issuers are CAs, and the
 *   leaf names one of the reference identifiers (RFC 6125: DNS names in the subjectAltName,
 *   the subject CN only without them, a wildcard only as the whole leftmost label, §3.2.3).
 *
 * Node's own WebPKI verdict (`peer.authorized`) plays no part: DANE replaces it.
 */
export function daneCheck(
  records: readonly TlsaRecordData[],
  peer: PeerTls,
  referenceNames: readonly string[],
): TlsCheck {
  const usable = usableTlsaRecords(records);
  if (usable.length === 0) {
    return failure('tlsa-invalid', 'none of the TLSA records is usable for SMTP (RFC 7672 §3.1)');
  }
  const chain = parseChain(peer);
  if (!chain.ok) return chain.failure;
  const [leaf] = chain.certificates;
  if (!leaf) return failure('validation-failure', 'the server showed no certificate');

  if (usable.some((r) => r.usage === TlsaUsage.DaneEe && matches(r, leaf))) return { ok: true };

  const anchors = usable.filter((r) => r.usage === TlsaUsage.DaneTa);
  let trustAnchorFailure: TlsCheck | undefined;
  for (let depth = 1; depth < chain.certificates.length; depth++) {
    const candidate = chain.certificates[depth]!;
    if (!anchors.some((r) => matches(r, candidate))) continue;
    const verdict = pathBelow(chain.certificates, depth, candidate.publicKey, referenceNames);
    if (verdict.ok) return verdict;
    trustAnchorFailure ??= verdict;
  }
  // `2 1 0` carries the trust anchor's whole key: it need not be in the chain (RFC 7671 §5.2.2).
  const top = chain.certificates.length;
  for (const record of anchors) {
    if (record.selector !== TlsaSelector.Spki || record.matchingType !== TlsaMatching.Full) continue;
    const key = publicKeyOf(record.data);
    if (!key) continue;
    const verdict = pathBelow(chain.certificates, top, key, referenceNames);
    if (verdict.ok) return verdict;
    if (verdict.resultType !== 'validation-failure') trustAnchorFailure ??= verdict;
  }
  return (
    trustAnchorFailure ??
    failure(
      'validation-failure',
      `no TLSA record matches the certificate chain the server showed (leaf ${subjectOf(leaf)}, ${top} certificate(s); records: ${[...new Set(usable.map(tlsaParameterNames))].join(', ')})`,
    )
  );
}

type ParsedChain =
  | { readonly ok: true; readonly certificates: readonly X509Certificate[] }
  | { readonly ok: false; readonly failure: TlsCheck };

function parseChain(peer: PeerTls): ParsedChain {
  const certificates: X509Certificate[] = [];
  for (const shown of peer.chain) {
    try {
      certificates.push(new X509Certificate(shown.raw));
    } catch (err) {
      return {
        ok: false,
        failure: failure(
          'validation-failure',
          `unreadable certificate from the server: ${(err as Error).message}`,
        ),
      };
    }
  }
  return { ok: true, certificates };
}

/** The certificate's bytes the record's selector picks, hashed as its matching type says. */
function matches(record: UsableTlsaRecord, certificate: X509Certificate): boolean {
  const selected =
    record.selector === TlsaSelector.Cert
      ? certificate.raw
      : certificate.publicKey.export({ type: 'spki', format: 'der' });
  const associated =
    record.matchingType === TlsaMatching.Full
      ? selected
      : createHash(record.matchingType === TlsaMatching.Sha256 ? 'sha256' : 'sha512')
          .update(selected)
          .digest();
  return Buffer.from(record.data).equals(associated);
}

/**
 * The chain from the leaf up to (not including) `anchorDepth`, whose top certificate the
 * trust anchor's key signed. RFC 7672 §3.1.2: the trust anchor's own dates are not judged, the
 * TLSA record vouches for it; everything below it must be in date.
 */
function pathBelow(
  chain: readonly X509Certificate[],
  anchorDepth: number,
  anchorKey: KeyObject,
  referenceNames: readonly string[],
): TlsCheck {
  const now = Date.now();
  for (let depth = 0; depth < anchorDepth; depth++) {
    const certificate = chain[depth]!;
    // The next certificate up, the anchor's own when it is in the chain; none for a bare key.
    const issuer = chain[depth + 1];
    if (issuer && !issuer.ca) {
      return failure('certificate-not-trusted', `${subjectOf(issuer)} signs certificates but is not a CA`);
    }
    const issuerKey = depth + 1 === anchorDepth ? anchorKey : issuer?.publicKey;
    // Names and key identifiers chain up too, not only the signature (a bare key has neither).
    const chained = issuer === undefined || certificate.checkIssued(issuer);
    if (!issuerKey || !chained || !certificate.verify(issuerKey)) {
      const by =
        depth + 1 === anchorDepth
          ? 'the trust anchor of a DANE-TA record'
          : 'the next certificate in the chain';
      return failure('validation-failure', `${subjectOf(certificate)} is not signed by ${by}`);
    }
    if (Date.parse(certificate.validFrom) > now || Date.parse(certificate.validTo) < now) {
      return failure(
        'certificate-expired',
        `${subjectOf(certificate)} is valid only from ${certificate.validFrom} to ${certificate.validTo}`,
      );
    }
  }
  const leaf = chain[0]!;
  const named = referenceNames.some(
    (name) =>
      leaf.checkHost(name, { subject: 'default', wildcards: true, partialWildcards: false }) !== undefined,
  );
  if (!named) {
    return failure(
      'certificate-host-mismatch',
      `the certificate names ${leaf.subjectAltName ?? leaf.subject}, not ${referenceNames.join(' or ')}`,
    );
  }
  return { ok: true };
}

function publicKeyOf(spki: Uint8Array): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function subjectOf(certificate: X509Certificate): string {
  return `"${certificate.subject.replace(/\n/g, ', ')}"`;
}

function failure(resultType: TlsResultType, detail: string): TlsCheck {
  return { ok: false, resultType, detail: `DANE: ${detail}` };
}
