import { ConfigError, readConfig } from '@tegami/runtime';
import { describe, expect, it } from 'vitest';
import { connectionCheckSettings } from './settings.js';

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
    expect(() => read({ TEGAMI_SMTP_DNSBL: 'localhost' })).toThrow(/not a DNS zone name/);
  });
});
