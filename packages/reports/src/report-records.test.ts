import { describe, expect, it } from 'vitest';
import { isDmarcRecord, parseDmarcRecord } from './dmarc-record.js';
import { MAX_REPORT_DESTINATIONS, parseReportUris } from './report-uri.js';
import { tlsRptPolicyOf } from './tlsrpt-record.js';

describe('rua URIs', () => {
  it('reads mailto: destinations with the DMARC size limit in powers of two (RFC 7489 §6.2)', () => {
    const parsed = parseReportUris('mailto:dmarc@Example.COM!10m, mailto:other%2Bx@example.org!50k', {
      sizes: true,
    });
    expect(parsed.destinations).toEqual([
      {
        kind: 'mailto',
        address: 'dmarc@example.com',
        domain: 'example.com',
        uri: 'mailto:dmarc@Example.COM!10m',
        maxBytes: 10 * 1024 * 1024,
      },
      {
        kind: 'mailto',
        address: 'other+x@example.org',
        domain: 'example.org',
        uri: 'mailto:other%2Bx@example.org!50k',
        maxBytes: 50 * 1024,
      },
    ]);
    expect(parsed.problems).toEqual([]);
  });

  it('keeps https: destinations, leaves out other schemes and bad addresses, says why', () => {
    const parsed = parseReportUris(
      'https://reports.example.net/tlsrpt, ftp://x.example, mailto:not-an-address, nonsense',
      {
        sizes: false,
      },
    );
    expect(parsed.destinations).toEqual([
      { kind: 'https', url: 'https://reports.example.net/tlsrpt', uri: 'https://reports.example.net/tlsrpt' },
    ]);
    expect(parsed.problems).toHaveLength(3);
    expect(parsed.problems[0]).toMatch(/ftp: scheme is not supported/);
  });

  it('does not read a size suffix where TLS-RPT has none', () => {
    const parsed = parseReportUris('mailto:tls@example.com!10m', { sizes: false });
    expect(parsed.destinations).toEqual([]);
  });

  it(`uses at most ${MAX_REPORT_DESTINATIONS} destinations of a record, each once`, () => {
    const list = Array.from({ length: 8 }, (_, i) => `mailto:r${i}@example.com`).join(',');
    const parsed = parseReportUris(`mailto:r0@example.com,${list}`, { sizes: true });
    expect(parsed.destinations).toHaveLength(MAX_REPORT_DESTINATIONS);
    expect(parsed.problems.filter((p) => /more than/.test(p))).toHaveLength(3);
  });
});

describe('DMARC records', () => {
  it('reads the policy with the defaults of RFC 7489 §6.3', () => {
    expect(parseDmarcRecord('v=DMARC1; p=quarantine; rua=mailto:d@example.com')).toEqual({
      p: 'quarantine',
      sp: 'quarantine',
      pct: 100,
      adkim: 'r',
      aspf: 'r',
      fo: '0',
      rua: 'mailto:d@example.com',
    });
    expect(parseDmarcRecord('v=DMARC1;p=reject;sp=none;pct=25;adkim=s;aspf=S;fo=1:d')).toMatchObject({
      p: 'reject',
      sp: 'none',
      pct: 25,
      adkim: 's',
      aspf: 's',
      fo: '1:d',
    });
  });

  it('treats an invalid p as none and an out-of-range pct as 100', () => {
    expect(parseDmarcRecord('v=DMARC1; p=bogus; pct=500')).toMatchObject({ p: 'none', pct: 100 });
  });

  it('is no DMARC record without v=DMARC1 first', () => {
    expect(parseDmarcRecord('p=reject; v=DMARC1')).toBeUndefined();
    expect(isDmarcRecord('v=DMARC1')).toBe(true);
    expect(isDmarcRecord('v=DMARC1; p=none')).toBe(true);
    expect(isDmarcRecord('v=DMARC10')).toBe(false);
    expect(isDmarcRecord('v=spf1 -all')).toBe(false);
  });
});

describe('TLSRPT records (RFC 8460 §3)', () => {
  it('finds the rua of the one v=TLSRPTv1 record among the TXT records', () => {
    const policy = tlsRptPolicyOf([
      'v=spf1 -all',
      'v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/x',
    ]);
    expect(policy).toMatchObject({
      kind: 'found',
      destinations: [
        { kind: 'mailto', address: 'tls@example.com' },
        { kind: 'https', url: 'https://r.example.com/x' },
      ],
    });
  });

  it('has no policy with two records, none, or no usable rua', () => {
    expect(
      tlsRptPolicyOf(['v=TLSRPTv1; rua=mailto:a@x.test', 'v=TLSRPTv1; rua=mailto:b@x.test']),
    ).toMatchObject({
      kind: 'none',
    });
    expect(tlsRptPolicyOf([])).toMatchObject({ kind: 'none' });
    expect(tlsRptPolicyOf(['v=TLSRPTv1'])).toEqual({ kind: 'none', why: 'the record has no rua' });
    expect(tlsRptPolicyOf(['v=TLSRPTv1; rua=ftp://x.test'])).toMatchObject({ kind: 'none' });
    // The version is case-sensitive (%s in the ABNF).
    expect(tlsRptPolicyOf(['v=tlsrptv1; rua=mailto:a@x.test'])).toMatchObject({ kind: 'none' });
  });
});
