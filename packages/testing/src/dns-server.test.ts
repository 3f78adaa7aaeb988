import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './dns-server.js';

type Response = dnsPacket.DecodedPacket & { rcode: string };

let dns: TestDnsServer;
let nextId = 1;

function udpQuery(name: string, type: dnsPacket.RecordType, timeoutMs = 500): Promise<Response | undefined> {
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
    socket.send(
      dnsPacket.encode({ type: 'query', id: nextId++, questions: [{ type, name }] }),
      dns.port,
      dns.host,
    );
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
    expect(dns.queries.at(-1)).toEqual({ name: 'example.test', type: 'MX', transport: 'udp' });
  });
});
