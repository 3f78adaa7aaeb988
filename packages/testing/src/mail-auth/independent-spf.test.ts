import { Resolver } from 'node:dns/promises';
import { spf as mailauthSpf } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  reverseDnsName,
  startTestDnsServer,
  type TestDnsRecords,
  type TestDnsServer,
} from '../dns-server.js';
import { type IndependentSpfResult, spfCheckIndependently } from './independent-verification.js';
import { independentMailAuth } from './python-runner.js';

const tools = independentMailAuth();
const skipNote = tools.available ? '' : ` (skipped: ${tools.reason})`;

/** `top` includes i1, i1 includes i2, … the last one authorizes 192.0.2.0/24: `includes` lookups in all. */
function includeChain(top: string, includes: number): TestDnsRecords {
  const records: Record<string, TestDnsRecords[string]> = {};
  const nameOf = (i: number) => (i === 0 ? top : `i${i}.${top}`);
  for (let i = 0; i < includes; i++) records[nameOf(i)] = { txt: [`v=spf1 include:${nameOf(i + 1)} -all`] };
  records[nameOf(includes)] = { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] };
  return records;
}

const zone: TestDnsRecords = {
  'pass.test': { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] },
  'soft.test': { txt: ['v=spf1 ip4:192.0.2.0/24 ~all'] },
  'neutral.test': { txt: ['v=spf1 ip4:192.0.2.0/24 ?all'] },
  'nospf.test': {
    txt: ['google-site-verification=abc'],
    mx: [{ preference: 10, exchange: 'mx.nospf.test' }],
  },
  'broken.test': { rcode: 'SERVFAIL' },
  'hole.test': { drop: true },
  'syntax.test': { txt: ['v=spf1 ip4:192.0.2.0/24 frobnicate:example.test -all'] },
  'badcidr.test': { txt: ['v=spf1 ip4:192.0.2.0/33 -all'] },
  'two.test': { txt: ['v=spf1 ip4:192.0.2.0/24 -all', 'v=spf1 -all'] },
  ...includeChain('ten.test', 10),
  ...includeChain('eleven.test', 11),
  'voids2.test': { txt: ['v=spf1 a:v1.nowhere.test a:v2.nowhere.test ip4:192.0.2.0/24 -all'] },
  'voids3.test': {
    txt: ['v=spf1 a:v1.nowhere.test a:v2.nowhere.test a:v3.nowhere.test ip4:192.0.2.0/24 -all'],
  },
  'mx.test': { txt: ['v=spf1 mx -all'], mx: [{ preference: 10, exchange: 'mail.mx.test' }] },
  'mail.mx.test': { a: ['198.51.100.7'], aaaa: ['2001:db8::25'] },
  'ptr.test': { txt: ['v=spf1 ptr -all'] },
  [reverseDnsName('198.51.100.9')]: { ptr: ['host.ptr.test'] },
  'host.ptr.test': { a: ['198.51.100.9'] },
  'exists.test': { txt: ['v=spf1 exists:%{i}.allow.exists.test -all'] },
  '192.0.2.77.allow.exists.test': { a: ['127.0.0.2'] },
  'alias.test': { cname: 'pass.test' },
  // Joined without a separator (RFC 7208 §3.3): with one, "…/2 4" would be a syntax error.
  'split.test': { txt: [['v=spf1 ip4:192.0.2.0/2', '4 -all']] },
  'redirect.test': { txt: ['v=spf1 redirect=pass.test'] },
  'include-none.test': { txt: ['v=spf1 include:nospf.test -all'] },
  'include-broken.test': { txt: ['v=spf1 include:broken.test -all'] },
  'helo.test': { txt: ['v=spf1 ip4:203.0.113.5 -all'] },
};

interface SpfCase {
  readonly name: string;
  readonly ip: string;
  readonly sender: string;
  readonly helo: string;
  /** RFC 7208's verdict, which pyspf gives. */
  readonly expected: IndependentSpfResult;
  /** Where mailauth 4.13.3 departs from RFC 7208 (what Tegami must correct or document). */
  readonly mailauth?: IndependentSpfResult;
}

const cases: SpfCase[] = [
  {
    name: 'pass: the client is in ip4',
    ip: '192.0.2.10',
    sender: 'a@pass.test',
    helo: 'c.test',
    expected: 'pass',
  },
  { name: 'fail: -all', ip: '198.51.100.1', sender: 'a@pass.test', helo: 'c.test', expected: 'fail' },
  { name: 'softfail: ~all', ip: '198.51.100.1', sender: 'a@soft.test', helo: 'c.test', expected: 'softfail' },
  {
    name: 'neutral: ?all',
    ip: '198.51.100.1',
    sender: 'a@neutral.test',
    helo: 'c.test',
    expected: 'neutral',
  },
  {
    name: 'none: no SPF record',
    ip: '198.51.100.1',
    sender: 'a@nospf.test',
    helo: 'c.test',
    expected: 'none',
  },
  { name: 'none: NXDOMAIN', ip: '198.51.100.1', sender: 'a@nowhere.test', helo: 'c.test', expected: 'none' },
  {
    name: 'temperror: SERVFAIL',
    ip: '192.0.2.10',
    sender: 'a@broken.test',
    helo: 'c.test',
    expected: 'temperror',
  },
  {
    name: 'temperror: no answer',
    ip: '192.0.2.10',
    sender: 'a@hole.test',
    helo: 'c.test',
    expected: 'temperror',
  },
  {
    name: 'permerror: unknown mechanism',
    ip: '192.0.2.10',
    sender: 'a@syntax.test',
    helo: 'c.test',
    expected: 'permerror',
  },
  {
    name: 'permerror: /33 on ip4',
    ip: '192.0.2.10',
    sender: 'a@badcidr.test',
    helo: 'c.test',
    expected: 'permerror',
  },
  {
    name: 'permerror: two SPF records',
    ip: '192.0.2.10',
    sender: 'a@two.test',
    helo: 'c.test',
    expected: 'permerror',
  },
  {
    name: 'pass: 10 nested includes',
    ip: '192.0.2.10',
    sender: 'a@ten.test',
    helo: 'c.test',
    expected: 'pass',
  },
  {
    name: 'permerror: 11 nested includes',
    ip: '192.0.2.10',
    sender: 'a@eleven.test',
    helo: 'c.test',
    expected: 'permerror',
  },
  {
    name: 'pass: 2 void lookups',
    ip: '192.0.2.10',
    sender: 'a@voids2.test',
    helo: 'c.test',
    expected: 'pass',
  },
  {
    name: 'permerror: 3 void lookups',
    ip: '192.0.2.10',
    sender: 'a@voids3.test',
    helo: 'c.test',
    expected: 'permerror',
  },
  { name: 'pass: mx over IPv4', ip: '198.51.100.7', sender: 'a@mx.test', helo: 'c.test', expected: 'pass' },
  { name: 'pass: mx over IPv6', ip: '2001:db8::25', sender: 'a@mx.test', helo: 'c.test', expected: 'pass' },
  { name: 'pass: ptr validated', ip: '198.51.100.9', sender: 'a@ptr.test', helo: 'c.test', expected: 'pass' },
  { name: 'fail: ptr absent', ip: '198.51.100.10', sender: 'a@ptr.test', helo: 'c.test', expected: 'fail' },
  {
    name: 'pass: exists with %{i}',
    ip: '192.0.2.77',
    sender: 'a@exists.test',
    helo: 'c.test',
    expected: 'pass',
  },
  {
    name: 'pass: record behind a CNAME',
    ip: '192.0.2.10',
    sender: 'a@alias.test',
    helo: 'c.test',
    expected: 'pass',
  },
  {
    name: 'pass: character-strings joined',
    ip: '192.0.2.10',
    sender: 'a@split.test',
    helo: 'c.test',
    expected: 'pass',
  },
  {
    name: 'fail: redirect=',
    ip: '198.51.100.1',
    sender: 'a@redirect.test',
    helo: 'c.test',
    expected: 'fail',
  },
  {
    name: 'permerror: include of a domain without SPF',
    ip: '192.0.2.10',
    sender: 'a@include-none.test',
    helo: 'c.test',
    expected: 'permerror',
  },
  {
    name: 'temperror: include of a SERVFAIL',
    ip: '192.0.2.10',
    sender: 'a@include-broken.test',
    helo: 'c.test',
    // RFC 7208 §5.2: an include whose check_host gives temperror gives temperror. mailauth
    // 4.13.3 ignored it (the include did not match and the record went on to -all, `fail`);
    // patches/mailauth@4.13.3.patch makes it temperror, as pyspf says.
    expected: 'temperror',
  },
  {
    name: 'pass: HELO identity (null sender)',
    ip: '203.0.113.5',
    sender: '',
    helo: 'helo.test',
    expected: 'pass',
  },
  {
    name: 'fail: HELO identity (null sender)',
    ip: '203.0.113.6',
    sender: '',
    helo: 'helo.test',
    expected: 'fail',
  },
];

describe.skipIf(!tools.available)(`pyspf checks SPF against the test zone${skipNote}`, () => {
  it.each(cases)('$name', async ({ ip, sender, helo, expected }) => {
    const verdict = await spfCheckIndependently({ ip, sender, helo }, zone);
    expect(verdict.result, verdict.explanation).toBe(expected);
  });

  it('stops at the 11th lookup of a chain of includes, and says why', async () => {
    const verdict = await spfCheckIndependently(
      { ip: '192.0.2.10', sender: 'a@eleven.test', helo: 'c.test' },
      zone,
    );
    expect(verdict.explanation).toMatch(/Too many DNS lookups/);
    expect(verdict.dnsQueries.map((q) => q.name)).not.toContain('i11.eleven.test');
  });

  it('stops at the third void lookup', async () => {
    const verdict = await spfCheckIndependently(
      { ip: '192.0.2.10', sender: 'a@voids3.test', helo: 'c.test' },
      zone,
    );
    expect(verdict.explanation).toMatch(/Void lookup limit of 2 exceeded/);
  });

  it('checks the HELO identity for the null sender, the MAIL FROM identity otherwise', async () => {
    const helo = await spfCheckIndependently({ ip: '203.0.113.5', sender: '', helo: 'helo.test' }, zone);
    expect(helo).toMatchObject({ identity: 'helo', dnsQueries: [{ name: 'helo.test', type: 'TXT' }] });
    const mailFrom = await spfCheckIndependently(
      { ip: '203.0.113.5', sender: 'a@pass.test', helo: 'helo.test' },
      zone,
    );
    expect(mailFrom).toMatchObject({
      identity: 'mailfrom',
      dnsQueries: [{ name: 'pass.test', type: 'TXT' }],
    });
  });

  it('says permerror for a client address that is not one', async () => {
    const verdict = await spfCheckIndependently(
      { ip: '192.0.2.300', sender: 'a@pass.test', helo: 'c.test' },
      zone,
    );
    expect(verdict.result).toBe('permerror');
  });
});

// The same table through mailauth (what Tegami runs) and the test DNS server serving the
// zone: the expected verdicts are not pyspf's quirks, and the tests that cross-check Tegami
// with pyspf later compare like with like.
describe('mailauth reaches the same SPF verdicts through the test DNS server, except where noted', () => {
  let dns: TestDnsServer;
  let resolver: Resolver;

  beforeAll(async () => {
    dns = await startTestDnsServer({ records: zone });
    resolver = new Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([dns.address]);
  });

  afterAll(async () => {
    await dns?.stop();
  });

  it.each(cases)('$name', async ({ ip, sender, helo, expected, mailauth }) => {
    const verdict = await mailauthSpf({
      ip,
      sender,
      helo,
      mta: 'mx.receiver.test',
      resolver: (name, type) => resolver.resolve(name, type) as Promise<string[][] | string[]>,
    });
    expect(verdict.status.result, verdict.status.comment).toBe(mailauth ?? expected);
  });
});
