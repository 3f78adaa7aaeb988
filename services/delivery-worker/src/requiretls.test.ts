import { describe, expect, it } from 'vitest';
import { webPkiCheck } from './peer-tls.js';
import { planHostTls } from './requiretls.js';
import { type HostTlsPolicy, NO_TLS_POLICY, type PeerTls, type TlsCheck } from './tls-policy.js';

// webPkiCheck reads Node's verdict, not the chain: an empty one stands for any certificate.
const peer = (authorized: boolean, authorizationError?: string): PeerTls => ({
  chain: [],
  authorized,
  authorizationError,
  protocol: 'TLSv1.3',
});
const refuse = (): TlsCheck => ({ ok: false, resultType: 'validation-failure', detail: 'policy says no' });
const STS_ENFORCE: HostTlsPolicy = {
  policyType: 'sts',
  policyStrings: ['version: STSv1', 'mode: enforce', 'mx: mx.example.net', 'max_age: 86400'],
  mxHostPatterns: ['mx.example.net'],
  requirement: { kind: 'required', check: refuse },
  authenticatedRoute: true,
};
const STS_TESTING: HostTlsPolicy = {
  ...STS_ENFORCE,
  requirement: { kind: 'opportunistic', reportOnly: refuse },
};
const SIGNED_MX = { authenticated: true, implicit: false };

const message = (requireTls: boolean, tlsRequiredNo: boolean, sender = 'alice@example.org') => ({
  sender,
  requireTls,
  tlsRequiredNo,
});

describe('planHostTls (RFC 8689)', () => {
  it('follows the host policy as it is for a message that says nothing', () => {
    expect(planHostTls(message(false, false), STS_ENFORCE, 'mx.example.net')).toEqual({
      kind: 'try',
      requirement: STS_ENFORCE.requirement,
      requireTlsParameter: 'never',
    });
  });

  it('never uses an MX host that neither DNSSEC nor MTA-STS vouches for with REQUIRETLS (§4.2.1)', () => {
    expect(planHostTls(message(true, false), NO_TLS_POLICY, 'mx.example.net')).toEqual({
      kind: 'skip',
      reply:
        '550 5.7.30 REQUIRETLS support required: MX host mx.example.net is not authenticated by DNSSEC or MTA-STS',
      statusCode: '5.7.30',
    });
  });

  it('waits, rather than returns, while the MTA-STS policy that could vouch for the MX is not fetched', () => {
    const unfetched = {
      ...NO_TLS_POLICY,
      undetermined: 'MTA-STS policy of example.net not fetched: sts-policy-fetch-error: 503',
    };
    expect(planHostTls(message(true, false), unfetched, 'mx.example.net')).toEqual({
      kind: 'skip',
      reply:
        '451 4.7.5 REQUIRETLS needs MX host mx.example.net authenticated, and the MTA-STS policy of example.net not fetched: sts-policy-fetch-error: 503',
      statusCode: '4.7.5',
      temporary: true,
    });
    // Other mail goes as without a policy (RFC 8461 §5); a signed MX needs no MTA-STS.
    expect(planHostTls(message(false, false), unfetched, 'mx.example.net')).toMatchObject({ kind: 'try' });
    expect(planHostTls(message(true, false), unfetched, 'mx.example.net', SIGNED_MX)).toMatchObject({
      kind: 'try',
    });
  });

  it('requires the policy-validated TLS and a peer offering REQUIRETLS on an authenticated route', () => {
    const plan = planHostTls(message(true, false), STS_ENFORCE, 'mx.example.net');
    expect(plan).toMatchObject({
      kind: 'try',
      requirement: { kind: 'required', check: refuse, peerMustOfferRequireTls: true },
      requireTlsParameter: 'always',
    });
  });

  it("enforces an MTA-STS testing policy's check for a REQUIRETLS message", () => {
    const plan = planHostTls(message(true, false), STS_TESTING, 'mx.example.net');
    expect(plan).toMatchObject({ kind: 'try', requirement: { kind: 'required', check: refuse } });
  });

  it('requires WebPKI for the MX name on a DNSSEC-signed MX without TLSA records', () => {
    const plan = planHostTls(message(true, false), NO_TLS_POLICY, 'mx.example.net', SIGNED_MX);
    expect(plan).toMatchObject({ kind: 'try', requirement: { kind: 'required', check: webPkiCheck } });
    if (plan.kind !== 'try' || plan.requirement.kind !== 'required') throw new Error('not required');
    expect(plan.requirement.check(peer(true))).toEqual({ ok: true });
    expect(plan.requirement.check(peer(false, 'ERR_TLS_CERT_ALTNAME_INVALID'))).toMatchObject({
      ok: false,
      resultType: 'certificate-host-mismatch',
    });
  });

  it('takes the domain itself as an authenticated route when it has no MX (implicit MX)', () => {
    const implicit = { authenticated: false, implicit: true };
    expect(planHostTls(message(true, false), NO_TLS_POLICY, 'example.net', implicit)).toMatchObject({
      kind: 'try',
      requirement: { kind: 'required', check: webPkiCheck, peerMustOfferRequireTls: true },
      requireTlsParameter: 'always',
    });
  });

  it('drops enforcement for TLS-Required: No but keeps the check to report (§4.2.2)', () => {
    const plan = planHostTls(message(false, true), STS_ENFORCE, 'mx.example.net');
    expect(plan).toEqual({
      kind: 'try',
      requirement: { kind: 'opportunistic', reportOnly: refuse },
      requireTlsParameter: 'never',
    });
    expect(planHostTls(message(false, true), NO_TLS_POLICY, 'mx.example.net')).toMatchObject({
      requirement: { kind: 'opportunistic' },
    });
  });

  it('sends the notice of a REQUIRETLS message anyway, tagged only where the route qualifies (§5)', () => {
    expect(planHostTls(message(true, false, ''), NO_TLS_POLICY, 'mx.example.net')).toEqual({
      kind: 'try',
      requirement: NO_TLS_POLICY.requirement,
      requireTlsParameter: 'never',
    });
    expect(planHostTls(message(true, false, ''), STS_ENFORCE, 'mx.example.net')).toMatchObject({
      requirement: STS_ENFORCE.requirement,
      requireTlsParameter: 'if-offered',
    });
  });
});
