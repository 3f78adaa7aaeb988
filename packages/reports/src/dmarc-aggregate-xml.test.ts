import { validateDmarcReportXml } from '@tegami/testing';
import { describe, expect, it } from 'vitest';
import {
  type DmarcAggregateReport,
  dmarcAggregateXml,
  escapeXml,
  schemaAddress,
} from './dmarc-aggregate-xml.js';

const report: DmarcAggregateReport = {
  orgName: 'mx.example.test',
  email: 'noreply-reports@example.test',
  reportId: '2026-05-01.0a1b2c3d@example.test',
  begin: new Date('2026-05-01T00:00:00Z'),
  end: new Date('2026-05-01T23:59:59Z'),
  policyDomain: 'sender.test',
  policy: { p: 'reject', sp: 'quarantine', pct: 100, adkim: 'r', aspf: 's', fo: '0' },
  records: [
    {
      sourceIp: '192.0.2.10',
      count: 3,
      disposition: 'none',
      dkim: 'pass',
      spf: 'pass',
      reasons: [],
      envelopeFrom: 'sender.test',
      headerFrom: 'sender.test',
      dkimResults: [{ domain: 'sender.test', selector: 's1', result: 'pass' }],
      spfResults: [{ domain: 'sender.test', scope: 'mfrom', result: 'pass' }],
    },
    {
      sourceIp: '2001:db8::25',
      count: 1,
      disposition: 'quarantine',
      dkim: 'fail',
      spf: 'fail',
      reasons: [{ type: 'local_policy', comment: 'TEGAMI_DMARC_ENFORCEMENT=quarantine' }],
      envelopeFrom: '',
      headerFrom: 'mail.sender.test',
      dkimResults: [],
      spfResults: [{ domain: 'helo.example', scope: 'helo', result: 'softfail' }],
    },
  ],
};

describe('the DMARC aggregate report', () => {
  it('is valid against the schema of RFC 7489 Appendix C', async () => {
    const verdict = await validateDmarcReportXml(dmarcAggregateXml(report));
    expect(verdict.errors).toBe('');
    expect(verdict.valid).toBe(true);
  });

  it('carries the counts, the published policy and each record', () => {
    const xml = dmarcAggregateXml(report);
    expect(xml).toContain('<date_range>\n      <begin>1777593600</begin>\n      <end>1777679999</end>');
    expect(xml).toContain('<policy_published>\n    <domain>sender.test</domain>');
    expect(xml).toContain('<sp>quarantine</sp>');
    expect(xml).toContain('<source_ip>2001:db8:0:0:0:0:0:25</source_ip>');
    expect(xml).toContain('<count>3</count>');
    expect(xml).toContain('<reason>\n          <type>local_policy</type>');
    expect(xml.match(/<record>/g)).toHaveLength(2);
  });

  it('is refused by the schema when a record lacks its SPF result (the validator can fail)', async () => {
    const broken = dmarcAggregateXml({ ...report, records: [{ ...report.records[0]!, spfResults: [] }] });
    const verdict = await validateDmarcReportXml(broken);
    expect(verdict.valid).toBe(false);
    expect(verdict.errors).toMatch(/spf/);
  });

  it('escapes markup and drops what XML cannot carry from names found in DNS and messages', async () => {
    const xml = dmarcAggregateXml({
      ...report,
      records: [{ ...report.records[0]!, headerFrom: 'a<b>&"c\u0001.test' }],
    });
    expect(xml).toContain('<header_from>a&lt;b&gt;&amp;&quot;c.test</header_from>');
    expect((await validateDmarcReportXml(xml)).valid).toBe(true);
    expect(escapeXml("it's")).toBe('it&apos;s');
  });

  it('writes addresses as the schema wants them', () => {
    expect(schemaAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(schemaAddress('::1')).toBe('0:0:0:0:0:0:0:1');
    expect(schemaAddress('198.51.100.7')).toBe('198.51.100.7');
  });
});
