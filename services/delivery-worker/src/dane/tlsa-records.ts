// TLSA records (RFC 6698 §2.1, names of RFC 7218) as SMTP uses them (RFC 7672 §3.1): which
// ones a client can use, and how they are written for logs and TLS-RPT.

/** One TLSA record as the resolver gives it. */
export interface TlsaRecordData {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Uint8Array;
}

export const TlsaUsage = { PkixTa: 0, PkixEe: 1, DaneTa: 2, DaneEe: 3 } as const;
export const TlsaSelector = { Cert: 0, Spki: 1 } as const;
export const TlsaMatching = { Full: 0, Sha256: 1, Sha512: 2 } as const;

/** A record this client can use: DANE-TA or DANE-EE, a known selector and matching type. */
export interface UsableTlsaRecord extends TlsaRecordData {
  readonly usage: typeof TlsaUsage.DaneTa | typeof TlsaUsage.DaneEe;
  readonly selector: typeof TlsaSelector.Cert | typeof TlsaSelector.Spki;
  readonly matchingType: (typeof TlsaMatching)[keyof typeof TlsaMatching];
}

const DIGEST_LENGTH: Record<number, number> = { [TlsaMatching.Sha256]: 32, [TlsaMatching.Sha512]: 64 };

/**
 * The records a client can use. RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for
 * SMTP (an MTA has no agreed set of public CAs); unknown usages, selectors and matching types
 * are unusable (RFC 7672 §2.2), and so is a digest of the wrong length or empty data (it can
 * match nothing). RFC 7671 §9 (digest algorithm agility, RFC 7672 §5): for each usage and
 * selector only the strongest digest published is used, so a weaker digest left beside a
 * stronger one cannot be forged against.
 */
export function usableTlsaRecords(records: readonly TlsaRecordData[]): UsableTlsaRecord[] {
  const wellFormed = records.filter(isUsable);
  const strongest = new Map<string, number>();
  for (const record of wellFormed) {
    if (record.matchingType === TlsaMatching.Full) continue;
    const key = `${record.usage} ${record.selector}`;
    strongest.set(key, Math.max(strongest.get(key) ?? 0, record.matchingType));
  }
  return wellFormed.filter(
    (record) =>
      record.matchingType === TlsaMatching.Full ||
      record.matchingType === strongest.get(`${record.usage} ${record.selector}`),
  );
}

function isUsable(record: TlsaRecordData): record is UsableTlsaRecord {
  if (record.usage !== TlsaUsage.DaneTa && record.usage !== TlsaUsage.DaneEe) return false;
  if (record.selector !== TlsaSelector.Cert && record.selector !== TlsaSelector.Spki) return false;
  if (record.matchingType === TlsaMatching.Full) return record.data.length > 0;
  const length = DIGEST_LENGTH[record.matchingType];
  return length !== undefined && record.data.length === length;
}

/** Presentation format (RFC 6698 §2.2), as a zone file and TLS-RPT's policy-string write it. */
export function tlsaPresentation(record: TlsaRecordData): string {
  const hex = Buffer.from(record.data).toString('hex');
  return `${record.usage} ${record.selector} ${record.matchingType} ${hex}`;
}

/** A short name for logs and failure details, e.g. "DANE-EE SPKI SHA2-256" (RFC 7218). */
export function tlsaParameterNames(record: TlsaRecordData): string {
  const usage = ['PKIX-TA', 'PKIX-EE', 'DANE-TA', 'DANE-EE'][record.usage] ?? `usage ${record.usage}`;
  const selector = ['Cert', 'SPKI'][record.selector] ?? `selector ${record.selector}`;
  const matching = ['Full', 'SHA2-256', 'SHA2-512'][record.matchingType] ?? `matching ${record.matchingType}`;
  return `${usage} ${selector} ${matching}`;
}
