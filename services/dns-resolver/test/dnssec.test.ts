import { GrpcStatus, ResolveStatus } from '@tegami/rpc';
import { startTestDnsServer, type TestDnsRecords, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestResolver, type TestResolver } from './test-resolver.js';

// The AD bit of a validating upstream, carried to the worker as `authenticated`, and TLSA
// records for DANE (RFC 7672). The test DNS server plays the validating resolver: it sets AD
// on the names it is told are signed, and only when the query asked with DO.
const digest = '3b'.repeat(32);
const zone: TestDnsRecords = {
  'signed.test': { mx: [{ preference: 10, exchange: 'mx.signed.test' }] },
  'mx.signed.test': { a: ['192.0.2.10'], aaaa: ['2001:db8::10'] },
  '_25._tcp.mx.signed.test': {
    ttl: 600,
    tlsa: [
      { usage: 3, selector: 1, matchingType: 1, data: digest },
      { usage: 2, selector: 0, matchingType: 2, data: Buffer.alloc(64, 0x5a), ttl: 120 },
    ],
  },
  'unsigned.test': { mx: [{ preference: 10, exchange: 'mx.signed.test' }], authenticated: false },
  'mx.unsigned-a.test': { a: ['192.0.2.11'], authenticated: false },
  'mixed.test': { a: ['192.0.2.12'], authenticated: true },
  // A signed name whose AAAA the upstream cannot validate: only the A records count.
  'implicit.test': { a: ['192.0.2.13'] },
  'implicit-unsigned.test': { a: ['192.0.2.14'], authenticated: false },
  '_25._tcp.alias.signed.test': { cname: '_25._tcp.mx.signed.test' },
  '_25._tcp.insecure-alias.signed.test': { cname: '_25._tcp.mx.signed.test', authenticated: false },
  '_25._tcp.bogus.signed.test': { rcode: 'SERVFAIL' },
  '_25._tcp.empty.signed.test': { a: ['192.0.2.15'] },
};

let dns: TestDnsServer;
let t: TestResolver;

beforeAll(async () => {
  dns = await startTestDnsServer({ records: zone, authenticated: true });
  t = await startTestResolver([dns.address]);
});

afterAll(async () => {
  await t?.stop();
  await dns?.stop();
});

describe('the AD bit from a validating upstream', () => {
  it('asks every question with the EDNS DO bit set', async () => {
    await t.client.resolveMx('signed.test');
    const asked = dns.queries.filter((q) => q.name === 'signed.test');
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((q) => q.dnssecOk)).toBe(true);
  });

  it('marks an MX answer with AD authenticated, and one without not', async () => {
    const signed = await t.client.resolveMx('signed.test');
    expect(signed.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(signed.authenticated).toBe(true);
    const unsigned = await t.client.resolveMx('unsigned.test');
    expect(unsigned.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(unsigned.authenticated).toBe(false);
  });

  it('marks addresses authenticated only when every answer that gave some had AD', async () => {
    expect((await t.client.resolveAddresses('mx.signed.test')).authenticated).toBe(true);
    expect((await t.client.resolveAddresses('mx.unsigned-a.test')).authenticated).toBe(false);
    // NXDOMAIN: no addresses, nothing authenticated.
    const none = await t.client.resolveAddresses('nowhere.signed.test');
    expect(none.status).toBe(ResolveStatus.RESOLVE_STATUS_NXDOMAIN);
    expect(none.authenticated).toBe(false);
  });

  it('authenticates an implicit MX only when the denial of MX and the addresses both are', async () => {
    const implicit = await t.client.resolveMx('implicit.test');
    expect(implicit).toMatchObject({ implicit: true, authenticated: true });
    const insecure = await t.client.resolveMx('implicit-unsigned.test');
    expect(insecure).toMatchObject({ implicit: true, authenticated: false });
  });

  it('keeps the flag in the cache with the answer', async () => {
    const first = await t.client.resolveMx('mixed.test');
    expect(first).toMatchObject({ implicit: true, authenticated: true });
    const asked = dns.queryCount('mixed.test');
    // The upstream would no longer vouch for it, but the cached answer was validated when it came.
    dns.setAuthenticated(false);
    try {
      const again = await t.client.resolveMx('mixed.test');
      expect(dns.queryCount('mixed.test')).toBe(asked);
      expect(again.authenticated).toBe(true);
      // A name not cached yet gets the upstream's word of now.
      expect((await t.client.resolveAddresses('implicit.test')).authenticated).toBe(true);
      expect((await t.client.resolveTlsa('_25._tcp.empty.signed.test')).authenticated).toBe(false);
    } finally {
      dns.setAuthenticated(true);
    }
  });
});

describe('ResolveTlsa', () => {
  it('returns each record with usage, selector, matching type, data bytes and TTL', async () => {
    const answer = await t.client.resolveTlsa('_25._tcp.mx.signed.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.authenticated).toBe(true);
    expect(
      answer.records.map((r) => ({ ...r, data: Buffer.from(r.data).toString('hex'), ttlSeconds: undefined })),
    ).toEqual([
      { usage: 3, selector: 1, matchingType: 1, data: digest, ttlSeconds: undefined },
      { usage: 2, selector: 0, matchingType: 2, data: '5a'.repeat(64), ttlSeconds: undefined },
    ]);
    expect(answer.records[0]!.ttlSeconds).toBeLessThanOrEqual(600);
    expect(answer.records[0]!.ttlSeconds).toBeGreaterThan(590);
    expect(answer.records[1]!.ttlSeconds).toBeLessThanOrEqual(120);
  });

  it('follows a CNAME, authenticated only when the whole chain is', async () => {
    const secure = await t.client.resolveTlsa('_25._tcp.alias.signed.test');
    expect(secure).toMatchObject({ status: ResolveStatus.RESOLVE_STATUS_OK, authenticated: true });
    expect(secure.records).toHaveLength(2);
    const insecure = await t.client.resolveTlsa('_25._tcp.insecure-alias.signed.test');
    expect(insecure).toMatchObject({ status: ResolveStatus.RESOLVE_STATUS_OK, authenticated: false });
  });

  it('reports an authenticated denial as NXDOMAIN or NO_DATA', async () => {
    const nx = await t.client.resolveTlsa('_25._tcp.nothing.signed.test');
    expect(nx).toMatchObject({
      status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
      authenticated: true,
      records: [],
    });
    const nodata = await t.client.resolveTlsa('_25._tcp.empty.signed.test');
    expect(nodata).toMatchObject({ status: ResolveStatus.RESOLVE_STATUS_NO_DATA, records: [] });
  });

  it('reports a bogus answer (SERVFAIL from the validating upstream) as a temporary failure, never cached', async () => {
    const name = '_25._tcp.bogus.signed.test';
    const first = await t.client.resolveTlsa(name);
    expect(first).toMatchObject({ status: ResolveStatus.RESOLVE_STATUS_SERVFAIL, authenticated: false });
    expect(first.detail).toContain('SERVFAIL');
    const asked = dns.queryCount(name, 'TLSA');
    await t.client.resolveTlsa(name);
    expect(dns.queryCount(name, 'TLSA')).toBeGreaterThan(asked);
  });

  it('refuses a name that is not a DNS name with INVALID_ARGUMENT', async () => {
    await expect(t.client.resolveTlsa('_25._tcp.bad name.test')).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
    });
  });

  it('counts its calls by status', async () => {
    expect(await t.metric('tegami_dns_queries_total', { rpc: 'ResolveTlsa', status: 'ok' })).toBeGreaterThan(
      0,
    );
    expect(
      await t.metric('tegami_dns_queries_total', { rpc: 'ResolveTlsa', status: 'servfail' }),
    ).toBeGreaterThan(0);
  });
});
