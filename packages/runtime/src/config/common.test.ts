import { describe, expect, it } from 'vitest';
import { proxyProtocolSettings } from './common.js';
import { readConfig } from './read.js';

describe('proxyProtocolSettings', () => {
  const read = (env: Record<string, string>) => readConfig({ proxy: proxyProtocolSettings() }, env).proxy;

  it('is off by default, and trusts nobody', () => {
    const policy = read({});
    expect(policy.enabled).toBe(false);
    expect(policy.trusted.entries).toEqual([]);
  });

  it('reads the trusted ranges', () => {
    const policy = read({
      TEGAMI_PROXY_PROTOCOL: 'true',
      TEGAMI_PROXY_TRUSTED_CIDRS: '10.0.0.0/8, fd00::/8',
    });
    expect(policy.enabled).toBe(true);
    expect(policy.trusted.contains('10.1.2.3')).toBe(true);
    expect(policy.trusted.contains('::ffff:10.1.2.3')).toBe(true);
    expect(policy.trusted.contains('192.0.2.1')).toBe(false);
  });

  it('refuses to turn on without trusted ranges, and names a bad range', () => {
    expect(() => read({ TEGAMI_PROXY_PROTOCOL: 'true' })).toThrow(/TEGAMI_PROXY_TRUSTED_CIDRS.*not set/);
    expect(() => read({ TEGAMI_PROXY_PROTOCOL: 'true', TEGAMI_PROXY_TRUSTED_CIDRS: '10.0.0.0/33' })).toThrow(
      /TEGAMI_PROXY_TRUSTED_CIDRS/,
    );
  });
});
