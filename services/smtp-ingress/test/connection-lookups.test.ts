import { reverseDnsName, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestResolver, type TestResolver } from '../../dns-resolver/test/test-resolver.js';
import { lookupDnsbl } from '../src/dnsbl.js';
import { checkHelo } from '../src/helo-check.js';
import { confirmReverseName, MAX_PTR_NAMES } from '../src/reverse-dns.js';

// The DNS side of the port-25 checks, against the test DNS server behind a real dns-resolver
// reached over gRPC: what each check concludes from each kind of answer.

const ZONE = 'bl.test';
let dns: TestDnsServer;
let t: TestResolver;
/** A resolver that waits 10 s for the DNS server: only our own deadline ends its lookups. */
let patient: TestResolver;

const soon = () => Date.now() + 5_000;

beforeAll(async () => {
  const manyNames = Array.from({ length: MAX_PTR_NAMES + 1 }, (_, i) => `n${i}.many.test`);
  dns = await startTestDnsServer({
    records: {
      // The DNSBL.
      '2.0.0.127.bl.test': { a: ['127.0.0.2'], txt: [['Listed by BL, see ', 'https://bl.test/q/127.0.0.2']] },
      '10.2.0.192.bl.test': { a: ['127.0.0.4', '127.0.0.10'] },
      '11.2.0.192.bl.test': { a: ['127.255.255.254'], txt: ['Query via public resolver refused'] },
      '12.2.0.192.bl.test': { a: ['192.0.2.80'] },
      '13.2.0.192.bl.test': { rcode: 'SERVFAIL' },
      '14.2.0.192.bl.test': { drop: true },
      // The same nibbles as the ip6.arpa name of the address (RFC 5782 §2.4).
      [reverseDnsName('2001:db8::25').replace(/ip6\.arpa$/, ZONE)]: {
        a: ['127.0.0.3'],
        txt: ['IPv6 listing'],
      },
      // Reverse DNS.
      [reverseDnsName('192.0.2.20')]: { ptr: ['mail.good.test'] },
      'mail.good.test': { a: ['192.0.2.21', '192.0.2.20'] },
      [reverseDnsName('192.0.2.22')]: { ptr: ['forged.test'] },
      'forged.test': { a: ['192.0.2.99'] },
      [reverseDnsName('192.0.2.23')]: { rcode: 'SERVFAIL' },
      [reverseDnsName('192.0.2.24')]: { ptr: ['broken-forward.test'] },
      'broken-forward.test': { rcode: 'SERVFAIL' },
      [reverseDnsName('192.0.2.25')]: { ptr: manyNames },
      ...Object.fromEntries(
        manyNames.map((name, i) => [name, { a: [i === MAX_PTR_NAMES ? '192.0.2.25' : '192.0.2.99'] }]),
      ),
      [reverseDnsName('192.0.2.26')]: { ptr: ['not_a_host.test', 'second.good.test'] },
      'second.good.test': { a: ['192.0.2.26'] },
      [reverseDnsName('192.0.2.27')]: { drop: true },
      [reverseDnsName('2001:db8::26')]: { ptr: ['v6.good.test'] },
      'v6.good.test': { a: ['192.0.2.26'], aaaa: ['2001:db8:0:0::26'] },
      // HELO names.
      'relay.helo.test': { a: ['192.0.2.30'] },
      'mailonly.helo.test': { mx: [{ preference: 10, exchange: 'relay.helo.test' }] },
      'txtonly.helo.test': { txt: ['v=spf1 -all'] },
      'broken.helo.test': { rcode: 'SERVFAIL' },
    },
  });
  t = await startTestResolver([dns.address]);
  patient = await startTestResolver([dns.address], { timeoutMs: 10_000, attempts: 1 });
});

afterAll(async () => {
  await t?.stop();
  await patient?.stop();
  await dns?.stop();
});

describe('DNSBL lookups', () => {
  it("finds a listed address and the listing's TXT text, its strings joined", async () => {
    expect(await lookupDnsbl(t.client, '127.0.0.2', ZONE, soon())).toEqual({
      kind: 'listed',
      zone: ZONE,
      answers: ['127.0.0.2'],
      text: 'Listed by BL, see https://bl.test/q/127.0.0.2',
    });
  });

  it('finds a listing that has no TXT record, with every code it answered', async () => {
    expect(await lookupDnsbl(t.client, '192.0.2.10', ZONE, soon())).toEqual({
      kind: 'listed',
      zone: ZONE,
      answers: ['127.0.0.4', '127.0.0.10'],
    });
  });

  it('finds an IPv6 address by its reversed nibbles', async () => {
    expect(await lookupDnsbl(t.client, '2001:db8::25', ZONE, soon())).toMatchObject({
      kind: 'listed',
      text: 'IPv6 listing',
    });
  });

  it('says clear for an address the list does not hold (NXDOMAIN)', async () => {
    expect(await lookupDnsbl(t.client, '192.0.2.1', ZONE, soon())).toEqual({ kind: 'clear', zone: ZONE });
  });

  it('gives no verdict for an error code, an answer outside 127/8, SERVFAIL, or a timeout', async () => {
    for (const address of ['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14']) {
      expect(await lookupDnsbl(t.client, address, ZONE, soon()), address).toMatchObject({ kind: 'failed' });
    }
    // The error code's TXT is never asked for: there is no listing to explain.
    expect(dns.queryCount('11.2.0.192.bl.test', 'TXT')).toBe(0);
  });

  it('gives up at its own deadline when the resolver takes longer', async () => {
    const started = Date.now();
    const result = await lookupDnsbl(patient.client, '192.0.2.14', ZONE, Date.now() + 500);
    expect(result).toMatchObject({ kind: 'failed', detail: expect.stringMatching(/DEADLINE_EXCEEDED/) });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('forward-confirmed reverse DNS', () => {
  it('confirms a PTR name that resolves back to the address', async () => {
    expect(await confirmReverseName(t.client, '192.0.2.20', soon())).toEqual({
      kind: 'confirmed',
      name: 'mail.good.test',
    });
  });

  it('confirms an IPv6 address through AAAA records', async () => {
    expect(await confirmReverseName(t.client, '2001:db8::26', soon())).toEqual({
      kind: 'confirmed',
      name: 'v6.good.test',
    });
    expect(dns.queryCount('v6.good.test', 'A')).toBe(0);
  });

  it('has none for an address without PTR records', async () => {
    expect(await confirmReverseName(t.client, '192.0.2.21', soon())).toEqual({ kind: 'none' });
  });

  it('does not confirm a PTR name whose addresses are others', async () => {
    expect(await confirmReverseName(t.client, '192.0.2.22', soon())).toEqual({
      kind: 'unconfirmed',
      names: ['forged.test'],
    });
  });

  it('cannot tell when the PTR or the forward lookup fails', async () => {
    expect(await confirmReverseName(t.client, '192.0.2.23', soon())).toMatchObject({ kind: 'temporary' });
    expect(await confirmReverseName(t.client, '192.0.2.24', soon())).toMatchObject({ kind: 'temporary' });
  });

  it(`follows at most ${MAX_PTR_NAMES} PTR names`, async () => {
    expect(await confirmReverseName(t.client, '192.0.2.25', soon())).toMatchObject({ kind: 'unconfirmed' });
    expect(dns.queryCount(`n${MAX_PTR_NAMES}.many.test`, 'A')).toBe(0);
    expect(dns.queryCount('n0.many.test', 'A')).toBe(1);
  });

  it('skips a PTR target that is not a host name', async () => {
    expect(await confirmReverseName(t.client, '192.0.2.26', soon())).toEqual({
      kind: 'confirmed',
      name: 'second.good.test',
    });
    expect(dns.queryCount('not_a_host.test')).toBe(0);
  });

  it('gives up at its deadline as a temporary failure', async () => {
    expect(await confirmReverseName(patient.client, '192.0.2.27', Date.now() + 500)).toMatchObject({
      kind: 'temporary',
    });
  });
});

describe('HELO names', () => {
  const own = ['mx.example.test', 'example.test'];

  it('passes a name with an address, or with only an MX record', async () => {
    expect(await checkHelo(t.client, 'relay.helo.test', own, soon())).toEqual({ kind: 'pass' });
    expect(await checkHelo(t.client, 'MailOnly.helo.test', own, soon())).toEqual({ kind: 'pass' });
  });

  it('refuses a name that does not exist, or has neither address nor MX', async () => {
    expect(await checkHelo(t.client, 'nowhere.helo.test', own, soon())).toEqual({
      kind: 'refused',
      reason: 'not-found',
    });
    // NXDOMAIN says there is no MX either: not asked.
    expect(dns.queryCount('nowhere.helo.test', 'MX')).toBe(0);
    expect(await checkHelo(t.client, 'txtonly.helo.test', own, soon())).toEqual({
      kind: 'refused',
      reason: 'not-found',
    });
  });

  it('cannot tell when DNS fails', async () => {
    expect(await checkHelo(t.client, 'broken.helo.test', own, soon())).toMatchObject({ kind: 'temporary' });
  });

  it('refuses our own names and bad syntax without asking DNS; passes address literals', async () => {
    const before = dns.queries.length;
    expect(await checkHelo(t.client, 'MX.example.test', own, soon())).toEqual({
      kind: 'refused',
      reason: 'own-name',
    });
    expect(await checkHelo(t.client, 'example.test', own, soon())).toEqual({
      kind: 'refused',
      reason: 'own-name',
    });
    expect(await checkHelo(t.client, 'localhost', own, soon())).toEqual({
      kind: 'refused',
      reason: 'not-fqdn',
    });
    expect(await checkHelo(t.client, '[192.0.2.30]', own, soon())).toEqual({ kind: 'pass' });
    expect(dns.queries.length).toBe(before);
  });
});
