import {
  AddressFamily,
  checkHealth,
  GrpcStatus,
  RESOLVER_SERVICE_NAME,
  ResolveStatus,
  RpcError,
} from '@tegami/rpc';
import { reverseDnsName, startTestDnsServer, type TestDnsRecords, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestResolver, type TestResolver } from './test-resolver.js';

// Two mail domains, an alias, the edge cases of RFC 5321 §5.1 and RFC 7505, and names
// whose upstream answers fail in each way the worker tells apart.
const zone: TestDnsRecords = {
  'example.test': {
    ttl: 3600,
    mx: [
      { preference: 30, exchange: 'mx5.example.test' },
      { preference: 20, exchange: 'mx2.example.test' },
      { preference: 10, exchange: 'mx1.example.test', ttl: 600 },
      { preference: 20, exchange: 'mx3.example.test' },
      { preference: 20, exchange: 'mx4.example.test' },
    ],
  },
  'mx1.example.test': { a: ['192.0.2.1', { address: '192.0.2.2', ttl: 60 }], aaaa: ['2001:db8:0:0:0:0:0:1'] },
  'bare.test': { a: [{ address: '192.0.2.7', ttl: 120 }], aaaa: [{ address: '2001:db8::7', ttl: 90 }] },
  'only-a.test': { a: ['192.0.2.8'], aaaa: ['2001:db8::8'] },
  'v6only.test': { aaaa: ['2001:db8::6'] },
  'nomail.test': { mx: [{ preference: 0, exchange: '.' }], a: ['192.0.2.99'] },
  'nothing.test': { txt: ['only text here'] },
  'alias.test': { cname: 'example.test' },
  'cnamed-mx.test': { mx: [{ preference: 5, exchange: 'mail.cnamed-mx.test' }] },
  'mail.cnamed-mx.test': { cname: 'mx1.example.test' },
  'loop1.test': { cname: 'loop2.test' },
  'loop2.test': { cname: 'loop1.test' },
  'dangling.test': { cname: 'missing.test' },
  'broken.test': { rcode: 'SERVFAIL' },
  'refused.test': { rcode: 'REFUSED' },
  'hole.test': { drop: true },
  'spf.example.test': {
    txt: [
      ['v=spf1 ', 'ip4:192.0.2.0/24 ', '-all'],
      'google-site-verification=abc',
      { strings: ['é ü'], ttl: 42 },
    ],
  },
  [reverseDnsName('192.0.2.1')]: { ptr: ['MX1.Example.test.'] },
  [reverseDnsName('2001:db8::1')]: { ptr: ['mx1.example.test', 'other.example.test'] },
  [reverseDnsName('192.0.2.66')]: { rcode: 'SERVFAIL' },
  'big.test': { txt: Array.from({ length: 12 }, (_, i) => `${i}:${'x'.repeat(200)}`) },
};

let dns: TestDnsServer;
let t: TestResolver;

beforeAll(async () => {
  dns = await startTestDnsServer({ records: zone });
  t = await startTestResolver([dns.address]);
});

afterAll(async () => {
  await t?.stop();
  await dns?.stop();
});

describe('ResolveMx', () => {
  it('orders hosts by preference, each with its own TTL', async () => {
    const answer = await t.client.resolveMx('example.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.implicit).toBe(false);
    expect(answer.detail).toBe('');
    expect(answer.hosts.map((h) => h.preference)).toEqual([10, 20, 20, 20, 30]);
    expect(answer.hosts[0]).toMatchObject({ host: 'mx1.example.test', preference: 10 });
    expect(answer.hosts[4]).toMatchObject({ host: 'mx5.example.test', preference: 30 });
    expect(new Set(answer.hosts.slice(1, 4).map((h) => h.host))).toEqual(
      new Set(['mx2.example.test', 'mx3.example.test', 'mx4.example.test']),
    );
    // The TTL left in the cache: at most what the record said, and not much less just now.
    expect(answer.hosts[0]!.ttlSeconds).toBeLessThanOrEqual(600);
    expect(answer.hosts[0]!.ttlSeconds).toBeGreaterThanOrEqual(598);
    expect(answer.hosts[1]!.ttlSeconds).toBeGreaterThanOrEqual(3598);
  });

  it('shuffles hosts of equal preference from call to call, and only those', async () => {
    const orders = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const { hosts } = await t.client.resolveMx('example.test');
      expect(hosts[0]!.host).toBe('mx1.example.test');
      expect(hosts[4]!.host).toBe('mx5.example.test');
      orders.add(
        hosts
          .slice(1, 4)
          .map((h) => h.host)
          .join(' '),
      );
    }
    // 6 orders are possible; 60 calls seeing only one has odds of about 6 × (1/6)^60.
    expect(orders.size).toBeGreaterThan(1);
    expect(orders.size).toBeLessThanOrEqual(6);
  });

  it('gives the implicit MX (the domain itself, RFC 5321 §5.1) for a domain with addresses but no MX', async () => {
    expect(await t.client.resolveMx('bare.test')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      hosts: [{ host: 'bare.test', preference: 0, ttlSeconds: expect.any(Number) }],
      implicit: true,
      detail: '',
      // The test zone is not signed: no AD bit.
      authenticated: false,
    });
    const { hosts } = await t.client.resolveMx('bare.test');
    // The shorter of the address TTLs.
    expect(hosts[0]!.ttlSeconds).toBeLessThanOrEqual(90);
    expect(hosts[0]!.ttlSeconds).toBeGreaterThanOrEqual(88);
    const v6 = await t.client.resolveMx('v6only.test');
    expect(v6).toMatchObject({ status: ResolveStatus.RESOLVE_STATUS_OK, implicit: true });
    expect(v6.hosts.map((h) => h.host)).toEqual(['v6only.test']);
  });

  it('reports a null MX (RFC 7505) even when the domain has an address', async () => {
    const answer = await t.client.resolveMx('nomail.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_NULL_MX);
    expect(answer.hosts).toEqual([]);
    expect(answer.detail).toMatch(/null MX/);
  });

  it('reports NXDOMAIN for a domain that does not exist', async () => {
    const answer = await t.client.resolveMx('nowhere.test');
    expect(answer).toMatchObject({
      status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
      hosts: [],
      implicit: false,
    });
    expect(answer.detail).toContain('NXDOMAIN');
    expect(answer.detail).toContain(dns.address);
  });

  it('reports NO_DATA for a domain with neither MX nor address records', async () => {
    const answer = await t.client.resolveMx('nothing.test');
    expect(answer).toMatchObject({
      status: ResolveStatus.RESOLVE_STATUS_NO_DATA,
      hosts: [],
      implicit: false,
    });
    expect(answer.detail).toMatch(/no A or AAAA/);
    // An empty non-terminal exists (RFC 8020): NO_DATA, not NXDOMAIN.
    expect((await t.client.resolveMx('test')).status).toBe(ResolveStatus.RESOLVE_STATUS_NO_DATA);
  });

  it('follows a CNAME from the mail domain to its MX records', async () => {
    const answer = await t.client.resolveMx('alias.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.hosts.map((h) => h.host)[0]).toBe('mx1.example.test');
    expect(answer.hosts).toHaveLength(5);
  });

  it('resolves an MX host that is a CNAME to its target addresses', async () => {
    const mx = await t.client.resolveMx('cnamed-mx.test');
    expect(mx.hosts).toEqual([
      { host: 'mail.cnamed-mx.test', preference: 5, ttlSeconds: expect.any(Number) },
    ]);
    const addresses = await t.client.resolveAddresses('mail.cnamed-mx.test');
    expect(addresses.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(addresses.addresses.map((a) => a.address)).toEqual(['192.0.2.1', '192.0.2.2', '2001:db8::1']);
  });

  it('answers SERVFAIL for a CNAME loop, and NXDOMAIN for a CNAME to nowhere', async () => {
    const loop = await t.client.resolveMx('loop1.test');
    expect(loop.status).toBe(ResolveStatus.RESOLVE_STATUS_SERVFAIL);
    expect(loop.detail).toMatch(/CNAME loop/);
    expect((await t.client.resolveMx('dangling.test')).status).toBe(ResolveStatus.RESOLVE_STATUS_NXDOMAIN);
  });

  it('tells SERVFAIL and REFUSED apart', async () => {
    const servfail = await t.client.resolveMx('broken.test');
    expect(servfail.status).toBe(ResolveStatus.RESOLVE_STATUS_SERVFAIL);
    expect(servfail.detail).toContain('SERVFAIL');
    const refused = await t.client.resolveMx('refused.test');
    expect(refused.status).toBe(ResolveStatus.RESOLVE_STATUS_REFUSED);
    expect(refused.detail).toContain('REFUSED');
  });

  it('does not cache SERVFAIL: the next call asks again', async () => {
    const before = dns.queryCount('broken.test', 'MX');
    await t.client.resolveMx('broken.test');
    await t.client.resolveMx('broken.test');
    expect(dns.queryCount('broken.test', 'MX')).toBe(before + 2);
  });

  it('answers TIMEOUT when the upstream never answers, after timeout × attempts', async () => {
    const started = Date.now();
    const answer = await t.client.resolveMx('hole.test');
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_TIMEOUT);
    expect(answer.detail).toMatch(/no answer from 127\.0\.0\.1:\d+ within 300 ms × 2/);
    expect(elapsed).toBeGreaterThanOrEqual(580);
    expect(elapsed).toBeLessThan(1_500);
    expect(dns.queryCount('hole.test', 'MX')).toBe(2);
  });

  it('matches names without regard to case or a trailing dot', async () => {
    const answer = await t.client.resolveMx('Example.TEST.');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.hosts[0]!.host).toBe('mx1.example.test');
  });

  it('refuses a name that is not a DNS name with INVALID_ARGUMENT', async () => {
    for (const bad of ['', 'a..b', 'exa mple.test', `${'a'.repeat(64)}.test`, '[192.0.2.1]']) {
      const error = await t.client.resolveMx(bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, bad).toBeInstanceOf(RpcError);
      expect((error as RpcError).code).toBe(GrpcStatus.INVALID_ARGUMENT);
    }
  });
});

describe('ResolveAddresses', () => {
  it('returns A records then AAAA records, each with family and TTL, IPv6 in RFC 5952 form', async () => {
    expect(await t.client.resolveAddresses('mx1.example.test')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      addresses: [
        { address: '192.0.2.1', family: AddressFamily.ADDRESS_FAMILY_IPV4, ttlSeconds: expect.any(Number) },
        { address: '192.0.2.2', family: AddressFamily.ADDRESS_FAMILY_IPV4, ttlSeconds: expect.any(Number) },
        { address: '2001:db8::1', family: AddressFamily.ADDRESS_FAMILY_IPV6, ttlSeconds: expect.any(Number) },
      ],
      detail: '',
      authenticated: false,
    });
    const { addresses } = await t.client.resolveAddresses('mx1.example.test');
    expect(addresses[1]!.ttlSeconds).toBeLessThanOrEqual(60);
    expect(addresses[0]!.ttlSeconds).toBeGreaterThan(250);
  });

  it('is OK with only one family, NO_DATA with none, NXDOMAIN for no such name', async () => {
    const v6 = await t.client.resolveAddresses('v6only.test');
    expect(v6.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(v6.addresses).toEqual([
      { address: '2001:db8::6', family: AddressFamily.ADDRESS_FAMILY_IPV6, ttlSeconds: expect.any(Number) },
    ]);
    expect((await t.client.resolveAddresses('nothing.test')).status).toBe(
      ResolveStatus.RESOLVE_STATUS_NO_DATA,
    );
    expect((await t.client.resolveAddresses('nowhere.test')).status).toBe(
      ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
    );
  });
});

describe('ResolveAddresses of one family', () => {
  it('asks only for that family and answers NO_DATA when it has none', async () => {
    const before = dns.queries.length;
    const v4 = await t.client.resolveAddresses('only-a.test', { family: AddressFamily.ADDRESS_FAMILY_IPV4 });
    expect(v4.addresses.map((a) => a.address)).toEqual(['192.0.2.8']);
    expect(dns.queries.slice(before).map((q) => `${q.type} ${q.name}`)).toEqual(['A only-a.test']);
    const none = await t.client.resolveAddresses('v6only.test', {
      family: AddressFamily.ADDRESS_FAMILY_IPV4,
    });
    expect(none.status).toBe(ResolveStatus.RESOLVE_STATUS_NO_DATA);
    expect(none.addresses).toEqual([]);
  });
});

describe('ResolvePtr', () => {
  it('answers the names of an IPv4 and an IPv6 address, lower case without the dot', async () => {
    expect(await t.client.resolvePtr('192.0.2.1')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      names: ['mx1.example.test'],
      ttlSeconds: expect.any(Number),
      detail: '',
    });
    expect((await t.client.resolvePtr('2001:0db8:0::1')).names).toEqual([
      'mx1.example.test',
      'other.example.test',
    ]);
  });

  it('reports NXDOMAIN for an address without reverse DNS and SERVFAIL as it comes', async () => {
    expect((await t.client.resolvePtr('192.0.2.200')).status).toBe(ResolveStatus.RESOLVE_STATUS_NXDOMAIN);
    expect((await t.client.resolvePtr('192.0.2.66')).status).toBe(ResolveStatus.RESOLVE_STATUS_SERVFAIL);
  });

  it('refuses what is not an IP address with INVALID_ARGUMENT', async () => {
    await expect(t.client.resolvePtr('mx1.example.test')).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
    });
  });
});

describe('ResolveTxt', () => {
  it('keeps each record as its character-strings, in order', async () => {
    const answer = await t.client.resolveTxt('spf.example.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.records).toEqual([
      { strings: ['v=spf1 ', 'ip4:192.0.2.0/24 ', '-all'], ttlSeconds: expect.any(Number) },
      { strings: ['google-site-verification=abc'], ttlSeconds: expect.any(Number) },
      { strings: ['é ü'], ttlSeconds: expect.any(Number) },
    ]);
    expect(answer.records[0]!.strings.join('')).toBe('v=spf1 ip4:192.0.2.0/24 -all');
    expect(answer.records[2]!.ttlSeconds).toBeLessThanOrEqual(42);
  });

  it('reads an answer too large for UDP over TCP', async () => {
    const before = dns.queries.filter((q) => q.name === 'big.test' && q.transport === 'tcp').length;
    const answer = await t.client.resolveTxt('big.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.records).toHaveLength(12);
    expect(dns.queries.filter((q) => q.name === 'big.test' && q.transport === 'tcp').length).toBe(before + 1);
  });

  it('reports NO_DATA and NXDOMAIN', async () => {
    expect((await t.client.resolveTxt('bare.test')).status).toBe(ResolveStatus.RESOLVE_STATUS_NO_DATA);
    expect((await t.client.resolveTxt('_dmarc.nowhere.test')).status).toBe(
      ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
    );
  });
});

describe('health and metrics', () => {
  it('serves grpc.health.v1: SERVING for the server and for the resolver service', async () => {
    const target = `127.0.0.1:${t.resolver.port}`;
    expect(await checkHealth(target)).toBe('SERVING');
    expect(await checkHealth(target, { service: RESOLVER_SERVICE_NAME })).toBe('SERVING');
    const unknown = await checkHealth(target, { service: 'no.such.Service' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((unknown as RpcError).code).toBe(GrpcStatus.NOT_FOUND);
    await expect(t.resolver.ready()).resolves.toBeUndefined();
  });

  it('counts queries by RPC and status, cache hits and misses, upstream errors and latency', async () => {
    await t.client.resolveMx('example.test');
    await t.client.resolveMx('broken.test');
    await t.client.resolveMx('refused.test');
    await t.client.resolveMx('nowhere.test');
    expect(await t.metric('tegami_dns_queries_total', { rpc: 'ResolveMx', status: 'ok' })).toBeGreaterThan(
      60,
    );
    expect(
      await t.metric('tegami_dns_queries_total', { rpc: 'ResolveMx', status: 'servfail' }),
    ).toBeGreaterThan(0);
    expect(
      await t.metric('tegami_dns_queries_total', { rpc: 'ResolveMx', status: 'refused' }),
    ).toBeGreaterThan(0);
    expect(await t.metric('tegami_dns_queries_total', { rpc: 'ResolveMx', status: 'null_mx' })).toBe(1);
    expect(await t.metric('tegami_dns_queries_total', { rpc: 'ResolveTxt', status: 'ok' })).toBeGreaterThan(
      0,
    );
    expect(
      await t.metric('tegami_dns_queries_total', { rpc: 'ResolveAddresses', status: 'ok' }),
    ).toBeGreaterThan(0);
    expect(await t.metric('tegami_dns_cache_hits_total', { type: 'MX' })).toBeGreaterThan(60);
    expect(await t.metric('tegami_dns_cache_misses_total', { type: 'MX' })).toBeGreaterThan(5);
    expect(await t.metric('tegami_dns_cache_entries')).toBeGreaterThan(5);
    for (const kind of ['timeout', 'servfail', 'refused', 'nxdomain']) {
      expect(await t.metric('tegami_dns_upstream_errors_total', { kind }), kind).toBeGreaterThan(0);
    }
    const latency = await t.registry.getSingleMetric('tegami_dns_upstream_duration_seconds')!.get();
    const count = (transport: string) =>
      (latency.values as { metricName?: string; labels: Record<string, unknown>; value: number }[]).find(
        (v) =>
          v.metricName === 'tegami_dns_upstream_duration_seconds_count' &&
          v.labels['transport'] === transport,
      )?.value ?? 0;
    expect(count('udp')).toBeGreaterThan(5);
    expect(count('tcp')).toBeGreaterThan(0);
    const text = await t.registry.metrics();
    expect(text).toMatch(/tegami_dns_queries_total\{rpc="ResolveMx",status="nxdomain"\} [1-9]/);
  });
});
