import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import {
  AddressFamily,
  type ResolveAddressesResponse,
  type ResolverClient,
  ResolveStatus,
  type ResolveTlsaResponse,
} from '@tegami/rpc';
import { createCertificate, type TestCertificate } from '@tegami/testing';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MxRoute } from '../remote-delivery.js';
import { type HostTlsPolicy, NO_TLS_POLICY, type PeerTls } from '../tls-policy.js';
import { DaneLookupFailure, daneFirst, type HostTlsPolicyLookup } from './dane-policy.js';

// When DANE applies to an MX host and when the other policy does (RFC 7672 §2.2), with the
// resolver's answers scripted.

const MX = 'mx.dane.test';
const SECURE: MxRoute = { authenticated: true, implicit: false };
const PORT = 2525;

let certificate: TestCertificate;
let spkiDigest: Buffer;
let addresses: ResolveAddressesResponse;
let tlsa: ResolveTlsaResponse | Error;
let asked: string[];
let otherwiseCalls: number;

const resolver: Pick<ResolverClient, 'resolveAddresses' | 'resolveTlsa'> = {
  async resolveAddresses(host) {
    asked.push(`ADDR ${host}`);
    return addresses;
  },
  async resolveTlsa(name) {
    asked.push(`TLSA ${name}`);
    if (tlsa instanceof Error) throw tlsa;
    return tlsa;
  },
};

const mtaStsEnforce: HostTlsPolicy = {
  policyType: 'sts',
  policyStrings: ['version: STSv1', 'mode: enforce'],
  requirement: {
    kind: 'required',
    check: () => ({ ok: false, resultType: 'sts-webpki-invalid', detail: 'x' }),
  },
  authenticatedRoute: true,
};

function policyWith(other: HostTlsPolicy = NO_TLS_POLICY): HostTlsPolicyLookup {
  return daneFirst(resolver, { port: PORT }, async () => {
    otherwiseCalls++;
    return other;
  });
}

const record = (usage: number, data: Buffer = spkiDigest) => ({
  usage,
  selector: 1,
  matchingType: 1,
  data,
  ttlSeconds: 300,
});

function showing(cert: TestCertificate): PeerTls {
  return {
    chain: [{ raw: new X509Certificate(cert.cert).raw } as DetailedPeerCertificate],
    authorized: false,
    protocol: 'TLSv1.3',
  };
}

beforeAll(async () => {
  certificate = await createCertificate([MX]);
  const spki = new X509Certificate(certificate.cert).publicKey.export({ type: 'spki', format: 'der' });
  spkiDigest = createHash('sha256').update(spki).digest();
});

beforeEach(() => {
  asked = [];
  otherwiseCalls = 0;
  addresses = {
    status: ResolveStatus.RESOLVE_STATUS_OK,
    addresses: [{ address: '192.0.2.25', family: AddressFamily.ADDRESS_FAMILY_IPV4, ttlSeconds: 60 }],
    detail: '',
    authenticated: true,
  };
  tlsa = { status: ResolveStatus.RESOLVE_STATUS_OK, records: [record(3)], authenticated: true, detail: '' };
});

describe('daneFirst', () => {
  it('applies DANE to a secure MX host with usable, authenticated TLSA records', async () => {
    const policy = await policyWith(mtaStsEnforce)('dane.test', MX, SECURE);
    expect(asked).toEqual([`ADDR ${MX}`, `TLSA _${PORT}._tcp.${MX}`]);
    expect(otherwiseCalls).toBe(0);
    expect(policy).toMatchObject({
      policyType: 'tlsa',
      policyStrings: [`3 1 1 ${spkiDigest.toString('hex')}`],
      authenticatedRoute: true,
      requirement: { kind: 'required' },
    });
    if (policy.requirement.kind !== 'required') throw new Error('unreachable');
    expect(policy.requirement.check(showing(certificate))).toEqual({ ok: true });
    const stranger = await createCertificate([MX]);
    expect(policy.requirement.check(showing(stranger))).toMatchObject({
      ok: false,
      resultType: 'validation-failure',
    });
  });

  it('leaves an MX answer without AD to the other policy, without asking for TLSA', async () => {
    const policy = await policyWith(mtaStsEnforce)('dane.test', MX, {
      authenticated: false,
      implicit: false,
    });
    expect(policy).toBe(mtaStsEnforce);
    expect(asked).toEqual([]);
  });

  it('leaves a host whose addresses are not authenticated to the other policy, without asking for TLSA', async () => {
    addresses = { ...addresses, authenticated: false };
    expect(await policyWith()('dane.test', MX, SECURE)).toBe(NO_TLS_POLICY);
    expect(asked).toEqual([`ADDR ${MX}`]);
  });

  it('treats no TLSA records, or records without AD, as no DANE', async () => {
    for (const status of [ResolveStatus.RESOLVE_STATUS_NXDOMAIN, ResolveStatus.RESOLVE_STATUS_NO_DATA]) {
      tlsa = { status, records: [], authenticated: true, detail: '' };
      expect(await policyWith(mtaStsEnforce)('dane.test', MX, SECURE)).toBe(mtaStsEnforce);
    }
    tlsa = {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      records: [record(3)],
      authenticated: false,
      detail: '',
    };
    expect(await policyWith()('dane.test', MX, SECURE)).toBe(NO_TLS_POLICY);
    expect(otherwiseCalls).toBe(3);
  });

  it('refuses the host when the TLSA lookup fails (bogus, timeout, resolver down)', async () => {
    for (const status of [
      ResolveStatus.RESOLVE_STATUS_SERVFAIL,
      ResolveStatus.RESOLVE_STATUS_TIMEOUT,
      ResolveStatus.RESOLVE_STATUS_REFUSED,
    ]) {
      tlsa = { status, records: [], authenticated: false, detail: 'from 127.0.0.1:53' };
      const failure = await policyWith()('dane.test', MX, SECURE).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DaneLookupFailure);
      expect((failure as Error).message).toContain(`_${PORT}._tcp.${MX}`);
      expect((failure as Error).message).toContain(ResolveStatus[status]);
    }
    tlsa = new Error('14 UNAVAILABLE: no connection');
    await expect(policyWith()('dane.test', MX, SECURE)).rejects.toThrow(
      /TLSA lookup .* failed: 14 UNAVAILABLE/,
    );
    expect(otherwiseCalls).toBe(0);
  });

  it('requires TLS without authentication when no record is usable, unless the other policy requires more', async () => {
    tlsa = { status: ResolveStatus.RESOLVE_STATUS_OK, records: [record(1)], authenticated: true, detail: '' };
    const encrypt = await policyWith()('dane.test', MX, SECURE);
    expect(encrypt).toMatchObject({
      policyType: 'tlsa',
      policyStrings: [`1 1 1 ${spkiDigest.toString('hex')}`],
      authenticatedRoute: false,
      requirement: { kind: 'required' },
    });
    if (encrypt.requirement.kind !== 'required') throw new Error('unreachable');
    expect(encrypt.requirement.check(showing(await createCertificate(['anything.test'])))).toEqual({
      ok: true,
    });
    expect(await policyWith(mtaStsEnforce)('dane.test', MX, SECURE)).toBe(mtaStsEnforce);
  });
});
