import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './dns-server.js';

type Response = dnsPacket.DecodedPacket & { rcode: string };

let dns: TestDnsServer;
let nextId = 1;

/** How a query asks about DNSSEC: nothing, the EDNS DO bit (RFC 3225), or the AD bit (RFC 6840 §5.7). */
type DnssecAsk = 'none' | 'do' | 'ad';

function encodeQuery(name: string, type: dnsPacket.RecordType, ask: DnssecAsk): dnsPacket.Packet {
  return {
    type: 'query',
    id: nextId++,
    flags: ask === 'ad' ? dnsPacket.AUTHENTIC_DATA : 0,
    questions: [{ type, name }],
    additionals:
      ask === 'do'
        ? [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: 1232,
              flags: dnsPacket.DNSSEC_OK,
            } as dnsPacket.OptAnswer,
          ]
        : [],
  };
}

function udpQuery(
  name: string,
  type: dnsPacket.RecordType,
  timeoutMs = 500,
  ask: DnssecAsk = 'none',
): Promise<Response | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.on('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(message) as Response);
    });
    socket.send(dnsPacket.encode(encodeQuery(name, type, ask)), dns.port, dns.host);
  });
}

function tcpQuery(name: string, type: dnsPacket.RecordType): Promise<Response> {
  return new Promise((resolve, reject) => {
    const socket = connect(dns.port, dns.host);
    let buffered = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(dnsPacket.streamEncode({ type: 'query', id: nextId++, questions: [{ type, name }] })),
    );
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        socket.destroy();
        resolve(dnsPacket.decode(buffered.subarray(2)) as Response);
      }
    });
  });
}

beforeAll(async () => {
  dns = await startTestDnsServer({
    records: {
      'example.test': {
        ttl: 120,
        mx: [
          { preference: 10, exchange: 'mx1.example.test' },
          { preference: 20, exchange: 'MX2.example.test.', ttl: 30 },
        ],
      },
      'mx1.example.test': { a: ['192.0.2.1'], aaaa: [{ address: '2001:db8::1', ttl: 5 }] },
      'alias.example.test': { cname: 'mx1.example.test' },
      'txt.example.test': { txt: ['one', ['two', 'three']] },
      'broken.test': { rcode: 'SERVFAIL' },
      'hole.test': { drop: true },
    },
    soa: { ttl: 30, minimum: 10 },
  });
});

afterAll(async () => {
  await dns?.stop();
});

describe('startTestDnsServer', () => {
  it('answers MX with preferences and TTLs, authoritatively, over UDP', async () => {
    const response = await udpQuery('Example.Test', 'MX');
    expect(response?.rcode).toBe('NOERROR');
    expect(response?.flag_aa).toBe(true);
    expect(response?.answers).toMatchObject([
      { type: 'MX', ttl: 120, data: { preference: 10, exchange: 'mx1.example.test' } },
      { type: 'MX', ttl: 30, data: { preference: 20, exchange: 'mx2.example.test' } },
    ]);
  });

  it('answers A and AAAA over TCP on the same port', async () => {
    expect((await tcpQuery('mx1.example.test', 'A')).answers).toMatchObject([
      { type: 'A', data: '192.0.2.1' },
    ]);
    expect((await tcpQuery('mx1.example.test', 'AAAA')).answers).toMatchObject([
      { type: 'AAAA', ttl: 5, data: '2001:db8::1' },
    ]);
  });

  it('follows a CNAME in the answer', async () => {
    const response = await udpQuery('alias.example.test', 'A');
    expect(response?.answers).toMatchObject([
      { type: 'CNAME', name: 'alias.example.test', data: 'mx1.example.test' },
      { type: 'A', name: 'mx1.example.test', data: '192.0.2.1' },
    ]);
  });

  it('keeps TXT character-strings apart', async () => {
    const response = await udpQuery('txt.example.test', 'TXT');
    const strings = response?.answers?.map((a) =>
      ((a as dnsPacket.TxtAnswer).data as Buffer[]).map((b) => b.toString()),
    );
    expect(strings).toEqual([['one'], ['two', 'three']]);
  });

  it('answers NXDOMAIN and NODATA with an SOA, and an empty non-terminal as NODATA', async () => {
    const nx = await udpQuery('nowhere.test', 'MX');
    expect(nx?.rcode).toBe('NXDOMAIN');
    expect(nx?.authorities).toMatchObject([{ type: 'SOA', ttl: 30, data: { minimum: 10 } }]);
    const nodata = await udpQuery('mx1.example.test', 'MX');
    expect(nodata?.rcode).toBe('NOERROR');
    expect(nodata?.answers).toEqual([]);
    expect(nodata?.authorities).toHaveLength(1);
    expect((await udpQuery('test', 'A'))?.rcode).toBe('NOERROR');
  });

  it('answers the configured RCODE, or nothing', async () => {
    expect((await udpQuery('broken.test', 'MX'))?.rcode).toBe('SERVFAIL');
    expect(await udpQuery('hole.test', 'MX', 200)).toBeUndefined();
  });

  it('truncates UDP answers on request, and answers the same over TCP', async () => {
    dns.setTruncateUdp(true);
    try {
      const udp = await udpQuery('example.test', 'MX');
      expect(udp?.flag_tc).toBe(true);
      expect(udp?.answers).toEqual([]);
      expect((await tcpQuery('example.test', 'MX')).answers).toHaveLength(2);
    } finally {
      dns.setTruncateUdp(false);
    }
  });

  it('counts queries by name and type, and serves changed records', async () => {
    const before = dns.queryCount('txt.example.test', 'TXT');
    await udpQuery('TXT.example.test', 'TXT');
    expect(dns.queryCount('txt.example.test', 'TXT')).toBe(before + 1);
    expect(dns.queryCount('txt.example.test', 'A')).toBe(0);
    dns.setRecords({ 'new.test': { a: ['192.0.2.50'] } });
    expect((await udpQuery('new.test', 'A'))?.answers).toMatchObject([{ data: '192.0.2.50' }]);
    expect((await udpQuery('example.test', 'MX'))?.rcode).toBe('NXDOMAIN');
    expect(dns.queries.at(-1)).toEqual({
      name: 'example.test',
      type: 'MX',
      transport: 'udp',
      dnssecOk: false,
    });
  });
});

describe('TLSA records and the AD bit', () => {
  const leafDigest = 'aa'.repeat(32);
  let secure: TestDnsServer;

  beforeAll(async () => {
    secure = await startTestDnsServer({
      authenticated: true,
      records: {
        'dane.test': { mx: [{ preference: 10, exchange: 'mx.dane.test' }] },
        'mx.dane.test': { a: ['192.0.2.25'] },
        '_25._tcp.mx.dane.test': {
          tlsa: [
            { usage: 3, selector: 1, matchingType: 1, data: leafDigest },
            { usage: 2, selector: 0, matchingType: 2, data: Buffer.alloc(64, 0xbb), ttl: 60 },
          ],
        },
        'unsigned.test': { mx: [{ preference: 10, exchange: 'mx.dane.test' }], authenticated: false },
        'signed-alias.test': { cname: 'mx.dane.test' },
        'unsigned-alias.test': { cname: 'mx.dane.test', authenticated: false },
        'bogus.test': { rcode: 'SERVFAIL' },
      },
    });
  });

  afterAll(async () => {
    await secure?.stop();
  });

  const ask = (name: string, type: dnsPacket.RecordType, how: DnssecAsk = 'do') =>
    new Promise<Response | undefined>((resolve) => {
      const socket = createSocket('udp4');
      socket.on('message', (message) => {
        socket.close();
        resolve(dnsPacket.decode(message) as Response);
      });
      socket.send(dnsPacket.encode(encodeQuery(name, type, how)), secure.port, secure.host);
    });

  it('answers TLSA records with their usage, selector, matching type and data', async () => {
    const response = await ask('_25._tcp.MX.dane.test', 'TLSA');
    expect(response?.answers).toMatchObject([
      {
        type: 'TLSA',
        ttl: 300,
        data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from(leafDigest, 'hex') },
      },
      {
        type: 'TLSA',
        ttl: 60,
        data: { usage: 2, selector: 0, matchingType: 2, certificate: Buffer.alloc(64, 0xbb) },
      },
    ]);
  });

  it('sets AD when the query asks with DO or AD, and records that DO was set', async () => {
    expect((await ask('dane.test', 'MX', 'do'))?.flag_ad).toBe(true);
    expect(secure.queries.at(-1)).toMatchObject({ name: 'dane.test', dnssecOk: true });
    expect((await ask('dane.test', 'MX', 'ad'))?.flag_ad).toBe(true);
    expect(secure.queries.at(-1)).toMatchObject({ name: 'dane.test', dnssecOk: false });
    // RFC 6840 §5.8: a client that asked neither way gets no AD.
    expect((await ask('dane.test', 'MX', 'none'))?.flag_ad).toBe(false);
  });

  it('leaves AD off for a name marked unauthenticated, and for a chain through one', async () => {
    expect((await ask('unsigned.test', 'MX'))?.flag_ad).toBe(false);
    const signedChain = await ask('signed-alias.test', 'A');
    expect(signedChain?.answers).toHaveLength(2);
    expect(signedChain?.flag_ad).toBe(true);
    const unsignedChain = await ask('unsigned-alias.test', 'A');
    expect(unsignedChain?.answers).toHaveLength(2);
    expect(unsignedChain?.flag_ad).toBe(false);
  });

  it('never sets AD on a failure, and authenticates denial by the server default', async () => {
    const bogus = await ask('bogus.test', 'TLSA');
    expect(bogus?.rcode).toBe('SERVFAIL');
    expect(bogus?.flag_ad).toBe(false);
    const nodata = await ask('_25._tcp.nothing.dane.test', 'TLSA');
    expect(nodata?.rcode).toBe('NXDOMAIN');
    expect(nodata?.flag_ad).toBe(true);
  });

  it('changes the server-wide default at run time, names with their own setting aside', async () => {
    secure.setAuthenticated(false);
    try {
      expect((await ask('dane.test', 'MX'))?.flag_ad).toBe(false);
    } finally {
      secure.setAuthenticated(true);
    }
    expect((await ask('dane.test', 'MX'))?.flag_ad).toBe(true);
    expect((await ask('unsigned.test', 'MX'))?.flag_ad).toBe(false);
  });

  it('sends no AD by default', async () => {
    expect((await udpQuery('example.test', 'MX', 500, 'do'))?.flag_ad).toBe(false);
    expect(dns.queries.at(-1)?.dnssecOk).toBe(true);
  });
});
