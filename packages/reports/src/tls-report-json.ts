// The TLS-RPT aggregate report (RFC 8460 §4.4): one per policy domain and day, one entry in
// `policies` per policy that applied, each with its session counts and failure details.

export type TlsPolicyType = 'sts' | 'tlsa' | 'no-policy-found';

export interface TlsFailureDetail {
  readonly resultType: string;
  readonly sendingMtaIp?: string | undefined;
  readonly receivingMxHostname?: string | undefined;
  readonly receivingIp?: string | undefined;
  readonly failedSessionCount: number;
  readonly failureReasonCode?: string | undefined;
}

export interface TlsReportPolicy {
  readonly policyType: TlsPolicyType;
  readonly policyStrings: readonly string[];
  readonly policyDomain: string;
  /** MTA-STS: the policy's mx patterns. */
  readonly mxHosts: readonly string[];
  readonly successfulSessions: number;
  readonly failedSessions: number;
  readonly failureDetails: readonly TlsFailureDetail[];
}

export interface TlsReport {
  readonly organizationName: string;
  readonly contactInfo: string;
  readonly reportId: string;
  readonly begin: Date;
  readonly end: Date;
  readonly policies: readonly TlsReportPolicy[];
}

/** The report as the JSON object of §4.4 (JSON.stringify it). */
export function tlsReportJson(report: TlsReport): Record<string, unknown> {
  return {
    'organization-name': report.organizationName,
    'date-range': {
      'start-datetime': rfc3339(report.begin),
      'end-datetime': rfc3339(report.end),
    },
    'contact-info': report.contactInfo,
    'report-id': report.reportId,
    policies: report.policies.map((p) => ({
      policy: {
        'policy-type': p.policyType,
        // §4.4: no policy, no policy text to repeat.
        ...(p.policyType !== 'no-policy-found' && { 'policy-string': [...p.policyStrings] }),
        'policy-domain': p.policyDomain,
        ...(p.mxHosts.length > 0 && { 'mx-host': [...p.mxHosts] }),
      },
      summary: {
        'total-successful-session-count': p.successfulSessions,
        'total-failure-session-count': p.failedSessions,
      },
      ...(p.failureDetails.length > 0 && {
        'failure-details': p.failureDetails.map((d) => ({
          'result-type': d.resultType,
          ...(d.sendingMtaIp && { 'sending-mta-ip': d.sendingMtaIp }),
          ...(d.receivingMxHostname && { 'receiving-mx-hostname': d.receivingMxHostname }),
          ...(d.receivingIp && { 'receiving-ip': d.receivingIp }),
          'failed-session-count': d.failedSessionCount,
          ...(d.failureReasonCode && { 'failure-reason-code': d.failureReasonCode }),
        })),
      }),
    })),
  };
}

/** RFC 3339 in UTC without fractions: `2026-05-01T00:00:00Z`. */
function rfc3339(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}
