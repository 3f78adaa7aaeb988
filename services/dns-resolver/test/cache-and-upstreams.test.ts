import { createSocket } from 'node:dgram';
import { ResolveStatus } from '@tegami/rpc';
import { startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, startTestResolver, type TestResolver } from './test-resolver.js';

// Each test starts its own DNS servers and resolver (each with an empty cache) and stops them after.
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function dnsServer(options: Parameters<typeof startTestDnsServer>[0]): Promise<TestDnsServer> {
  const server = await startTestDnsServer(options);
  cleanups.push(() => server.stop());
  return server;
}

async function resolver(...args: Parameters<typeof startTestResolver>): Promise<TestResolver> {
  const started = await startTestResolver(...args);
  cleanups.push(() => started.stop());
  return started;
}

describe('upstream servers', () => {
  it('fails over to the second upstream when the first never answers', async () => {
    const dead = await dnsServer({ silent: true });
    const good = await dnsServer({
      records: { 'example.test': { mx: [{ preference: 10, exchange: 'mx.example.test' }] } },
    });
    const t = await resolver([dead.address, good.address], { timeoutMs: 200, attempts: 1 });
    const started = Date.now();
    const answer = await t.client.resolveMx('example.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.hosts.map((h) => h.host)).toEqual(['mx.example.test']);
    expect(dead.queryCount('example.test', 'MX')).toBe(1);
    expect(good.queryCount('example.test', 'MX')).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(await t.metric('tegami_dns_upstream_errors_total', { kind: 'timeout' })).toBe(1);
  });

  it('fails over to the second upstream when the first answers SERVFAIL', async () => {
    const broken = await dnsServer({ records: { 'example.test': { rcode: 'SERVFAIL' } } });
    const good = await dnsServer({ records: { 'example.test': { a: ['192.0.2.1'] } } });
    const t = await resolver([broken.address, good.address]);
    const answer = await t.client.resolveAddresses('example.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.addresses.map((a) => a.address)).toEqual(['192.0.2.1']);
  });

  it('answers TIMEOUT after timeout × attempts × servers when none answers', async () => {
    const first = await dnsServer({ silent: true });
    const second = await dnsServer({ silent: true });
    const t = await resolver([first.address, second.address], { timeoutMs: 150, attempts: 2 });
    const started = Date.now();
    const answer = await t.client.resolveTxt('example.test');
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_TIMEOUT);
    expect(elapsed).toBeGreaterThanOrEqual(4 * 150 - 20);
    expect(elapsed).toBeLessThan(4 * 150 + 700);
    expect(first.queryCount()).toBe(2);
    expect(second.queryCount()).toBe(2);
  });

  it('answers TIMEOUT at once when the upstream port is closed (ICMP unreachable)', async () => {
    const gone = await startTestDnsServer({});
    const address = gone.address;
    await gone.stop();
    const t = await resolver([address], { timeoutMs: 2_000, attempts: 2 });
    const started = Date.now();
    const answer = await t.client.resolveMx('example.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_TIMEOUT);
    expect(answer.detail).toMatch(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await t.metric('tegami_dns_upstream_errors_total', { kind: 'network' })).toBe(2);
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    const dns = await dnsServer({
      truncateUdp: true,
      records: { 'example.test': { mx: [{ preference: 10, exchange: 'mx.example.test' }] } },
    });
    const t = await resolver([dns.address]);
    const answer = await t.client.resolveMx('example.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.hosts.map((h) => h.host)).toEqual(['mx.example.test']);
    expect(dns.queries.filter((q) => q.name === 'example.test').map((q) => q.transport)).toEqual([
      'udp',
      'tcp',
    ]);
  });

  it('asks for the target itself when the upstream gives only the CNAME', async () => {
    const dns = await dnsServer({
      chaseCnames: false,
      records: {
        'alias.test': { cname: 'mail.alias.test' },
        'mail.alias.test': { cname: 'real.test' },
        'real.test': { mx: [{ preference: 1, exchange: 'mx.real.test' }] },
        'nodata.test': { cname: 'real.test' },
      },
    });
    const t = await resolver([dns.address]);
    const answer = await t.client.resolveMx('alias.test');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.hosts.map((h) => h.host)).toEqual(['mx.real.test']);
    expect(dns.queries.filter((q) => q.type === 'MX').map((q) => q.name)).toEqual([
      'alias.test',
      'mail.alias.test',
      'real.test',
    ]);
    // The target exists but has no TXT: NO_DATA, after asking it.
    expect((await t.client.resolveTxt('nodata.test')).status).toBe(ResolveStatus.RESOLVE_STATUS_NO_DATA);
    expect(dns.queryCount('real.test', 'TXT')).toBe(1);
  });

  it('ignores answers with another id or another question, and takes the real one (RFC 5452)', async () => {
    // A hand-made upstream that answers every query three times: two forgeries, then the truth.
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => socket.close(() => resolve())));
    socket.on('message', (message, from) => {
      const query = dnsPacket.decode(message);
      const question = query.questions![0]!;
      const answer = (id: number, name: string, address: string) =>
        dnsPacket.encode({
          type: 'response',
          id,
          flags: dnsPacket.RECURSION_AVAILABLE,
          questions: [{ ...question, name }],
          answers: [{ type: 'A', name, ttl: 60, data: address }],
        });
      const send = (packet: Buffer) => socket.send(packet, from.port, from.address);
      send(answer((query.id! + 1) % 65_536, question.name, '198.51.100.66'));
      send(answer(query.id!, 'evil.test', '198.51.100.66'));
      setTimeout(() => send(answer(query.id!, question.name, '192.0.2.5')), 30);
    });
    const t = await resolver([`127.0.0.1:${socket.address().port}`], { timeoutMs: 1_000 });
    const answer = await t.client.resolveAddresses('x.test');
    expect(answer.addresses.filter((a) => a.family === 1).map((a) => a.address)).toEqual(['192.0.2.5']);
  });
});

describe('the cache', () => {
  it('answers from the cache until the TTL passes, then asks again', async () => {
    const dns = await dnsServer({ records: { 'short.test': { a: ['192.0.2.1'], ttl: 1 } } });
    const t = await resolver([dns.address]);
    const first = await t.client.resolveAddresses('short.test');
    expect(first.addresses[0]!.ttlSeconds).toBe(1);
    await t.client.resolveAddresses('short.test');
    expect(dns.queryCount('short.test', 'A')).toBe(1);
    expect(await t.metric('tegami_dns_cache_hits_total', { type: 'A' })).toBe(1);
    await sleep(1_100);
    const third = await t.client.resolveAddresses('short.test');
    expect(third.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(dns.queryCount('short.test', 'A')).toBe(2);
  });

  it('sees a changed zone only after the old answer expires', async () => {
    const dns = await dnsServer({ records: { 'moving.test': { a: ['192.0.2.1'], ttl: 1 } } });
    const t = await resolver([dns.address]);
    expect((await t.client.resolveAddresses('moving.test')).addresses[0]!.address).toBe('192.0.2.1');
    dns.setRecords({ 'moving.test': { a: ['192.0.2.2'], ttl: 1 } });
    expect((await t.client.resolveAddresses('moving.test')).addresses[0]!.address).toBe('192.0.2.1');
    await sleep(1_100);
    expect((await t.client.resolveAddresses('moving.test')).addresses[0]!.address).toBe('192.0.2.2');
  });

  it('does not keep records with TTL 0', async () => {
    const dns = await dnsServer({ records: { 'zero.test': { txt: ['v'], ttl: 0 } } });
    const t = await resolver([dns.address]);
    await t.client.resolveTxt('zero.test');
    await t.client.resolveTxt('zero.test');
    expect(dns.queryCount('zero.test', 'TXT')).toBe(2);
  });

  it('keeps a negative answer for min(SOA TTL, SOA MINIMUM) (RFC 2308)', async () => {
    const dns = await dnsServer({
      records: { 'exists.test': { a: ['192.0.2.1'] } },
      soa: { ttl: 3600, minimum: 1 },
    });
    const t = await resolver([dns.address], { negativeTtlMaxMs: 60_000 });
    expect((await t.client.resolveMx('gone.test')).status).toBe(ResolveStatus.RESOLVE_STATUS_NXDOMAIN);
    expect((await t.client.resolveMx('gone.test')).status).toBe(ResolveStatus.RESOLVE_STATUS_NXDOMAIN);
    expect(dns.queryCount('gone.test', 'MX')).toBe(1);
    await sleep(1_100);
    await t.client.resolveMx('gone.test');
    expect(dns.queryCount('gone.test', 'MX')).toBe(2);
  });

  it('caps how long a negative answer is kept, however long its SOA allows', async () => {
    const dns = await dnsServer({
      records: { 'exists.test': { a: ['192.0.2.1'] } },
      soa: { ttl: 86_400, minimum: 86_400 },
    });
    const t = await resolver([dns.address], { negativeTtlMaxMs: 1_000 });
    // NODATA (the name exists, no TXT) and NXDOMAIN are both negative answers.
    await t.client.resolveTxt('exists.test');
    await t.client.resolveTxt('gone.test');
    await t.client.resolveTxt('exists.test');
    await t.client.resolveTxt('gone.test');
    expect(dns.queryCount('exists.test', 'TXT')).toBe(1);
    expect(dns.queryCount('gone.test', 'TXT')).toBe(1);
    // The zone gains the record: the negative answer hides it only until the cap.
    dns.setRecords({ 'exists.test': { a: ['192.0.2.1'], txt: ['now'] } });
    expect((await t.client.resolveTxt('exists.test')).status).toBe(ResolveStatus.RESOLVE_STATUS_NO_DATA);
    await sleep(1_100);
    const fresh = await t.client.resolveTxt('exists.test');
    expect(fresh.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(fresh.records[0]!.strings).toEqual(['now']);
  });

  it('does not keep a negative answer without an SOA', async () => {
    const dns = await dnsServer({ records: {}, soa: false });
    const t = await resolver([dns.address]);
    await t.client.resolveMx('gone.test');
    await t.client.resolveMx('gone.test');
    expect(dns.queryCount('gone.test', 'MX')).toBe(2);
  });

  it('holds at most the configured number of entries, dropping the least recently used', async () => {
    const dns = await dnsServer({
      records: { 'one.test': { txt: ['1'] }, 'two.test': { txt: ['2'] }, 'three.test': { txt: ['3'] } },
    });
    const t = await resolver([dns.address], { cacheEntries: 2 });
    await t.client.resolveTxt('one.test');
    await t.client.resolveTxt('two.test');
    await t.client.resolveTxt('one.test'); // hit: one is now the most recently used
    await t.client.resolveTxt('three.test'); // evicts two
    expect(await t.metric('tegami_dns_cache_entries')).toBe(2);
    await t.client.resolveTxt('one.test'); // still cached: [three, one]
    expect(dns.queryCount('one.test')).toBe(1);
    await t.client.resolveTxt('two.test'); // asked again, evicts three: [one, two]
    expect(dns.queryCount('two.test')).toBe(2);
    await t.client.resolveTxt('one.test'); // still cached: [two, one]
    expect(dns.queryCount('one.test')).toBe(1);
    await t.client.resolveTxt('three.test'); // asked again, evicts two: [one, three]
    expect(dns.queryCount('three.test')).toBe(2);
    await t.client.resolveTxt('one.test');
    expect(dns.queryCount('one.test')).toBe(1);
    expect(await t.metric('tegami_dns_cache_entries')).toBe(2);
  });

  it('sends one upstream query for 10 concurrent identical calls', async () => {
    // TTL 0: nothing is cached, so only coalescing can save the other nine queries.
    const dns = await dnsServer({
      records: { 'slow.test': { a: ['192.0.2.9'], aaaa: ['2001:db8::9'], ttl: 0, delayMs: 200 } },
    });
    const t = await resolver([dns.address]);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => t.client.resolveAddresses('slow.test')),
    );
    for (const answer of answers) {
      expect(answer.addresses.map((a) => a.address)).toEqual(['192.0.2.9', '2001:db8::9']);
    }
    expect(dns.queryCount('slow.test', 'A')).toBe(1);
    expect(dns.queryCount('slow.test', 'AAAA')).toBe(1);
    expect(await t.metric('tegami_dns_coalesced_total', { type: 'A' })).toBe(9);
    await t.client.resolveAddresses('slow.test');
    expect(dns.queryCount('slow.test', 'A')).toBe(2);
  });

  it('coalesces concurrent lookups that fail, and asks again afterwards', async () => {
    const dns = await dnsServer({ records: { 'flaky.test': { rcode: 'SERVFAIL', delayMs: 150 } } });
    const t = await resolver([dns.address], { attempts: 1 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => t.client.resolveMx('flaky.test')));
    expect(answers.every((a) => a.status === ResolveStatus.RESOLVE_STATUS_SERVFAIL)).toBe(true);
    expect(dns.queryCount('flaky.test', 'MX')).toBe(1);
    dns.setRecords({ 'flaky.test': { mx: [{ preference: 10, exchange: 'mx.flaky.test' }] } });
    expect((await t.client.resolveMx('flaky.test')).status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
  });
});
