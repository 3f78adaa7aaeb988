import { describe, expect, it } from 'vitest';
import { dmarcReportRecord } from './dmarc-report-record.js';
import type { DmarcCheck, MessageAuthentication } from './mail-authentication.js';

const report = {
  headerFrom: 'news.example.org',
  policyDomain: 'example.org',
  record: 'v=DMARC1; p=quarantine; sp=reject; pct=50; rua=mailto:d@example.org!5m',
  dkimAligned: false,
  spfAligned: true,
};

function auth(dmarc: Partial<DmarcCheck> | undefined): MessageAuthentication {
  return {
    spf: { result: 'pass', identity: 'bounce@news.example.org', domain: 'news.example.org', info: '' },
    helo: undefined,
    dkim: [
      {
        result: 'fail',
        domain: 'esp.example.net',
        selector: 's1',
        algorithm: 'rsa-sha256',
        aligned: false,
        info: '',
      },
    ],
    dmarc: dmarc && {
      result: 'pass',
      domain: 'example.org',
      policy: 'reject',
      pct: 50,
      info: '',
      report,
      ...dmarc,
    },
    arc: { result: 'pass', instance: 1, sealer: 'lists.example.net', info: '' },
    timedOut: false,
  };
}

const message = {
  clientIp: '::ffff:192.0.2.7',
  sender: 'bounce@news.example.org',
  helo: 'mta.example.net',
  at: new Date('2026-05-01T23:59:59Z'),
};

describe("a message's row in its domain's DMARC report", () => {
  it('says where the record was found, what it published, and what was done (RFC 7489 Appendix C)', () => {
    expect(dmarcReportRecord(auth({}), { action: 'accept', reason: 'pass' }, message)).toEqual({
      day: '2026-05-01',
      policyDomain: 'example.org',
      headerFrom: 'news.example.org',
      envelopeFrom: 'news.example.org',
      sourceIp: '192.0.2.7',
      disposition: 'none',
      dkimAligned: false,
      spfAligned: true,
      reasons: [],
      dkimResults: [{ domain: 'esp.example.net', selector: 's1', result: 'fail' }],
      spf: { domain: 'news.example.org', scope: 'mfrom', result: 'pass' },
      published: { p: 'quarantine', sp: 'reject', pct: 50, adkim: 'r', aspf: 'r', fo: '0' },
      rua: 'mailto:d@example.org!5m',
    });
  });

  it('gives the reason a failure was not treated as the policy says', () => {
    const failing = auth({ result: 'fail' });
    expect(dmarcReportRecord(failing, { action: 'accept', reason: 'pct' }, message)?.reasons).toEqual([
      { type: 'sampled_out' },
    ]);
    expect(dmarcReportRecord(failing, { action: 'accept', reason: 'arc' }, message)?.reasons).toEqual([
      { type: 'trusted_forwarder', comment: 'arc=pass sealed by lists.example.net' },
    ]);
    const local = dmarcReportRecord(failing, { action: 'quarantine', reason: 'enforcement' }, message);
    expect(local).toMatchObject({ disposition: 'quarantine', reasons: [{ type: 'local_policy' }] });
    expect(dmarcReportRecord(failing, { action: 'reject', reason: 'policy' }, message)?.disposition).toBe(
      'reject',
    );
  });

  it('reports the HELO check for the null reverse-path', () => {
    const bounce = dmarcReportRecord(
      auth({}),
      { action: 'accept', reason: 'pass' },
      { ...message, sender: '' },
    );
    expect(bounce).toMatchObject({ envelopeFrom: '', spf: { scope: 'helo' } });
  });

  it('is nothing without a record, or when the lookup failed', () => {
    expect(dmarcReportRecord(auth(undefined), { action: 'accept', reason: 'none' }, message)).toBeUndefined();
    expect(
      dmarcReportRecord(
        auth({ result: 'none', report: undefined }),
        { action: 'accept', reason: 'none' },
        message,
      ),
    ).toBeUndefined();
    expect(
      dmarcReportRecord(auth({ result: 'temperror' }), { action: 'accept', reason: 'none' }, message),
    ).toBeUndefined();
  });
});
