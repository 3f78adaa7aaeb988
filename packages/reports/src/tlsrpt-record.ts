import { parseReportUris, type ReportDestination } from './report-uri.js';

// The TLSRPT policy of a domain (RFC 8460 §3): the TXT record at `_smtp._tls.<domain>`,
// e.g. `v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/tlsrpt`.

export type TlsRptPolicy =
  | {
      readonly kind: 'found';
      readonly destinations: readonly ReportDestination[];
      readonly problems: readonly string[];
    }
  | { readonly kind: 'none'; readonly why: string };

/**
 * §3: records that do not begin with `v=TLSRPTv1` are discarded; if not exactly one is left,
 * the domain does not implement TLS-RPT. Each record is its character-strings joined.
 */
export function tlsRptPolicyOf(records: readonly string[]): TlsRptPolicy {
  const candidates = records.filter((r) => /^v=TLSRPTv1\s*(;|$)/.test(r));
  if (candidates.length === 0) return { kind: 'none', why: 'no v=TLSRPTv1 record' };
  if (candidates.length > 1) return { kind: 'none', why: `${candidates.length} v=TLSRPTv1 records` };
  let rua: string | undefined;
  for (const field of candidates[0]!.split(';').slice(1)) {
    const eq = field.indexOf('=');
    if (eq <= 0) continue;
    // Field names are case-sensitive (%s"rua=" in the ABNF).
    if (field.slice(0, eq).trim() === 'rua' && rua === undefined) rua = field.slice(eq + 1);
  }
  if (rua === undefined) return { kind: 'none', why: 'the record has no rua' };
  const parsed = parseReportUris(rua, { sizes: false });
  if (parsed.destinations.length === 0)
    return { kind: 'none', why: `no usable rua: ${parsed.problems.join('; ') || 'empty'}` };
  return { kind: 'found', destinations: parsed.destinations, problems: parsed.problems };
}
