import { describe, expect, it } from 'vitest';
import { DEFAULT_TLS12_CIPHERS } from '../tls.js';
import { proxyProtocolSettings, tlsPolicySettings } from './common.js';
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

describe('tlsPolicySettings', () => {
  const read = (env: Record<string, string>) => readConfig({ tls: tlsPolicySettings() }, env).tls;

  it('defaults to the forward-secret AEAD suites from TLS 1.2 on', () => {
    expect(read({})).toEqual({ ciphers: DEFAULT_TLS12_CIPHERS, minVersion: 'TLSv1.2' });
  });

  it('takes a cipher string and TLS 1.3 as the oldest version', () => {
    expect(read({ TEGAMI_TLS_CIPHERS: 'ECDHE+AESGCM', TEGAMI_TLS_MIN_VERSION: 'tlsv1.3' })).toEqual({
      ciphers: 'ECDHE+AESGCM',
      minVersion: 'TLSv1.3',
    });
  });

  it('refuses a cipher string that selects no cipher, and versions older than TLS 1.2', () => {
    expect(() => read({ TEGAMI_TLS_CIPHERS: 'ECDHE-RSA-AES128-GCM-SHA257' })).toThrow(
      /^TEGAMI_TLS_CIPHERS: an OpenSSL cipher string that selects no cipher \("ECDHE-RSA-AES128-GCM-SHA257"\)/,
    );
    expect(() => read({ TEGAMI_TLS_MIN_VERSION: 'TLSv1.1' })).toThrow(
      'TEGAMI_TLS_MIN_VERSION: must be one of TLSv1.2, TLSv1.3 (got "TLSv1.1")',
    );
  });
});
