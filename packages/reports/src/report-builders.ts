import type { Counted, DmarcResultTally, TlsResultTally } from '@tegami/store';
import type {
  DkimResult,
  DmarcAggregateReport,
  DmarcReportRecord,
  PolicyOverride,
  SpfResult,
} from './dmarc-aggregate-xml.js';
import type { DmarcPolicy } from './dmarc-record.js';
import { dayRange } from './report-day.js';
import type { TlsFailureDetail, TlsReport, TlsReportPolicy } from './tls-report-json.js';

// A day's counts of one domain, as the report that tells of them.

export interface Reporter {
  readonly orgName: string;
  readonly contact: string;
  readonly reportId: string;
}

/** RFC 8460 §4.4: one `policies` entry per policy that applied, its failures by what failed where. */
export function tlsReportOf(
  reporter: Reporter,
  day: string,
  policyDomain: string,
  counts: readonly Counted<TlsResultTally>[],
): TlsReport {
  const policies = new Map<
    string,
    { policy: Omit<TlsReportPolicy, 'failureDetails'>; details: Map<string, TlsFailureDetail> }
  >();
  for (const { tally, count } of counts) {
    const policyKey = JSON.stringify([tally.policyType, tally.policyStrings, tally.mxHostPatterns]);
    let entry = policies.get(policyKey);
    if (!entry) {
      entry = {
        policy: {
          policyType: tally.policyType,
          policyStrings: tally.policyStrings,
          policyDomain,
          mxHosts: tally.mxHostPatterns,
          successfulSessions: 0,
          failedSessions: 0,
        },
        details: new Map(),
      };
      policies.set(policyKey, entry);
    }
    if (tally.resultType === 'success') {
      entry.policy = { ...entry.policy, successfulSessions: entry.policy.successfulSessions + count };
      continue;
    }
    entry.policy = { ...entry.policy, failedSessions: entry.policy.failedSessions + count };
    const detailKey = JSON.stringify([
      tally.resultType,
      tally.sendingIp,
      tally.receivingMxHost,
      tally.receivingIp,
      tally.failureReason,
    ]);
    const detail = entry.details.get(detailKey);
    entry.details.set(detailKey, {
      resultType: tally.resultType,
      ...(tally.sendingIp && { sendingMtaIp: tally.sendingIp }),
      ...(tally.receivingMxHost && { receivingMxHostname: tally.receivingMxHost }),
      ...(tally.receivingIp && { receivingIp: tally.receivingIp }),
      ...(tally.failureReason && { failureReasonCode: tally.failureReason }),
      failedSessionCount: (detail?.failedSessionCount ?? 0) + count,
    });
  }
  const { begin, end } = dayRange(day);
  return {
    organizationName: reporter.orgName,
    contactInfo: reporter.contact,
    reportId: reporter.reportId,
    begin,
    end,
    policies: [...policies.values()].map(({ policy, details }) => ({
      ...policy,
      failureDetails: [...details.values()],
    })),
  };
}

/**
 * RFC 7489 §7.2: one record per distinct row; the published policy is the one seen last
 * (`counts` come most recent first), should the domain have changed it during the day.
 */
export function dmarcReportOf(
  reporter: Reporter,
  day: string,
  policyDomain: string,
  counts: readonly Counted<DmarcResultTally>[],
): DmarcAggregateReport {
  const latest = counts[0]!.tally.published;
  const { begin, end } = dayRange(day);
  return {
    orgName: reporter.orgName,
    email: reporter.contact,
    reportId: reporter.reportId,
    begin,
    end,
    policyDomain,
    policy: {
      p: member(latest.p, POLICIES, 'none'),
      sp: member(latest.sp, POLICIES, 'none'),
      pct: latest.pct,
      adkim: latest.adkim === 's' ? 's' : 'r',
      aspf: latest.aspf === 's' ? 's' : 'r',
      fo: latest.fo,
    },
    records: counts.map(({ tally, count }) => recordOf(tally, count)),
  };
}

function recordOf(t: DmarcResultTally, count: number): DmarcReportRecord {
  return {
    sourceIp: t.sourceIp,
    count,
    disposition: t.disposition,
    dkim: t.dkimAligned ? 'pass' : 'fail',
    spf: t.spfAligned ? 'pass' : 'fail',
    reasons: t.reasons.map((r) => ({
      type: member(r.type, OVERRIDES, 'other'),
      ...(r.comment && { comment: r.comment }),
    })),
    envelopeFrom: t.envelopeFrom,
    headerFrom: t.headerFrom,
    dkimResults: t.dkimResults.map((d) => ({
      domain: d.domain,
      ...(d.selector && { selector: d.selector }),
      result: member(d.result, DKIM_RESULTS, 'neutral'),
    })),
    spfResults: [
      { domain: t.spf.domain, scope: t.spf.scope, result: member(t.spf.result, SPF_RESULTS, 'none') },
    ],
  };
}

// The schema's enumerations: a row holding anything else (written by an older version, say)
// is reported as the nearest value that says "unknown" rather than as an invalid report.
const POLICIES: readonly DmarcPolicy[] = ['none', 'quarantine', 'reject'];
const OVERRIDES: readonly PolicyOverride[] = [
  'forwarded',
  'sampled_out',
  'trusted_forwarder',
  'mailing_list',
  'local_policy',
  'other',
];
const DKIM_RESULTS: readonly DkimResult[] = [
  'none',
  'pass',
  'fail',
  'policy',
  'neutral',
  'temperror',
  'permerror',
];
const SPF_RESULTS: readonly SpfResult[] = [
  'none',
  'neutral',
  'pass',
  'fail',
  'softfail',
  'temperror',
  'permerror',
];

function member<T extends string>(value: string, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}
