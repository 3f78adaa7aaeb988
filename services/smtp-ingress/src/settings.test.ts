import { ConfigError, readConfig } from '@tegami/runtime';
import { describe, expect, it } from 'vitest';
import { connectionCheckSettings, inboundCheckSettings } from './settings.js';

const read = (env: Record<string, string>) => readConfig({ checks: connectionCheckSettings() }, env).checks;

describe('connection check settings', () => {
  it('are all off by default', () => {
    expect(read({})).toEqual({ dnsblZones: [], requireReverseDns: false, heloChecks: false });
  });

  it('read the DNSBL zones in order, in lower case, without trailing dots or repeats', () => {
    expect(
      read({
        TEGAMI_SMTP_DNSBL: 'zen.spamhaus.org, BL.Example.  ,, bl.example',
        TEGAMI_SMTP_REQUIRE_REVERSE_DNS: 'true',
        TEGAMI_SMTP_HELO_CHECKS: 'true',
      }),
    ).toEqual({ dnsblZones: ['zen.spamhaus.org', 'bl.example'], requireReverseDns: true, heloChecks: true });
  });

  it('refuse a zone that is not a DNS name', () => {
    expect(() => read({ TEGAMI_SMTP_DNSBL: 'zen.spamhaus.org, bad zone!' })).toThrow(ConfigError);
    expect(() => read({ TEGAMI_SMTP_DNSBL: 'localhost' })).toThrow(/not a domain name/);
  });
});

describe('inbound check settings', () => {
  const inbound = (env: Record<string, string>) => readConfig(inboundCheckSettings(), env);

  it('default to the checks on, DMARC followed, no rspamd, accept when rspamd fails, results counted', () => {
    expect(inbound({})).toEqual({
      mailAuth: true,
      mailAuthTimeoutMs: 15_000,
      dmarcEnforcement: 'reject',
      arcTrustedSealers: undefined,
      rspamdUrl: undefined,
      rspamdTimeoutMs: 10_000,
      rspamdFailure: 'accept',
      recordDmarcResults: true,
    });
    // The standalone counts nothing for reports unless told to (TEGAMI_REPORTS).
    expect(readConfig(inboundCheckSettings(), {}, { service: 'standalone' }).recordDmarcResults).toBe(false);
    expect(inbound({ TEGAMI_REPORTS: 'false' }).recordDmarcResults).toBe(false);
  });

  it('read the trusted sealers, the rspamd URL and the policies, and refuse what they cannot be', () => {
    expect(
      inbound({
        TEGAMI_ARC_TRUSTED_SEALERS: 'Lists.Example.org., forwarder.example.net',
        TEGAMI_RSPAMD_URL: 'http://rspamd:11333/',
        TEGAMI_DMARC_ENFORCEMENT: 'Quarantine',
        TEGAMI_RSPAMD_FAILURE: 'tempfail',
      }),
    ).toMatchObject({
      arcTrustedSealers: ['lists.example.org', 'forwarder.example.net'],
      rspamdUrl: 'http://rspamd:11333',
      dmarcEnforcement: 'quarantine',
      rspamdFailure: 'tempfail',
    });
    expect(() => inbound({ TEGAMI_RSPAMD_URL: 'rspamd:11333' })).toThrow(/http/);
    expect(() => inbound({ TEGAMI_DMARC_ENFORCEMENT: 'drop' })).toThrow(/reject, quarantine, report/);
    expect(() => inbound({ TEGAMI_ARC_TRUSTED_SEALERS: 'not a domain' })).toThrow(/not a domain name/);
  });
});
