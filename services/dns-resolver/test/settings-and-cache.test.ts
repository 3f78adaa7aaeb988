import { getServers } from 'node:dns';
import { ConfigError, readConfig } from '@tegami/runtime';
import { describe, expect, it } from 'vitest';
import { AnswerCache } from '../src/answer-cache.js';
import { dnsResolverSettings, parseUpstream } from '../src/index.js';

describe('TEGAMI_DNS_UPSTREAMS', () => {
  it('takes IPv4 and IPv6 addresses with or without a port, as node:dns writes them', () => {
    expect(parseUpstream('192.0.2.53')).toEqual({ host: '192.0.2.53', port: 53 });
    expect(parseUpstream('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseUpstream('2001:db8::53')).toEqual({ host: '2001:db8::53', port: 53 });
    expect(parseUpstream('[2001:db8::53]:5300')).toEqual({ host: '2001:db8::53', port: 5300 });
    expect(parseUpstream('[::1]')).toEqual({ host: '::1', port: 53 });
  });

  it('refuses host names (DNS cannot be needed to find DNS) and bad ports', () => {
    for (const bad of [
      'dns.example.com',
      'dns.example.com:53',
      '127.0.0.1:0',
      '127.0.0.1:70000',
      '[::1]:x',
      '',
    ]) {
      expect(parseUpstream(bad), bad).toBeUndefined();
    }
  });

  it('reads the whole configuration, with defaults', () => {
    const config = readConfig(dnsResolverSettings(), { TEGAMI_DNS_UPSTREAMS: '127.0.0.1:5353, [::1]:53' });
    expect(config).toEqual({
      grpcHost: '0.0.0.0',
      grpcPort: 50051,
      upstreams: [
        { host: '127.0.0.1', port: 5353 },
        { host: '::1', port: 53 },
      ],
      timeoutMs: 2000,
      attempts: 2,
      cacheEntries: 10_000,
      negativeTtlMaxMs: 300_000,
    });
    const custom = readConfig(dnsResolverSettings(), {
      TEGAMI_DNS_UPSTREAMS: '10.0.0.10',
      TEGAMI_DNS_TIMEOUT_MS: '750ms',
      TEGAMI_DNS_NEGATIVE_TTL_MAX_MS: '30s',
      TEGAMI_DNS_ATTEMPTS: '3',
    });
    expect(custom).toMatchObject({ timeoutMs: 750, negativeTtlMaxMs: 30_000, attempts: 3 });
  });

  it('defaults to the system resolver servers', (ctx) => {
    ctx.skip(getServers().length === 0, 'no system DNS servers here');
    const config = readConfig(dnsResolverSettings(), {});
    expect(config.upstreams.length).toBe(getServers().length);
  });

  it('names the variable when an entry is wrong', () => {
    expect(() =>
      readConfig(dnsResolverSettings(), { TEGAMI_DNS_UPSTREAMS: '127.0.0.1,resolver.local' }),
    ).toThrow(ConfigError);
    expect(() =>
      readConfig(dnsResolverSettings(), { TEGAMI_DNS_UPSTREAMS: '127.0.0.1,resolver.local' }),
    ).toThrow(/TEGAMI_DNS_UPSTREAMS.*resolver\.local/);
  });
});

describe('AnswerCache', () => {
  it('forgets an entry when its TTL runs out', () => {
    let now = 1_000;
    const cache = new AnswerCache<string>(10, () => now);
    cache.set('a', 'A', 500);
    now += 499;
    expect(cache.get('a')).toBe('A');
    now += 1;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps nothing for a TTL of 0, or when its size is 0', () => {
    const cache = new AnswerCache<string>(10);
    cache.set('a', 'A', 0);
    expect(cache.get('a')).toBeUndefined();
    const off = new AnswerCache<string>(0);
    off.set('a', 'A', 1000);
    expect(off.get('a')).toBeUndefined();
  });

  it('drops the least recently used entry past its size', () => {
    const cache = new AnswerCache<number>(3);
    for (const key of ['a', 'b', 'c']) cache.set(key, 1, 60_000);
    cache.get('a');
    cache.set('d', 1, 60_000);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 1, 1]);
    expect(cache.size).toBe(3);
  });
});
