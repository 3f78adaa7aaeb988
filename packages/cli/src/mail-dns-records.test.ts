import { describe, expect, it } from 'vitest';
import {
  checkDmarc,
  checkMailDnsRecords,
  checkMtaSts,
  checkSpf,
  checkTlsRpt,
  type TxtAnswer,
} from './mail-dns-records.js';

const found = (...records: string[]): TxtAnswer => ({ kind: 'records', records });
const none: TxtAnswer = { kind: 'none' };
const expectations = { reportAddress: 'postmaster@example.com', mtaStsPolicyId: '20261203abc' };

describe('SPF', () => {
  it('accepts one record ending in -all or ~all', () => {
    expect(checkSpf('example.com', found('google-site-verification=x', 'v=spf1 mx -all')).status).toBe('ok');
    expect(checkSpf('example.com', found('v=spf1 ip4:192.0.2.1 ~all')).status).toBe('ok');
  });
  it('says what to publish when there is none', () => {
    const check = checkSpf('example.com', none);
    expect(check).toMatchObject({ status: 'missing', suggestion: 'example.com. TXT "v=spf1 mx -all"' });
    expect(checkSpf('example.com', found('some other text')).status).toBe('missing');
  });
  it('finds two records invalid and +all or no all a warning', () => {
    expect(checkSpf('example.com', found('v=spf1 mx -all', 'v=spf1 a -all')).status).toBe('invalid');
    expect(checkSpf('example.com', found('v=spf1 mx +all')).detail).toContain('anyone may send');
    expect(checkSpf('example.com', found('v=spf1 mx all')).status).toBe('warning');
    expect(checkSpf('example.com', found('v=spf1 mx')).status).toBe('warning');
  });
  it('reports a lookup failure as unknown, not missing', () => {
    expect(checkSpf('example.com', { kind: 'error', detail: 'SERVFAIL' })).toMatchObject({
      status: 'unknown',
      detail: 'lookup failed: SERVFAIL',
    });
  });
});

describe('DMARC', () => {
  it('wants one record with a policy and rua', () => {
    expect(
      checkDmarc('example.com', found('v=DMARC1; p=reject; rua=mailto:d@example.com'), expectations).status,
    ).toBe('ok');
    expect(checkDmarc('example.com', found('v=DMARC1; p=reject'), expectations).status).toBe('warning');
    expect(
      checkDmarc('example.com', found('v=DMARC1; p=none; rua=mailto:d@example.com'), expectations).status,
    ).toBe('warning');
    expect(checkDmarc('example.com', found('v=DMARC1; p=block'), expectations).status).toBe('invalid');
    expect(
      checkDmarc('example.com', found('v=DMARC1; p=none', 'v=DMARC1; p=reject'), expectations).status,
    ).toBe('invalid');
    expect(checkDmarc('example.com', none, expectations).suggestion).toBe(
      '_dmarc.example.com. TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com"',
    );
  });
});

describe('MTA-STS', () => {
  it('compares the published id with the served policy', () => {
    expect(checkMtaSts('example.com', found('v=STSv1; id=20261203abc'), expectations).status).toBe('ok');
    const stale = checkMtaSts('example.com', found('v=STSv1; id=old1'), expectations);
    expect(stale).toMatchObject({
      status: 'warning',
      suggestion: '_mta-sts.example.com. TXT "v=STSv1; id=20261203abc"',
    });
    expect(checkMtaSts('example.com', found('v=STSv1; id=not-valid!'), expectations).status).toBe('invalid');
    expect(checkMtaSts('example.com', none, expectations).status).toBe('missing');
  });
  it('without a served policy, a missing record is only a warning', () => {
    expect(checkMtaSts('example.com', none, { reportAddress: 'p@example.com' }).status).toBe('warning');
  });
});

describe('TLS-RPT', () => {
  it('wants a mailto: or https: rua', () => {
    expect(
      checkTlsRpt('example.com', found('v=TLSRPTv1; rua=mailto:tls@example.com'), expectations).status,
    ).toBe('ok');
    expect(
      checkTlsRpt('example.com', found('v=TLSRPTv1; rua=https://r.example.com/tls'), expectations).status,
    ).toBe('ok');
    expect(checkTlsRpt('example.com', found('v=TLSRPTv1; rua=ftp://x'), expectations).status).toBe('invalid');
    expect(checkTlsRpt('example.com', none, expectations).status).toBe('missing');
  });
});

describe('checkMailDnsRecords', () => {
  it('looks up the four names and checks each', async () => {
    const zone: Record<string, TxtAnswer> = {
      'example.com': found('v=spf1 mx -all'),
      '_dmarc.example.com': found('v=DMARC1; p=quarantine; rua=mailto:d@example.com'),
      '_smtp._tls.example.com': { kind: 'error', detail: 'timed out' },
    };
    const asked: string[] = [];
    const checks = await checkMailDnsRecords(
      'example.com',
      async (name) => {
        asked.push(name);
        return zone[name] ?? none;
      },
      expectations,
    );
    expect(asked.sort()).toEqual([
      '_dmarc.example.com',
      '_mta-sts.example.com',
      '_smtp._tls.example.com',
      'example.com',
    ]);
    expect(checks.map((c) => [c.kind, c.status])).toEqual([
      ['SPF', 'ok'],
      ['DMARC', 'ok'],
      ['MTA-STS', 'missing'],
      ['TLS-RPT', 'unknown'],
    ]);
  });
});
