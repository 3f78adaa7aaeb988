// The parts of a DMARC record (RFC 7489 §6.3) an aggregate report repeats in
// policy_published, and where it goes (`rua`). The record was found and judged by mailauth
// at the end of DATA; this reads its text again for the report, with the defaults of §6.3.

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface PublishedDmarcPolicy {
  readonly p: DmarcPolicy;
  /** Defaults to `p` (§6.3). */
  readonly sp: DmarcPolicy;
  /** 0–100, default 100. */
  readonly pct: number;
  readonly adkim: 'r' | 's';
  readonly aspf: 'r' | 's';
  /** Failure reporting options as published, default "0". */
  readonly fo: string;
  /** The `rua` tag as published ('' when absent): parseReportUris reads it. */
  readonly rua: string;
}

/** The longest `rua` kept: a record is at most a few hundred octets in practice. */
const MAX_RUA_LENGTH = 1024;
const MAX_FO_LENGTH = 32;

/**
 * The record's tags; undefined when it is not a DMARC record at all (no `v=DMARC1` first).
 * An invalid `p` with a `rua` is read as `none` (§6.6.3: the record is still used for
 * reporting); unknown tags are ignored (§6.3).
 */
export function parseDmarcRecord(text: string): PublishedDmarcPolicy | undefined {
  const tags = new Map<string, string>();
  const parts = text.split(';').map((part) => part.trim());
  if (!/^v\s*=\s*DMARC1$/i.test(parts[0] ?? '')) return undefined;
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const tag = part.slice(0, eq).trim().toLowerCase();
    if (!tags.has(tag)) tags.set(tag, part.slice(eq + 1).trim());
  }
  const p = policyOf(tags.get('p')) ?? 'none';
  const pct = Number(tags.get('pct') ?? '100');
  return {
    p,
    sp: policyOf(tags.get('sp')) ?? p,
    pct: Number.isInteger(pct) && pct >= 0 && pct <= 100 ? pct : 100,
    adkim: alignmentOf(tags.get('adkim')),
    aspf: alignmentOf(tags.get('aspf')),
    fo: (tags.get('fo') || '0').slice(0, MAX_FO_LENGTH),
    rua: (tags.get('rua') ?? '').slice(0, MAX_RUA_LENGTH),
  };
}

function policyOf(value: string | undefined): DmarcPolicy | undefined {
  const lower = value?.toLowerCase();
  return lower === 'none' || lower === 'quarantine' || lower === 'reject' ? lower : undefined;
}

function alignmentOf(value: string | undefined): 'r' | 's' {
  return value?.toLowerCase() === 's' ? 's' : 'r';
}

/** The TXT record of `_dmarc.<domain>` (or its authorization twin) among a name's strings. */
export function isDmarcRecord(text: string): boolean {
  return /^v\s*=\s*DMARC1\s*(;|$)/i.test(text.trim());
}
