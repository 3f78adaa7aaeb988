import { addressBytes } from '@tegami/rpc';
import type { PublishedDmarcPolicy } from './dmarc-record.js';
import { epochSeconds } from './report-day.js';

// The DMARC aggregate report (RFC 7489 §7.2 and the schema of its Appendix C): one per
// policy domain and day, one <record> per distinct row of results.

export type DkimResult = 'none' | 'pass' | 'fail' | 'policy' | 'neutral' | 'temperror' | 'permerror';
export type SpfResult = 'none' | 'neutral' | 'pass' | 'fail' | 'softfail' | 'temperror' | 'permerror';
export type PolicyOverride =
  | 'forwarded'
  | 'sampled_out'
  | 'trusted_forwarder'
  | 'mailing_list'
  | 'local_policy'
  | 'other';

export interface DmarcReportRecord {
  readonly sourceIp: string;
  readonly count: number;
  readonly disposition: 'none' | 'quarantine' | 'reject';
  /** DMARC-aligned DKIM and SPF (policy_evaluated). */
  readonly dkim: 'pass' | 'fail';
  readonly spf: 'pass' | 'fail';
  readonly reasons: readonly { readonly type: PolicyOverride; readonly comment?: string | undefined }[];
  /** The RFC5321.MailFrom domain ('' for the null reverse-path). */
  readonly envelopeFrom: string;
  readonly headerFrom: string;
  readonly dkimResults: readonly {
    readonly domain: string;
    readonly selector?: string | undefined;
    readonly result: DkimResult;
  }[];
  /** At least one (the schema says so): the MAIL FROM check, or the HELO one for <>. */
  readonly spfResults: readonly {
    readonly domain: string;
    readonly scope: 'helo' | 'mfrom';
    readonly result: SpfResult;
  }[];
}

export interface DmarcAggregateReport {
  readonly orgName: string;
  readonly email: string;
  readonly extraContactInfo?: string | undefined;
  readonly reportId: string;
  readonly begin: Date;
  readonly end: Date;
  /** The domain at which the DMARC record was found. */
  readonly policyDomain: string;
  readonly policy: Omit<PublishedDmarcPolicy, 'rua'>;
  readonly records: readonly DmarcReportRecord[];
}

export function dmarcAggregateXml(report: DmarcAggregateReport): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<feedback>', '  <version>1.0</version>'];
  lines.push(
    '  <report_metadata>',
    element(4, 'org_name', report.orgName),
    element(4, 'email', report.email),
    ...(report.extraContactInfo ? [element(4, 'extra_contact_info', report.extraContactInfo)] : []),
    element(4, 'report_id', report.reportId),
    '    <date_range>',
    element(6, 'begin', String(epochSeconds(report.begin))),
    element(6, 'end', String(epochSeconds(report.end))),
    '    </date_range>',
    '  </report_metadata>',
    '  <policy_published>',
    element(4, 'domain', report.policyDomain),
    element(4, 'adkim', report.policy.adkim),
    element(4, 'aspf', report.policy.aspf),
    element(4, 'p', report.policy.p),
    element(4, 'sp', report.policy.sp),
    element(4, 'pct', String(report.policy.pct)),
    element(4, 'fo', report.policy.fo),
    '  </policy_published>',
  );
  for (const record of report.records) lines.push(...recordLines(record));
  lines.push('</feedback>', '');
  return lines.join('\n');
}

function recordLines(r: DmarcReportRecord): string[] {
  return [
    '  <record>',
    '    <row>',
    element(6, 'source_ip', schemaAddress(r.sourceIp)),
    element(6, 'count', String(r.count)),
    '      <policy_evaluated>',
    element(8, 'disposition', r.disposition),
    element(8, 'dkim', r.dkim),
    element(8, 'spf', r.spf),
    ...r.reasons.flatMap((reason) => [
      '        <reason>',
      element(10, 'type', reason.type),
      ...(reason.comment ? [element(10, 'comment', reason.comment)] : []),
      '        </reason>',
    ]),
    '      </policy_evaluated>',
    '    </row>',
    '    <identifiers>',
    element(6, 'envelope_from', r.envelopeFrom),
    element(6, 'header_from', r.headerFrom),
    '    </identifiers>',
    '    <auth_results>',
    ...r.dkimResults.flatMap((d) => [
      '      <dkim>',
      element(8, 'domain', d.domain),
      ...(d.selector ? [element(8, 'selector', d.selector)] : []),
      element(8, 'result', d.result),
      '      </dkim>',
    ]),
    ...r.spfResults.flatMap((s) => [
      '      <spf>',
      element(8, 'domain', s.domain),
      element(8, 'scope', s.scope),
      element(8, 'result', s.result),
      '      </spf>',
    ]),
    '    </auth_results>',
    '  </record>',
  ];
}

function element(indent: number, name: string, text: string): string {
  return `${' '.repeat(indent)}<${name}>${escapeXml(text)}</${name}>`;
}

/**
 * Character data: the five markup characters escaped, and what XML 1.0 cannot carry at all
 * (C0 controls but tab and newlines, lone surrogates, U+FFFE/FFFF) dropped. Domains and
 * selectors come from DNS and from other people's messages.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * The schema's IPAddress type accepts IPv4 dotted quads and IPv6 only in its full form of
 * eight groups, so IPv6 is written that way (`2001:db8::1` → `2001:db8:0:0:0:0:0:1`), and an
 * IPv4 peer of a dual-stack socket as the IPv4 address it is.
 */
export function schemaAddress(address: string): string {
  const bytes = addressBytes(address);
  if (!bytes) return address;
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}
