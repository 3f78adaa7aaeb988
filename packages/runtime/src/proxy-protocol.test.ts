import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, TLSSocket, connect as tlsConnect } from 'node:tls';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  acceptProxiedConnection,
  type CidrList,
  type ConnectionOrigin,
  cidrListContains,
  closeIfProxyHeader,
  looksLikeProxyHeader,
  PROXY_V2_MAX_TLV_BYTES,
  type ProxyHeader,
  ProxyHeaderParser,
  type ProxyParseResult,
  type ProxyPolicy,
  parseCidrList,
} from './proxy-protocol.js';
import { createTlsContextOptions, ensureSelfSignedCertificate } from './tls.js';

// ---------------------------------------------------------------------------------------
// A test-only encoder and helpers

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: signature, version/command, family/transport, length, then `body`. */
function v2(command: number, familyTransport: number, body: Uint8Array, length = body.length): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = 0x20 | command;
  fixed[1] = familyTransport;
  fixed.writeUInt16BE(length, 2);
  return Buffer.concat([SIGNATURE, fixed, body]);
}

function tlv(type: number, value: Uint8Array): Buffer {
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

function ports(source: number, destination: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt16BE(source, 0);
  bytes.writeUInt16BE(destination, 2);
  return bytes;
}

/** Address bytes from text; IPv6 given in full 8-group form by the tests that use it. */
function addressBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  const groups = address.split(':');
  expect(groups).toHaveLength(8);
  const bytes = Buffer.alloc(16);
  for (const [i, group] of groups.entries()) bytes.writeUInt16BE(Number.parseInt(group, 16), 2 * i);
  return bytes;
}

function encodeV2Proxy(
  source: string,
  destination: string,
  sourcePort: number,
  destinationPort: number,
  tlvs: Uint8Array = Buffer.alloc(0),
): Buffer {
  const family = isIP(source) === 4 ? 0x11 : 0x21;
  return v2(
    1,
    family,
    Buffer.concat([
      addressBytes(source),
      addressBytes(destination),
      ports(sourcePort, destinationPort),
      tlvs,
    ]),
  );
}

function parseAll(bytes: Uint8Array): ProxyParseResult {
  return new ProxyHeaderParser().push(bytes);
}

/** Feeds `bytes` one at a time; every result but the last must be need-more. */
function parseByteByByte(bytes: Uint8Array): ProxyParseResult {
  const parser = new ProxyHeaderParser();
  for (let i = 0; i < bytes.length - 1; i++) {
    expect(parser.push(bytes.subarray(i, i + 1))).toEqual({ state: 'need-more' });
  }
  return parser.push(bytes.subarray(bytes.length - 1));
}

function invalidReason(bytes: Uint8Array): string {
  const result = parseAll(bytes);
  if (result.state !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(result)}`);
  return result.reason;
}

/** WHATWG URL normalisation: an independent oracle for "the same IPv6 address". */
function sameIpv6(a: string, b: string): boolean {
  return new URL(`http://[${a}]/`).hostname === new URL(`http://[${b}]/`).hostname;
}

const ascii = (text: string) => Buffer.from(text, 'latin1');

// ---------------------------------------------------------------------------------------
// Valid headers

const IPV6_MAX = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

const VALID: { name: string; bytes: Buffer; header: ProxyHeader }[] = [
  {
    name: 'v1 TCP4 (the spec example)',
    bytes: ascii('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'),
    header: {
      version: 1,
      command: 'proxy',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
    },
  },
  {
    name: 'v1 TCP4 at its longest (56 bytes)',
    bytes: ascii('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n'),
    header: {
      version: 1,
      command: 'proxy',
      source: { address: '255.255.255.255', port: 65535 },
      destination: { address: '255.255.255.255', port: 65535 },
    },
  },
  {
    name: 'v1 TCP6, canonicalised',
    bytes: ascii('PROXY TCP6 2001:DB8:0:0:0:0:0:1 2001:db8::2 0 25\r\n'),
    header: {
      version: 1,
      command: 'proxy',
      source: { address: '2001:db8::1', port: 0 },
      destination: { address: '2001:db8::2', port: 25 },
    },
  },
  {
    name: 'v1 TCP6 at its longest (104 bytes)',
    bytes: ascii(`PROXY TCP6 ${IPV6_MAX} ${IPV6_MAX} 65535 65535\r\n`),
    header: {
      version: 1,
      command: 'proxy',
      source: { address: IPV6_MAX, port: 65535 },
      destination: { address: IPV6_MAX, port: 65535 },
    },
  },
  {
    name: 'v1 TCP6 with an IPv4-mapped source',
    bytes: ascii('PROXY TCP6 ::ffff:10.1.2.3 ::1 40000 143\r\n'),
    header: {
      version: 1,
      command: 'proxy',
      source: { address: '::ffff:10.1.2.3', port: 40000 },
      destination: { address: '::1', port: 143 },
    },
  },
  {
    name: 'v1 UNKNOWN, short form',
    bytes: ascii('PROXY UNKNOWN\r\n'),
    header: { version: 1, command: 'proxy' },
  },
  {
    name: 'v1 UNKNOWN, worst case (107 bytes, the rest of the line ignored)',
    bytes: ascii(`PROXY UNKNOWN ${IPV6_MAX} ${IPV6_MAX} 65535 65535\r\n`),
    header: { version: 1, command: 'proxy' },
  },
  {
    name: 'v2 PROXY TCP4',
    bytes: Buffer.from(
      '0d0a0d0a000d0a515549540a' + '2111000c' + 'c0a80001' + 'c0a8000b' + 'dc04' + '01bb',
      'hex',
    ),
    header: {
      version: 2,
      command: 'proxy',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
    },
  },
  {
    name: 'v2 PROXY TCP6',
    bytes: encodeV2Proxy('2001:db8:0:0:0:0:0:1', '0:0:0:0:0:ffff:a01:203', 65535, 993),
    header: {
      version: 2,
      command: 'proxy',
      source: { address: '2001:db8::1', port: 65535 },
      destination: { address: '::ffff:10.1.2.3', port: 993 },
    },
  },
  {
    name: 'v2 PROXY TCP4 with TLVs (AWS VPC endpoint, ALPN, SSL with sub-TLVs, NOOP padding)',
    bytes: encodeV2Proxy(
      '203.0.113.7',
      '10.0.0.5',
      51000,
      465,
      Buffer.concat([
        tlv(0xea, Buffer.concat([Buffer.from([0x01]), ascii('vpce-08d2bf15fac5001c9')])),
        tlv(0x01, ascii('imap')),
        tlv(0x20, Buffer.concat([Buffer.from([0x01, 0, 0, 0, 0]), tlv(0x21, ascii('TLSv1.3'))])),
        tlv(0x04, Buffer.alloc(5)),
        tlv(0x04, Buffer.alloc(0)),
      ]),
    ),
    header: {
      version: 2,
      command: 'proxy',
      source: { address: '203.0.113.7', port: 51000 },
      destination: { address: '10.0.0.5', port: 465 },
    },
  },
  {
    name: 'v2 LOCAL, UNSPEC, no addresses (a health check)',
    bytes: v2(0, 0x00, Buffer.alloc(0)),
    header: { version: 2, command: 'local' },
  },
  {
    name: 'v2 LOCAL with an address block and a TLV (skipped, family ignored)',
    bytes: v2(
      0,
      0x11,
      Buffer.concat([addressBytes('10.0.0.1'), addressBytes('10.0.0.2'), ports(1, 2), tlv(5, ascii('id'))]),
    ),
    header: { version: 2, command: 'local' },
  },
  {
    name: 'v2 PROXY UNSPEC with bytes to skip',
    bytes: v2(1, 0x00, Buffer.from('whatever is here is ignored')),
    header: { version: 2, command: 'proxy' },
  },
  {
    name: 'v2 PROXY UDP over IPv4 (falls back to UNSPEC)',
    bytes: v2(1, 0x12, Buffer.concat([addressBytes('10.0.0.1'), addressBytes('10.0.0.2'), ports(53, 53)])),
    header: { version: 2, command: 'proxy' },
  },
  {
    name: 'v2 PROXY AF_UNIX stream (falls back to UNSPEC)',
    bytes: v2(1, 0x31, Buffer.alloc(216)),
    header: { version: 2, command: 'proxy' },
  },
];

describe('ProxyHeaderParser: valid headers', () => {
  it('has v1 examples of the lengths the spec gives', () => {
    const length = (name: string) => VALID.find((v) => v.name.startsWith(name))!.bytes.length;
    expect(length('v1 TCP4 at its longest')).toBe(56);
    expect(length('v1 TCP6 at its longest')).toBe(104);
    expect(length('v1 UNKNOWN, short form')).toBe(15);
    expect(length('v1 UNKNOWN, worst case')).toBe(107);
  });

  for (const { name, bytes, header } of VALID) {
    describe(name, () => {
      it('parses in one chunk, with nothing left over', () => {
        expect(parseAll(bytes)).toEqual({ state: 'done', header, rest: Buffer.alloc(0) });
      });

      it('parses fed one byte at a time', () => {
        expect(parseByteByByte(bytes)).toEqual({ state: 'done', header, rest: Buffer.alloc(0) });
      });

      it('says need-more for every proper prefix', () => {
        for (let i = 0; i < bytes.length; i++) {
          expect(parseAll(bytes.subarray(0, i)), `prefix of ${i} bytes`).toEqual({ state: 'need-more' });
        }
      });

      it('hands back the bytes after the header, split anywhere', () => {
        const protocol = ascii('EHLO client.example\r\n');
        const stream = Buffer.concat([bytes, protocol]);
        for (let cut = 0; cut <= stream.length; cut++) {
          const parser = new ProxyHeaderParser();
          const first = parser.push(stream.subarray(0, cut));
          const result = first.state === 'done' ? first : parser.push(stream.subarray(cut));
          // Cut at or past the header's end: `rest` is what came with it; the rest was never pushed.
          const expectedRest = cut >= bytes.length ? stream.subarray(bytes.length, cut) : protocol;
          expect(result, `cut at ${cut}`).toEqual({ state: 'done', header, rest: expectedRest });
        }
      });
    });
  }

  it('accepts Uint8Array chunks and empty chunks', () => {
    const parser = new ProxyHeaderParser();
    expect(parser.push(new Uint8Array(0))).toEqual({ state: 'need-more' });
    const bytes = new Uint8Array(ascii('PROXY UNKNOWN\r\nx'));
    expect(parser.push(bytes)).toEqual({
      state: 'done',
      header: { version: 1, command: 'proxy' },
      rest: ascii('x'),
    });
  });

  it('accepts exactly the TLV limit and no more', () => {
    const address = Buffer.concat([addressBytes('10.0.0.1'), addressBytes('10.0.0.2'), ports(1, 2)]);
    const fill = (n: number) => tlv(0x04, Buffer.alloc(n - 3));
    expect(parseAll(v2(1, 0x11, Buffer.concat([address, fill(PROXY_V2_MAX_TLV_BYTES)]))).state).toBe('done');
    expect(parseAll(v2(1, 0x11, Buffer.concat([address, fill(PROXY_V2_MAX_TLV_BYTES + 1)])))).toEqual({
      state: 'invalid',
      reason: `v2: 4097 bytes of TLVs, more than 4096`,
    });
  });

  it('stays invalid once invalid, and refuses bytes after a complete header', () => {
    const bad = new ProxyHeaderParser();
    const first = bad.push(ascii('HELO'));
    expect(first.state).toBe('invalid');
    expect(bad.push(ascii('PROXY UNKNOWN\r\n'))).toEqual(first);

    const good = new ProxyHeaderParser();
    expect(good.push(ascii('PROXY UNKNOWN\r\n')).state).toBe('done');
    expect(() => good.push(ascii('more'))).toThrow(/header is complete/);
  });
});

describe('ProxyHeaderParser: invalid headers', () => {
  const tcp4Body = Buffer.concat([addressBytes('10.0.0.1'), addressBytes('10.0.0.2'), ports(1, 2)]);

  it('refuses what is neither v1 nor v2 at the first wrong byte', () => {
    expect(invalidReason(ascii('E'))).toMatch(/not a PROXY protocol header/);
    expect(invalidReason(ascii('PROXZ'))).toMatch(/not a PROXY protocol header/);
    expect(invalidReason(ascii('PROXY\r\n'))).toMatch(/not a PROXY protocol header/); // no space
    expect(invalidReason(Buffer.from('0d0a0d0a000d0a5155495400', 'hex'))).toMatch(
      /not a PROXY protocol header/,
    );
    expect(invalidReason(ascii('\r\nQUIT\r\n'))).toMatch(/not a PROXY protocol header/);
  });

  it('refuses a bad v1 protocol word as soon as it is wrong', () => {
    expect(invalidReason(ascii('PROXY X'))).toMatch(/unknown protocol/);
    expect(invalidReason(ascii('PROXY tcp4'))).toMatch(/unknown protocol/); // upper case only
    expect(invalidReason(ascii('PROXY TCP5 '))).toMatch(/unknown protocol/);
    expect(invalidReason(ascii('PROXY TCP4\r\n'))).toMatch(/expected 6 space-separated fields, got 2/);
    expect(invalidReason(ascii('PROXY UNKNOWNS\r\n'))).toMatch(/unknown protocol/);
    expect(invalidReason(ascii('PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n'))).toMatch(/unknown protocol/);
  });

  it('refuses a v1 line without CRLF in the first 107 bytes', () => {
    const long = ascii(`PROXY UNKNOWN ${'x'.repeat(200)}\r\n`);
    expect(parseAll(long.subarray(0, 106))).toEqual({ state: 'need-more' });
    expect(invalidReason(long.subarray(0, 107))).toBe('v1: no CRLF within the first 107 bytes');
    expect(invalidReason(long)).toBe('v1: no CRLF within the first 107 bytes');
    // A CRLF starting at byte 107 is one byte too late.
    expect(invalidReason(ascii(`PROXY UNKNOWN ${'x'.repeat(92)}\r\n`))).toMatch(/no CRLF/);
    expect(parseAll(ascii(`PROXY UNKNOWN ${'x'.repeat(91)}\r\n`)).state).toBe('done');
  });

  it('does not take a lone LF or CR for the end of the line', () => {
    expect(invalidReason(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nQUIT\r\n'))).toBe('v1: bad port "2\\nQUIT"');
    expect(invalidReason(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rQUIT\r\n'))).toBe('v1: bad port "2\\rQUIT"');
    expect(parseAll(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'))).toEqual({ state: 'need-more' });
  });

  it.each([
    ['PROXY TCP4 192.168.0.256 10.0.0.1 1 2\r\n', /bad TCP4 address "192.168.0.256"/],
    ['PROXY TCP4 192.168.00.1 10.0.0.1 1 2\r\n', /bad TCP4 address/], // leading zero
    ['PROXY TCP4 10.0.0.1 10.0.0 1 2\r\n', /bad TCP4 address "10.0.0"/],
    ['PROXY TCP4 ::1 10.0.0.1 1 2\r\n', /bad TCP4 address "::1"/],
    ['PROXY TCP6 10.0.0.1 ::1 1 2\r\n', /bad TCP6 address "10.0.0.1"/],
    ['PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', /bad TCP6 address/],
    ['PROXY TCP6 1::2::3 ::1 1 2\r\n', /bad TCP6 address/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 65536 25\r\n', /bad port "65536"/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 25 99999\r\n', /bad port "99999"/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 025 25\r\n', /bad port "025"/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 00 25\r\n', /bad port "00"/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 -1 25\r\n', /bad port "-1"/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 +1 25\r\n', /bad port "\+1"/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 1 \r\n', /bad port ""/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 1\r\n', /expected 6 space-separated fields, got 5/],
    ['PROXY TCP4 10.0.0.1 10.0.0.2 1 2 \r\n', /expected 6 space-separated fields, got 7/],
    ['PROXY TCP4 10.0.0.1  10.0.0.2 1 2\r\n', /expected 6 space-separated fields/],
  ])('refuses %j', (line, reason) => {
    expect(invalidReason(ascii(line))).toMatch(reason);
  });

  it('refuses a wrong v2 version or command at the 13th byte', () => {
    expect(invalidReason(Buffer.concat([SIGNATURE, Buffer.from([0x11])]))).toBe('v2: version 1, expected 2');
    expect(invalidReason(Buffer.concat([SIGNATURE, Buffer.from([0x31])]))).toBe('v2: version 3, expected 2');
    expect(invalidReason(Buffer.concat([SIGNATURE, Buffer.from([0x22])]))).toBe('v2: unknown command 2');
    expect(invalidReason(Buffer.concat([SIGNATURE, Buffer.from([0x2f])]))).toBe('v2: unknown command 15');
  });

  it('refuses an unlisted v2 family or transport for PROXY', () => {
    for (const familyTransport of [0x01, 0x10, 0x13, 0x20, 0x41, 0xff]) {
      expect(invalidReason(v2(1, familyTransport, tcp4Body))).toMatch(/unknown family\/transport/);
    }
  });

  it('refuses a v2 address block shorter than the family needs', () => {
    expect(invalidReason(v2(1, 0x11, tcp4Body.subarray(0, 8)))).toBe(
      'v2: 8-byte address block, family/transport 0x11 needs 12',
    );
    expect(invalidReason(v2(1, 0x21, Buffer.alloc(12)))).toMatch(/12-byte address block.*0x21 needs 36/);
    expect(invalidReason(v2(1, 0x31, Buffer.alloc(108)))).toMatch(/needs 216/);
    // Judged from the 16 fixed bytes, before any address arrives.
    expect(invalidReason(v2(1, 0x21, Buffer.alloc(0), 35))).toMatch(/needs 36/);
  });

  it('refuses a v2 length past the limit without waiting for the bytes', () => {
    expect(invalidReason(v2(1, 0x11, Buffer.alloc(0), 0xffff))).toMatch(/bytes of TLVs, more than 4096/);
    expect(invalidReason(v2(0, 0x00, Buffer.alloc(0), 4097))).toMatch(/more than 4096/);
  });

  it('refuses TLVs that do not fit the header exactly', () => {
    const overrun = Buffer.concat([tcp4Body, Buffer.from([0x01, 0x00, 0x05]), ascii('abc')]);
    expect(invalidReason(v2(1, 0x11, overrun))).toBe('v2: a TLV runs past the end of the header');
    expect(invalidReason(v2(1, 0x11, Buffer.concat([tcp4Body, Buffer.from([0x04, 0x00])])))).toBe(
      'v2: truncated TLV',
    );
  });
});

describe('ProxyHeaderParser: properties', () => {
  /** Splits `bytes` at the given cut points (any order, duplicates allowed). */
  const split = (bytes: Buffer, cuts: number[]) => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    return [0, ...points, bytes.length]
      .slice(1)
      .map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1], end));
  };

  /** Pushes chunks until a final result; `unfed`: the chunks after that, joined. */
  const feed = (chunks: Buffer[]): { result: ProxyParseResult; unfed: Buffer } => {
    const parser = new ProxyHeaderParser();
    let result: ProxyParseResult = { state: 'need-more' };
    let i = 0;
    while (i < chunks.length && result.state === 'need-more') result = parser.push(chunks[i++]!);
    return { result, unfed: Buffer.concat(chunks.slice(i)) };
  };

  const lead = fc.constantFrom(
    Buffer.alloc(0),
    SIGNATURE,
    ascii('PROXY '),
    Buffer.concat([SIGNATURE, Buffer.from([0x21])]),
  );

  it('never throws on random bytes, however they arrive', () => {
    fc.assert(
      fc.property(lead, fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat()), (start, random, cuts) => {
        const { result } = feed(split(Buffer.concat([start, random]), cuts));
        expect(['need-more', 'done', 'invalid']).toContain(result.state);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on a valid header with one byte changed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VALID.map((v) => v.bytes)),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (bytes, at, value) => {
          const changed = Buffer.from(bytes);
          changed[at % changed.length] = value;
          expect(['need-more', 'done', 'invalid']).toContain(parseAll(changed).state);
        },
      ),
      { numRuns: 2000 },
    );
  });

  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
  // Full 8-group form, with zero groups frequent so that compression gets exercised.
  const ipv6 = fc
    .array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.nat(0xffff)), { minLength: 8, maxLength: 8 })
    .map((groups) => groups.map((g) => g.toString(16)).join(':'));
  const port = fc.nat(65535);
  const rest = fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes));
  const tlvs = fc
    .array(fc.tuple(fc.nat(255), fc.uint8Array({ maxLength: 100 })), { maxLength: 8 })
    .map((list) => Buffer.concat(list.map(([type, value]) => tlv(type, value))));

  const checkRoundTrip = (
    result: ProxyParseResult,
    version: 1 | 2,
    family: 4 | 6,
    endpoints: [string, string, number, number],
    expectedRest: Buffer,
  ) => {
    const [source, destination, sourcePort, destinationPort] = endpoints;
    if (result.state !== 'done') throw new Error(`not done: ${JSON.stringify(result)}`);
    expect(result.rest).toEqual(expectedRest);
    expect(result.header).toMatchObject({ version, command: 'proxy' });
    expect(result.header.source?.port).toBe(sourcePort);
    expect(result.header.destination?.port).toBe(destinationPort);
    const got = [result.header.source!.address, result.header.destination!.address];
    if (family === 4) {
      expect(got).toEqual([source, destination]);
    } else {
      expect(got.map(isIP)).toEqual([6, 6]);
      expect(sameIpv6(got[0]!, source) && sameIpv6(got[1]!, destination)).toBe(true);
      for (const address of got) expect(address).toBe(address.toLowerCase()); // compressed, lower case
    }
  };

  it('round-trips v1 TCP4/TCP6 headers, in any chunks', () => {
    const family = fc.constantFrom<4 | 6>(4, 6);
    fc.assert(
      fc.property(
        family,
        ipv4,
        ipv4,
        ipv6,
        ipv6,
        port,
        port,
        fc.boolean(),
        rest,
        fc.array(fc.nat()),
        (f, a4, b4, a6, b6, sp, dp, upper, after, cuts) => {
          const [source, destination] = f === 4 ? [a4, b4] : [upper ? a6.toUpperCase() : a6, b6];
          const header = ascii(`PROXY TCP${f} ${source} ${destination} ${sp} ${dp}\r\n`);
          const { result, unfed } = feed(split(Buffer.concat([header, after]), cuts));
          // What came with the last header chunk is `rest`; together with what was not fed, all of it.
          const rest = result.state === 'done' ? result.rest : Buffer.alloc(0);
          expect(Buffer.concat([rest, unfed])).toEqual(after);
          checkRoundTrip(result, 1, f, [source, destination, sp, dp], rest);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('round-trips v2 TCP4/TCP6 headers with TLVs, rest intact', () => {
    const family = fc.constantFrom<4 | 6>(4, 6);
    fc.assert(
      fc.property(
        family,
        ipv4,
        ipv4,
        ipv6,
        ipv6,
        port,
        port,
        tlvs,
        rest,
        (f, a4, b4, a6, b6, sp, dp, extra, after) => {
          const [source, destination] = f === 4 ? [a4, b4] : [a6, b6];
          const header = encodeV2Proxy(source, destination, sp, dp, extra);
          checkRoundTrip(
            parseAll(Buffer.concat([header, after])),
            2,
            f,
            [source, destination, sp, dp],
            after,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('formats IPv6 the way node does for socket addresses', () => {
    const cases: [string, string][] = [
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['0:0:0:0:0:ffff:a01:203', '::ffff:10.1.2.3'],
      ['fe80:0:0:0:0:0:0:abcd', 'fe80::abcd'],
    ];
    for (const [full, canonical] of cases) {
      const result = parseAll(encodeV2Proxy(full, full, 1, 2));
      expect(result.state === 'done' && result.header.source?.address).toBe(canonical);
    }
  });
});

// ---------------------------------------------------------------------------------------
// CIDR lists

describe('parseCidrList / cidrListContains', () => {
  it('reads addresses and CIDRs of both families, in canonical form', () => {
    const list = parseCidrList(' 10.0.0.0/8, 192.168.1.5 ,2001:DB8::/32,::1, 0:0:0:0:0:ffff:a00:0/104,');
    expect(list.entries).toEqual([
      '10.0.0.0/8',
      '192.168.1.5/32',
      '2001:db8::/32',
      '::1/128',
      '::ffff:10.0.0.0/104',
    ]);
  });

  it('is empty for an empty setting', () => {
    for (const text of ['', '  ', ',', ' , ']) {
      const list = parseCidrList(text);
      expect(list.entries).toEqual([]);
      expect(cidrListContains(list, '127.0.0.1')).toBe(false);
    }
  });

  it('matches IPv4 and IPv6 addresses', () => {
    const list = parseCidrList('10.0.0.0/8, 192.168.1.5, 2001:db8::/32, ::1');
    const contains = (address: string) => cidrListContains(list, address);
    expect(contains('10.0.0.0')).toBe(true);
    expect(contains('10.255.255.255')).toBe(true);
    expect(contains('11.0.0.0')).toBe(false);
    expect(contains('192.168.1.5')).toBe(true);
    expect(contains('192.168.1.6')).toBe(false);
    expect(contains('2001:db8:ffff::1')).toBe(true);
    expect(contains('2001:0DB8::1')).toBe(true);
    expect(contains('2001:db9::1')).toBe(false);
    expect(contains('::1')).toBe(true);
    expect(contains('::2')).toBe(false);
  });

  it('treats IPv4-mapped IPv6 as the IPv4 address, both ways', () => {
    const v4 = parseCidrList('10.0.0.0/8');
    expect(cidrListContains(v4, '::ffff:10.1.2.3')).toBe(true); // how a dual-stack socket reports it
    expect(cidrListContains(v4, '::FFFF:10.1.2.3')).toBe(true);
    expect(cidrListContains(v4, '::ffff:a01:203')).toBe(true);
    expect(cidrListContains(v4, '0:0:0:0:0:ffff:a01:203')).toBe(true);
    expect(cidrListContains(v4, '::ffff:11.1.2.3')).toBe(false);
    // Other IPv6 forms that embed an IPv4 address are not IPv4-mapped.
    expect(cidrListContains(v4, '::10.1.2.3')).toBe(false);
    expect(cidrListContains(v4, '64:ff9b::a01:203')).toBe(false);

    const mapped = parseCidrList('::ffff:10.0.0.0/104, ::ffff:192.168.0.1');
    expect(cidrListContains(mapped, '10.1.2.3')).toBe(true);
    expect(cidrListContains(mapped, '::ffff:10.1.2.3')).toBe(true);
    expect(cidrListContains(mapped, '192.168.0.1')).toBe(true);
    expect(cidrListContains(mapped, '11.0.0.1')).toBe(false);

    expect(cidrListContains(parseCidrList('2001:db8::/32'), '10.1.2.3')).toBe(false);
    // ::/0 covers ::ffff:0:0/96, hence every IPv4 address too.
    expect(cidrListContains(parseCidrList('::/0'), '10.1.2.3')).toBe(true);
    expect(cidrListContains(parseCidrList('0.0.0.0/0'), '2001:db8::1')).toBe(false);
  });

  it('says no to what is not an address', () => {
    const list = parseCidrList('0.0.0.0/0, ::/0');
    for (const address of ['', 'unknown', '10.0.0.1/8', 'fe80::1%eth0', '010.0.0.1']) {
      expect(cidrListContains(list, address)).toBe(false);
    }
  });

  it.each([
    ['10.0.0.0/33', /"10.0.0.0\/33": the prefix length must be a number from 0 to 32/],
    ['2001:db8::/129', /from 0 to 128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/08', /prefix length/],
    ['10.0.0.0/8/8', /prefix length/],
    ['10.0.0.0/-1', /prefix length/],
    ['10.0.0/8', /"10.0.0\/8": not an IPv4 or IPv6 address/],
    ['010.0.0.0/8', /not an IPv4 or IPv6 address/],
    ['mail.example.com', /not an IPv4 or IPv6 address/],
    ['fe80::1%eth0', /not an IPv4 or IPv6 address/],
    ['10.0.0.0 /8', /not an IPv4 or IPv6 address/],
    ['10.1.0.0/8', /"10.1.0.0\/8": bits are set past the \/8 prefix \(did you mean 10.0.0.0\/8\?\)/],
    ['192.168.1.1/24', /did you mean 192.168.1.0\/24\?/],
    ['2001:db8::1/32', /did you mean 2001:db8::\/32\?/],
    ['2001:db8:4000::/33', /did you mean 2001:db8::\/33\?/],
  ])('refuses %j', (text, message) => {
    expect(() => parseCidrList(`127.0.0.1, ${text}`)).toThrow(message);
  });

  it('accepts the edges of the prefix range', () => {
    expect(parseCidrList('0.0.0.0/0, 10.1.2.3/32, ::/0, 2001:db8::1/128, 10.1.2.2/31').entries).toHaveLength(
      5,
    );
  });
});

describe('looksLikeProxyHeader / closeIfProxyHeader', () => {
  it('spots v1 and v2 headers and their prefixes', () => {
    for (const { bytes } of VALID) {
      for (let i = 1; i <= bytes.length; i++) expect(looksLikeProxyHeader(bytes.subarray(0, i))).toBe(true);
      expect(looksLikeProxyHeader(Buffer.concat([bytes, ascii('EHLO x\r\n')]))).toBe(true);
    }
    expect(looksLikeProxyHeader(ascii('PROXY garbage'))).toBe(true);
  });

  it('lets protocol traffic through', () => {
    for (const text of [
      '',
      'EHLO client.example\r\n',
      'A1 CAPABILITY\r\n',
      'USER bob\r\n',
      'PROXZ',
      'PROXY\r\n',
    ]) {
      expect(looksLikeProxyHeader(ascii(text)), text).toBe(false);
    }
    expect(looksLikeProxyHeader(Buffer.from([0x16, 0x03, 0x01]))).toBe(false); // a TLS ClientHello
  });

  it('destroys the socket only for a header', () => {
    let destroyed = 0;
    const socket = { destroy: () => destroyed++ } as unknown as Socket;
    expect(closeIfProxyHeader(ascii('EHLO x\r\n'), socket)).toBe(false);
    expect(closeIfProxyHeader(ascii('P'), socket)).toBe(false);
    expect(closeIfProxyHeader(ascii('\r\n'), socket)).toBe(false);
    expect(destroyed).toBe(0);
    expect(closeIfProxyHeader(ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), socket)).toBe(true);
    expect(destroyed).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------
// Real sockets on loopback

interface Accepted {
  readonly origin: ConnectionOrigin | undefined;
  readonly socket: Socket;
  /** Listener counts before and after acceptProxiedConnection. */
  readonly listeners: { before: number[]; after: number[] };
}

const EVENTS = ['data', 'readable', 'end', 'error', 'close'] as const;
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/**
 * A server that runs acceptProxiedConnection on each connection (after `delayMs`, to let
 * bytes pile up) and then, like the real callers, hands the socket to `then`.
 */
async function serve(
  policy: ProxyPolicy,
  then: (accepted: Accepted) => void = () => undefined,
  delayMs = 0,
): Promise<{ port: number; next(): Promise<Accepted> }> {
  const queue: Accepted[] = [];
  const waiting: ((a: Accepted) => void)[] = [];
  const server = createServer(async (socket) => {
    socket.on('error', () => undefined); // as protocol-server does, before anything else
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const before = EVENTS.map((e) => socket.listenerCount(e));
    const origin = await acceptProxiedConnection(socket, policy);
    const accepted = {
      origin,
      socket,
      listeners: { before, after: EVENTS.map((e) => socket.listenerCount(e)) },
    };
    then(accepted);
    const waiter = waiting.shift();
    if (waiter) waiter(accepted);
    else queue.push(accepted);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    next: () => {
      const ready = queue.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** A client that connects, resolves once connected, and collects what the server sends. */
async function client(
  port: number,
): Promise<{ socket: Socket; received: Promise<string>; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: closed.then(() => text), closed };
}

/** Everything the server-side caller receives through its own 'data' handler, up to 'end'. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.once('end', () => resolve(text));
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const loopback: CidrList = parseCidrList('127.0.0.0/8');

describe('acceptProxiedConnection', () => {
  it('reads a header split across writes from a trusted peer; the caller gets exactly the bytes after it', async () => {
    let protocolBytes: Promise<string> | undefined;
    const server = await serve(
      { enabled: true, trusted: loopback, timeoutMs: 10_000 },
      ({ origin, socket }) => {
        if (!origin) return;
        protocolBytes = readAll(socket); // attached right away, the way a gateway would
        socket.write('220 mail.example ESMTP\r\n');
      },
    );
    const peer = await client(server.port);
    peer.socket.write('PROXY TCP6 2001:db8::7 ');
    await pause(30);
    peer.socket.write('2001:db8::1 40123 ');
    await pause(30);
    peer.socket.write('25\r\nEHLO client.example\r\n');
    const accepted = await server.next();
    expect(accepted.origin).toEqual({ address: '2001:db8::7', port: 40123, proxied: true });
    expect(accepted.listeners.after).toEqual(accepted.listeners.before);
    peer.socket.end('QUIT\r\n');
    expect(await protocolBytes).toBe('EHLO client.example\r\nQUIT\r\n');
    expect(await peer.received).toBe('220 mail.example ESMTP\r\n');
  });

  it('leaves the socket paused: a data handler attached later still gets the rest first', async () => {
    const server = await serve({ enabled: true, trusted: loopback, timeoutMs: 10_000 });
    const peer = await client(server.port);
    peer.socket.write(
      Buffer.concat([encodeV2Proxy('198.51.100.9', '10.0.0.5', 50000, 993), ascii('A1 NOOP\r\n')]),
    );
    const { origin, socket, listeners } = await server.next();
    expect(origin).toEqual({ address: '198.51.100.9', port: 50000, proxied: true });
    expect(listeners.after).toEqual(listeners.before);
    peer.socket.write('A2 LOGOUT\r\n');
    await pause(50); // the second write arrives while nobody reads
    const all = readAll(socket);
    peer.socket.end();
    expect(await all).toBe('A1 NOOP\r\nA2 LOGOUT\r\n');
  });

  it('handles header, protocol bytes and the peer closing all at once', async () => {
    // The server waits before reading, so all of it arrives in one read.
    const server = await serve({ enabled: true, trusted: loopback, timeoutMs: 10_000 }, () => undefined, 100);
    const peer = await client(server.port);
    peer.socket.end('PROXY TCP4 203.0.113.1 10.0.0.1 1234 110\r\nCAPA\r\n');
    const { origin, socket } = await server.next();
    expect(origin).toEqual({ address: '203.0.113.1', port: 1234, proxied: true });
    expect(await readAll(socket)).toBe('CAPA\r\n');
  });

  it('takes the connection’s own address for LOCAL and UNKNOWN', async () => {
    const server = await serve({ enabled: true, trusted: loopback, timeoutMs: 10_000 });
    for (const header of [v2(0, 0x00, Buffer.alloc(0)), ascii('PROXY UNKNOWN\r\n')]) {
      const peer = await client(server.port);
      peer.socket.write(header);
      const { origin, socket } = await server.next();
      expect(origin).toEqual({ address: '127.0.0.1', port: peer.socket.localPort, proxied: true });
      socket.destroy();
    }
  });

  it('gives up on a trusted peer that sends no header in time, and closes it', async () => {
    const server = await serve({ enabled: true, trusted: loopback, timeoutMs: 200 });
    const peer = await client(server.port);
    const { origin, socket, listeners } = await server.next();
    expect(origin).toBeUndefined();
    expect(socket.destroyed).toBe(true);
    expect(listeners.after).toEqual(listeners.before);
    await peer.closed;
  });

  it('closes a trusted peer that sends an invalid header, or only part of one', async () => {
    const server = await serve({ enabled: true, trusted: loopback, timeoutMs: 10_000 });
    for (const send of [
      (s: Socket) => s.write('EHLO client.example\r\n'),
      (s: Socket) => s.write('PROXY TCP4 10.0.0.1 10.0.0.2 65536 25\r\n'),
      (s: Socket) => s.end('PROXY TCP4 10.0.0.1 '),
      (s: Socket) => s.end(SIGNATURE.subarray(0, 7)),
    ]) {
      const peer = await client(server.port);
      send(peer.socket);
      const { origin, socket, listeners } = await server.next();
      expect(origin).toBeUndefined();
      expect(socket.destroyed).toBe(true);
      expect(listeners.after).toEqual(listeners.before);
      await peer.closed;
    }
  });

  it('does not wait for an untrusted peer, and its header is spotted by closeIfProxyHeader', async () => {
    let firstChunk: Promise<boolean> | undefined;
    // A timeout this long would fail the test if the server waited for the peer.
    const server = await serve(
      { enabled: true, trusted: parseCidrList('10.0.0.0/8'), timeoutMs: 600_000 },
      ({ socket }) => {
        firstChunk = new Promise((resolve) =>
          socket.once('data', (chunk: Buffer) => resolve(closeIfProxyHeader(chunk, socket))),
        );
      },
    );
    const peer = await client(server.port);
    const accepted = await server.next(); // the peer has not sent anything yet
    expect(accepted.origin).toEqual({ address: '127.0.0.1', port: peer.socket.localPort, proxied: false });
    expect(accepted.listeners.after).toEqual(accepted.listeners.before);
    peer.socket.write('PROXY TCP4 10.9.9.9 10.0.0.1 1 25\r\n');
    expect(await firstChunk).toBe(true);
    await peer.closed;
  });

  it('passes everything through untouched when disabled, even from a trusted peer', async () => {
    let bytes: Promise<string> | undefined;
    const server = await serve({ enabled: false, trusted: loopback, timeoutMs: 600_000 }, ({ socket }) => {
      bytes = readAll(socket);
    });
    const peer = await client(server.port);
    const accepted = await server.next();
    expect(accepted.origin).toEqual({ address: '127.0.0.1', port: peer.socket.localPort, proxied: false });
    expect(accepted.listeners.after).toEqual(accepted.listeners.before);
    peer.socket.end('PROXY TCP4 10.9.9.9 10.0.0.1 1 25\r\nEHLO x\r\n');
    expect(await bytes).toBe('PROXY TCP4 10.9.9.9 10.0.0.1 1 25\r\nEHLO x\r\n');
  });

  it('resolves undefined for a socket that is already gone', async () => {
    const server = await serve({ enabled: false, trusted: loopback, timeoutMs: 1000 });
    const peer = await client(server.port);
    const { socket } = await server.next();
    socket.destroy();
    expect(
      await acceptProxiedConnection(socket, { enabled: true, trusted: loopback, timeoutMs: 1000 }),
    ).toBeUndefined();
    await peer.closed;
  });

  describe('under implicit TLS', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'tegami-proxy-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('hands the TLS bytes that came with the header on to a TLSSocket', async () => {
      const material = await ensureSelfSignedCertificate(scratch);
      const secureContext = createSecureContext(createTlsContextOptions(material));
      // The server waits before reading, so the ClientHello arrives together with the header.
      const server = await serve(
        { enabled: true, trusted: loopback, timeoutMs: 10_000 },
        ({ origin, socket }) => {
          if (!origin) return;
          const tls = new TLSSocket(socket, { isServer: true, secureContext });
          tls.on('error', () => undefined);
          tls.end(`* OK hello ${origin.address}\r\n`);
        },
        100,
      );
      const raw = connect(server.port, '127.0.0.1');
      raw.on('error', () => undefined);
      await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
      raw.write('PROXY TCP4 192.0.2.44 10.0.0.1 5555 993\r\n');
      const greeting = await new Promise<string>((resolve, reject) => {
        const tls = tlsConnect({ socket: raw, servername: 'localhost', ca: material.cert });
        let text = '';
        tls.setEncoding('latin1');
        tls.on('data', (chunk: string) => {
          text += chunk;
        });
        tls.once('end', () => resolve(text));
        tls.once('error', reject);
      });
      expect(greeting).toBe('* OK hello 192.0.2.44\r\n');
      expect((await server.next()).origin).toEqual({ address: '192.0.2.44', port: 5555, proxied: true });
    });
  });
});
