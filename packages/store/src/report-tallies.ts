import { createHash } from 'node:crypto';
import type { Queryable } from './db.js';

// The counts TLS-RPT and DMARC aggregate reports are made of (migration 0012): one row per
// UTC day and distinct set of reported fields, its count added to by each upsert. Callers
// batch (tally-buffer.ts), so one upsert carries many counts and costs one round trip.

/** One outbound TLS session's outcome, as RFC 8460 §4.4 reports it. */
export interface TlsResultTally {
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly policyDomain: string;
  readonly policyType: 'sts' | 'tlsa' | 'no-policy-found';
  readonly policyStrings: readonly string[];
  readonly mxHostPatterns: readonly string[];
  /** 'success' or an RFC 8460 §4.3 result type. */
  readonly resultType: string;
  /** '' when unknown. */
  readonly sendingIp: string;
  readonly receivingIp: string;
  readonly receivingMxHost: string;
  /** '' on success. */
  readonly failureReason: string;
}

/** One received message's DMARC evaluation, as an RFC 7489 aggregate report record reports it. */
export interface DmarcResultTally {
  readonly day: string;
  /** Where the DMARC record was found. */
  readonly policyDomain: string;
  readonly headerFrom: string;
  readonly envelopeFrom: string;
  readonly sourceIp: string;
  readonly disposition: 'none' | 'quarantine' | 'reject';
  readonly dkimAligned: boolean;
  readonly spfAligned: boolean;
  readonly reasons: readonly { readonly type: string; readonly comment?: string | undefined }[];
  readonly dkimResults: readonly {
    readonly domain: string;
    readonly selector: string;
    readonly result: string;
  }[];
  readonly spf: { readonly domain: string; readonly scope: 'mfrom' | 'helo'; readonly result: string };
  readonly published: {
    readonly p: string;
    readonly sp: string;
    readonly pct: number;
    readonly adkim: string;
    readonly aspf: string;
    readonly fo: string;
  };
  /** The record's rua tag as published: not part of the key, the latest seen is kept. */
  readonly rua: string;
}

export interface Counted<T> {
  readonly tally: T;
  readonly count: number;
}

// Bounds on what one row keeps: the fields come from other people's DNS and messages.
const MAX_TEXT = 255;
const MAX_POLICY_TEXT = 2048;
const MAX_LIST = 16;

function cut(text: string, max = MAX_TEXT): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** The tally as it is kept: each field cut to its bound. */
export function boundedTlsTally(t: TlsResultTally): TlsResultTally {
  return {
    day: t.day,
    policyDomain: cut(t.policyDomain),
    policyType: t.policyType,
    policyStrings: t.policyStrings.slice(0, MAX_LIST).map((s) => cut(s, MAX_POLICY_TEXT)),
    mxHostPatterns: t.mxHostPatterns.slice(0, MAX_LIST).map((s) => cut(s)),
    resultType: cut(t.resultType, 64),
    sendingIp: cut(t.sendingIp, 64),
    receivingIp: cut(t.receivingIp, 64),
    receivingMxHost: cut(t.receivingMxHost),
    failureReason: cut(t.failureReason),
  };
}

export function boundedDmarcTally(t: DmarcResultTally): DmarcResultTally {
  return {
    ...t,
    policyDomain: cut(t.policyDomain),
    headerFrom: cut(t.headerFrom),
    envelopeFrom: cut(t.envelopeFrom),
    sourceIp: cut(t.sourceIp, 64),
    reasons: t.reasons
      .slice(0, 4)
      .map((r) => ({ type: cut(r.type, 32), ...(r.comment && { comment: cut(r.comment) }) })),
    dkimResults: t.dkimResults
      .slice(0, 8)
      .map((d) => ({ domain: cut(d.domain), selector: cut(d.selector, 64), result: cut(d.result, 16) })),
    spf: { domain: cut(t.spf.domain), scope: t.spf.scope, result: cut(t.spf.result, 16) },
    published: { ...t.published, fo: cut(t.published.fo, 32) },
    rua: cut(t.rua, 1024),
  };
}

/** The digest that makes a row: every reported field but the day. */
export function tlsTallyKey(t: TlsResultTally): string {
  return digest([
    t.policyDomain,
    t.policyType,
    t.policyStrings,
    t.mxHostPatterns,
    t.resultType,
    t.sendingIp,
    t.receivingIp,
    t.receivingMxHost,
    t.failureReason,
  ]);
}

/** Every reported field but the day and the rua (which the report does not repeat). */
export function dmarcTallyKey(t: DmarcResultTally): string {
  return digest([
    t.policyDomain,
    t.headerFrom,
    t.envelopeFrom,
    t.sourceIp,
    t.disposition,
    t.dkimAligned,
    t.spfAligned,
    t.reasons.map((r) => [r.type, r.comment ?? '']),
    t.dkimResults.map((d) => [d.domain, d.selector, d.result]),
    [t.spf.domain, t.spf.scope, t.spf.result],
    [t.published.p, t.published.sp, t.published.pct, t.published.adkim, t.published.aspf, t.published.fo],
  ]);
}

function digest(fields: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('base64url');
}

/** Adds the counts, one statement for all of them. Keys must be distinct within one call. */
export async function recordTlsResults(
  db: Queryable,
  counts: readonly Counted<TlsResultTally>[],
): Promise<void> {
  if (counts.length === 0) return;
  const rows = counts.map(({ tally, count }) => {
    const t = boundedTlsTally(tally);
    return {
      day: t.day,
      key: tlsTallyKey(t),
      policy_domain: t.policyDomain,
      policy_type: t.policyType,
      policy_strings: t.policyStrings,
      mx_host_patterns: t.mxHostPatterns,
      result_type: t.resultType,
      sending_ip: t.sendingIp,
      receiving_ip: t.receivingIp,
      receiving_mx_host: t.receivingMxHost,
      failure_reason: t.failureReason,
      count,
    };
  });
  await db.query(
    `INSERT INTO tls_report_results (day, key, policy_domain, policy_type, policy_strings, mx_host_patterns,
                                     result_type, sending_ip, receiving_ip, receiving_mx_host, failure_reason,
                                     session_count)
     SELECT r.day, r.key, r.policy_domain, r.policy_type,
            ARRAY(SELECT e FROM jsonb_array_elements_text(r.policy_strings) WITH ORDINALITY AS x(e, n) ORDER BY n),
            ARRAY(SELECT e FROM jsonb_array_elements_text(r.mx_host_patterns) WITH ORDINALITY AS x(e, n) ORDER BY n),
            r.result_type, r.sending_ip, r.receiving_ip, r.receiving_mx_host, r.failure_reason, r.count
       FROM jsonb_to_recordset($1::jsonb) AS r(day date, key text, policy_domain text, policy_type text,
            policy_strings jsonb, mx_host_patterns jsonb, result_type text, sending_ip text, receiving_ip text,
            receiving_mx_host text, failure_reason text, count bigint)
     ON CONFLICT (day, key) DO UPDATE
        SET session_count = tls_report_results.session_count + EXCLUDED.session_count, last_seen = now()`,
    [JSON.stringify(rows)],
  );
}

export async function recordDmarcResults(
  db: Queryable,
  counts: readonly Counted<DmarcResultTally>[],
): Promise<void> {
  if (counts.length === 0) return;
  const rows = counts.map(({ tally, count }) => {
    const t = boundedDmarcTally(tally);
    return {
      day: t.day,
      key: dmarcTallyKey(t),
      policy_domain: t.policyDomain,
      header_from: t.headerFrom,
      envelope_from: t.envelopeFrom,
      source_ip: t.sourceIp,
      disposition: t.disposition,
      dkim_aligned: t.dkimAligned,
      spf_aligned: t.spfAligned,
      reasons: t.reasons,
      dkim_results: t.dkimResults,
      spf_domain: t.spf.domain,
      spf_scope: t.spf.scope,
      spf_result: t.spf.result,
      policy_p: t.published.p,
      policy_sp: t.published.sp,
      policy_pct: t.published.pct,
      policy_adkim: t.published.adkim,
      policy_aspf: t.published.aspf,
      policy_fo: t.published.fo,
      rua: t.rua,
      count,
    };
  });
  await db.query(
    `INSERT INTO dmarc_report_records (day, key, policy_domain, header_from, envelope_from, source_ip, disposition,
                                       dkim_aligned, spf_aligned, reasons, dkim_results, spf_domain, spf_scope,
                                       spf_result, policy_p, policy_sp, policy_pct, policy_adkim, policy_aspf,
                                       policy_fo, rua, message_count)
     SELECT r.day, r.key, r.policy_domain, r.header_from, r.envelope_from, r.source_ip, r.disposition,
            r.dkim_aligned, r.spf_aligned, r.reasons, r.dkim_results, r.spf_domain, r.spf_scope, r.spf_result,
            r.policy_p, r.policy_sp, r.policy_pct, r.policy_adkim, r.policy_aspf, r.policy_fo, r.rua, r.count
       FROM jsonb_to_recordset($1::jsonb) AS r(day date, key text, policy_domain text, header_from text,
            envelope_from text, source_ip text, disposition text, dkim_aligned boolean, spf_aligned boolean,
            reasons jsonb, dkim_results jsonb, spf_domain text, spf_scope text, spf_result text, policy_p text,
            policy_sp text, policy_pct integer, policy_adkim text, policy_aspf text, policy_fo text, rua text,
            count bigint)
     ON CONFLICT (day, key) DO UPDATE
        SET message_count = dmarc_report_records.message_count + EXCLUDED.message_count,
            rua = EXCLUDED.rua, last_seen = now()`,
    [JSON.stringify(rows)],
  );
}

/** A day's TLS results for one policy domain, with their session counts. */
export async function tlsResultsFor(
  db: Queryable,
  day: string,
  policyDomain: string,
): Promise<Counted<TlsResultTally>[]> {
  const result = await db.query(
    `SELECT policy_type, policy_strings, mx_host_patterns, result_type, sending_ip, receiving_ip,
            receiving_mx_host, failure_reason, session_count
       FROM tls_report_results WHERE day = $1::date AND policy_domain = $2
      ORDER BY policy_type, result_type, receiving_mx_host, receiving_ip`,
    [day, policyDomain],
  );
  return result.rows.map((row) => ({
    tally: {
      day,
      policyDomain,
      policyType: row.policy_type,
      policyStrings: row.policy_strings,
      mxHostPatterns: row.mx_host_patterns,
      resultType: row.result_type,
      sendingIp: row.sending_ip,
      receivingIp: row.receiving_ip,
      receivingMxHost: row.receiving_mx_host,
      failureReason: row.failure_reason,
    },
    count: Number(row.session_count),
  }));
}

/** A day's DMARC records for one policy domain, the most recently seen first. */
export async function dmarcResultsFor(
  db: Queryable,
  day: string,
  policyDomain: string,
): Promise<Counted<DmarcResultTally>[]> {
  const result = await db.query(
    `SELECT * FROM dmarc_report_records WHERE day = $1::date AND policy_domain = $2
      ORDER BY last_seen DESC, key`,
    [day, policyDomain],
  );
  return result.rows.map((row) => ({
    tally: {
      day,
      policyDomain,
      headerFrom: row.header_from,
      envelopeFrom: row.envelope_from,
      sourceIp: row.source_ip,
      disposition: row.disposition,
      dkimAligned: row.dkim_aligned,
      spfAligned: row.spf_aligned,
      reasons: row.reasons,
      dkimResults: row.dkim_results,
      spf: { domain: row.spf_domain, scope: row.spf_scope, result: row.spf_result },
      published: {
        p: row.policy_p,
        sp: row.policy_sp,
        pct: row.policy_pct,
        adkim: row.policy_adkim,
        aspf: row.policy_aspf,
        fo: row.policy_fo,
      },
      rua: row.rua,
    },
    count: Number(row.message_count),
  }));
}
