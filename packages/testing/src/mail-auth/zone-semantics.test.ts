import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  reverseDnsName,
  startTestDnsServer,
  type TestDnsRecords,
  type TestDnsServer,
} from '../dns-server.js';
import { type IndependentDnsQuery, lookUpZoneInPython, type ZoneAnswer } from './independent-verification.js';
import { independentMailAuth } from './python-runner.js';

const tools = independentMailAuth();
const skipNote = tools.available ? '' : ` (skipped: ${tools.reason})`;

/** Every kind of node and edge the test DNS server knows, for dkimpy and pyspf to see alike. */
const zone: TestDnsRecords = {
  'example.test': { mx: [{ preference: 10, exchange: 'MX1.example.test.' }], txt: ['v=spf1 mx -all'] },
  'mx1.example.test': { a: ['192.0.2.1', { address: '192.0.2.2', ttl: 5 }], aaaa: ['2001:db8::1'] },
  'txt.example.test': { txt: ['one', ['two', 'three'], { strings: ['four', ' five'], ttl: 30 }] },
  'alias.example.test': { cname: 'mx1.example.test' },
  'dangling.example.test': { cname: 'nowhere.test' },
  'loop1.test': { cname: 'loop2.test' },
  'loop2.test': { cname: 'loop1.test' },
  'sel._domainkey.example.test': { txt: [['v=DKIM1; k=ed25519; ', 'p=abc']] },
  'broken.test': { rcode: 'SERVFAIL' },
  'refused.test': { rcode: 'REFUSED' },
  'gone.test': { rcode: 'NXDOMAIN' },
  'hole.test': { drop: true },
  'to-broken.test': { cname: 'broken.test' },
  'nullmx.test': { mx: [{ preference: 0, exchange: '.' }] },
  [reverseDnsName('192.0.2.1')]: { ptr: ['MX1.example.test'] },
  [reverseDnsName('2001:db8::1')]: { ptr: ['mx1.example.test.'] },
};

const queries: IndependentDnsQuery[] = [
  { name: 'Example.Test.', type: 'MX' },
  { name: 'example.test', type: 'TXT' },
  { name: 'example.test', type: 'A' },
  { name: 'mx1.example.test', type: 'A' },
  { name: 'mx1.example.test', type: 'AAAA' },
  { name: 'txt.example.test', type: 'TXT' },
  { name: 'alias.example.test', type: 'A' },
  { name: 'alias.example.test', type: 'TXT' },
  { name: 'alias.example.test', type: 'CNAME' },
  { name: 'dangling.example.test', type: 'A' },
  { name: 'loop1.test', type: 'A' },
  { name: '_domainkey.example.test', type: 'TXT' },
  { name: 'sel._domainkey.example.test', type: 'TXT' },
  { name: 'unknown.example.test', type: 'TXT' },
  { name: 'broken.test', type: 'TXT' },
  { name: 'refused.test', type: 'A' },
  { name: 'gone.test', type: 'TXT' },
  { name: 'hole.test', type: 'TXT' },
  { name: 'to-broken.test', type: 'TXT' },
  { name: 'nullmx.test', type: 'MX' },
  { name: reverseDnsName('192.0.2.1'), type: 'PTR' },
  { name: reverseDnsName('2001:db8::1'), type: 'PTR' },
];

let dns: TestDnsServer;

beforeAll(async () => {
  dns = await startTestDnsServer({ records: zone });
});

afterAll(async () => {
  await dns?.stop();
});

/** The server's answer over TCP, in the shape the Python side reports; TIMEOUT when it never answers. */
function askServer(query: IndependentDnsQuery, timeoutMs = 2_000): Promise<ZoneAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(dns.port, dns.host);
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ rcode: 'TIMEOUT', answers: [] });
    }, timeoutMs);
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(
        dnsPacket.streamEncode({
          type: 'query',
          id: 1,
          questions: [{ type: query.type as dnsPacket.RecordType, name: query.name }],
        }),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      const response = dnsPacket.decode(buffered.subarray(2)) as dnsPacket.DecodedPacket & { rcode: string };
      resolve({
        rcode: response.rcode,
        answers: (response.answers ?? []).map((answer) => ({
          name: answer.name,
          type: answer.type,
          data: dataOf(answer),
        })),
      });
    });
  });
}

function dataOf(answer: dnsPacket.Answer): unknown {
  switch (answer.type) {
    case 'TXT':
      return (answer.data as Buffer[]).map((s) => s.toString('utf8'));
    case 'MX':
      return [answer.data.preference, answer.data.exchange];
    default:
      return 'data' in answer ? answer.data : undefined;
  }
}

describe.skipIf(!tools.available)(`the zone as dkimpy and pyspf see it${skipNote}`, () => {
  it('answers every question exactly as the test DNS server does', async () => {
    const fromPython = await lookUpZoneInPython(zone, queries);
    const fromServer = await Promise.all(queries.map((query) => askServer(query)));
    for (const [index, query] of queries.entries()) {
      expect({ query, answer: fromPython[index] }).toEqual({ query, answer: fromServer[index] });
    }
    // The edges this comparison is about, so that it cannot pass by both sides saying nothing.
    const byQuery = (name: string, type: string) =>
      fromServer[queries.findIndex((q) => q.name === name && q.type === type)];
    expect(byQuery('hole.test', 'TXT')?.rcode).toBe('TIMEOUT');
    expect(byQuery('broken.test', 'TXT')?.rcode).toBe('SERVFAIL');
    expect(byQuery('_domainkey.example.test', 'TXT')).toEqual({ rcode: 'NOERROR', answers: [] });
    expect(byQuery('unknown.example.test', 'TXT')?.rcode).toBe('NXDOMAIN');
    expect(byQuery('dangling.example.test', 'A')).toMatchObject({
      rcode: 'NXDOMAIN',
      answers: [{ type: 'CNAME' }],
    });
    expect(byQuery('loop1.test', 'A')?.answers).toHaveLength(9);
    expect(byQuery('txt.example.test', 'TXT')?.answers.map((a) => a.data)).toEqual([
      ['one'],
      ['two', 'three'],
      ['four', ' five'],
    ]);
  });
});
