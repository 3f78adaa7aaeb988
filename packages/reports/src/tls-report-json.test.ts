import { validateTlsReportJson } from '@tegami/testing';
import { describe, expect, it } from 'vitest';
import { type TlsReport, tlsReportJson } from './tls-report-json.js';

const report: TlsReport = {
  organizationName: 'Example Mail',
  contactInfo: 'noreply-reports@example.test',
  reportId: '2026-05-01.9f8e7d6c@example.test',
  begin: new Date('2026-05-01T00:00:00Z'),
  end: new Date('2026-05-01T23:59:59Z'),
  policies: [
    {
      policyType: 'sts',
      policyStrings: ['version: STSv1', 'mode: enforce', 'mx: *.mail.receiver.test', 'max_age: 86400'],
      policyDomain: 'receiver.test',
      mxHosts: ['*.mail.receiver.test'],
      successfulSessions: 12,
      failedSessions: 2,
      failureDetails: [
        {
          resultType: 'certificate-expired',
          sendingMtaIp: '192.0.2.5',
          receivingMxHostname: 'mx1.mail.receiver.test',
          receivingIp: '198.51.100.20',
          failedSessionCount: 2,
          failureReasonCode: 'CERT_HAS_EXPIRED',
        },
      ],
    },
    {
      policyType: 'no-policy-found',
      policyStrings: [],
      policyDomain: 'receiver.test',
      mxHosts: [],
      successfulSessions: 4,
      failedSessions: 0,
      failureDetails: [],
    },
  ],
};

describe('the TLS-RPT report', () => {
  it('is valid against the JSON Schema of RFC 8460 §4.4', () => {
    const verdict = validateTlsReportJson(tlsReportJson(report));
    expect(verdict.errors).toBe('');
    expect(verdict.valid).toBe(true);
  });

  it('has the fields and counts of §4.4', () => {
    const json = tlsReportJson(report) as {
      'date-range': Record<string, string>;
      policies: {
        policy: Record<string, unknown>;
        summary: Record<string, number>;
        'failure-details'?: unknown[];
      }[];
    };
    expect(json['date-range']).toEqual({
      'start-datetime': '2026-05-01T00:00:00Z',
      'end-datetime': '2026-05-01T23:59:59Z',
    });
    expect(json.policies[0]!.policy['mx-host']).toEqual(['*.mail.receiver.test']);
    expect(json.policies[0]!.summary).toEqual({
      'total-successful-session-count': 12,
      'total-failure-session-count': 2,
    });
    // No policy: no policy text, no details when nothing failed.
    expect(json.policies[1]!.policy).toEqual({
      'policy-type': 'no-policy-found',
      'policy-domain': 'receiver.test',
    });
    expect(json.policies[1]!['failure-details']).toBeUndefined();
  });

  it('is refused by the schema with an unknown result type (the validator can fail)', () => {
    const broken = tlsReportJson({
      ...report,
      policies: [
        { ...report.policies[0]!, failureDetails: [{ resultType: 'tls-was-sad', failedSessionCount: 1 }] },
      ],
    });
    expect(validateTlsReportJson(broken).valid).toBe(false);
  });
});
