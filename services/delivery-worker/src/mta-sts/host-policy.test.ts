import { describe, expect, it } from 'vitest';
import type { PeerTls, TlsCheck } from '../tls-policy.js';
import { mtaStsHostPolicy } from './host-policy.js';
import type { ActiveMtaStsPolicy } from './policy-source.js';

const active = (mode: 'enforce' | 'testing'): ActiveMtaStsPolicy => ({
  domain: 'a.test',
  id: 'one',
  policy: { mode, mx: ['mx1.a.test', '*.backup.a.test'], maxAge: 86400 },
  lines: ['version: STSv1', `mode: ${mode}`, 'mx: mx1.a.test', 'mx: *.backup.a.test', 'max_age: 86400'],
});
const trusted: PeerTls = { chain: [], authorized: true, protocol: 'TLSv1.3' };
const wrongName: PeerTls = {
  chain: [],
  authorized: false,
  authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID',
  protocol: 'TLSv1.3',
};

function checkOf(policy: ReturnType<typeof mtaStsHostPolicy>): (peer: PeerTls) => TlsCheck {
  const r = policy.requirement;
  return r.kind === 'required' ? r.check : r.reportOnly!;
}

describe('what an MTA-STS policy asks of an MX host', () => {
  it('enforce: TLS required, a certificate valid for the listed MX host', () => {
    const policy = mtaStsHostPolicy(active('enforce'), 'b.backup.a.test');
    expect(policy).toMatchObject({
      policyType: 'sts',
      policyStrings: active('enforce').lines,
      mxHostPatterns: ['mx1.a.test', '*.backup.a.test'],
      requirement: { kind: 'required' },
      authenticatedRoute: true,
    });
    expect(checkOf(policy)(trusted)).toEqual({ ok: true });
    expect(checkOf(policy)(wrongName)).toEqual({
      ok: false,
      resultType: 'certificate-host-mismatch',
      detail: 'certificate not valid: ERR_TLS_CERT_ALTNAME_INVALID (MTA-STS policy of a.test)',
    });
  });

  it('refuses an MX host the policy does not list, whatever its certificate', () => {
    const policy = mtaStsHostPolicy(active('enforce'), 'mx2.a.test');
    expect(policy.authenticatedRoute).toBe(false);
    expect(checkOf(policy)(trusted)).toEqual({
      ok: false,
      resultType: 'validation-failure',
      detail:
        'MX host mx2.a.test is not listed in the MTA-STS policy of a.test (mx: mx1.a.test, *.backup.a.test)',
    });
  });

  it('testing: opportunistic, the same check only reported', () => {
    const policy = mtaStsHostPolicy(active('testing'), 'mx1.a.test');
    expect(policy.requirement.kind).toBe('opportunistic');
    expect(checkOf(policy)(wrongName)).toMatchObject({ ok: false, resultType: 'certificate-host-mismatch' });
    expect(checkOf(policy)(trusted)).toEqual({ ok: true });
  });
});
