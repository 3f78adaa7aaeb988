import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  looksLikeProxyHeader,
  PROXY_V2_MAX_TLV_BYTES,
  ProxyHeaderParser,
  type ProxyParseResult,
} from '../../../packages/runtime/src/proxy-protocol.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedBytes } from '../mail-seeds.js';
import { ipv6Octets, latin1 } from '../protocol-grammar.js';

// The PROXY protocol header parser (packages/runtime/src/proxy-protocol.ts, HAProxy's
// proxy-protocol.txt v1 and v2), fed a connection's first bytes in any chunks: it never
// throws, the chunking changes nothing, a header built from addresses reads back as those
// addresses, the bytes after the header are exactly the input's tail (nothing lost, nothing
// taken twice), and a header is never longer than the spec and the TLV bound allow.

interface ProxyInput {
  readonly stream: Uint8Array;
  readonly cuts: readonly number[];
  /** For a header built from fields: what it must read back as. */
  readonly expected?: { source: [string, number]; destination: [string, number] } | null;
}

const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const port = fc.integer({ min: 0, max: 65535 });
const rest = fc.oneof(
  fc.constant(''),
  fc.constantFrom('EHLO x\r\n', 'a1 CAPABILITY\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'),
);

const v1 = fc
  .tuple(fc.boolean(), fc.ipV4(), fc.ipV4(), fc.ipV6(), fc.ipV6(), port, port, rest)
  .map(([four, s4, d4, s6, d6, sp, dp, after]) => {
    const [s, d] = four ? [s4, d4] : [s6, d6];
    return {
      stream: latin1(`PROXY ${four ? 'TCP4' : 'TCP6'} ${s} ${d} ${sp} ${dp}\r\n${after}`),
      expected: { source: [s, sp], destination: [d, dp] } as {
        source: [string, number];
        destination: [string, number];
      },
    };
  });

const tlvs = fc.array(
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 }))
    .map(([type, value]) => [type, value.length >> 8, value.length & 0xff, ...value]),
  { maxLength: 3 },
);

const v2 = fc
  .tuple(
    fc.boolean(),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    port,
    port,
    tlvs,
    fc.constantFrom(0x21, 0x20, 0x22),
    rest,
  )
  .map(([four, s, d, sp, dp, tlv, versionCommand, after]) => {
    const addresses = four ? [...s.subarray(0, 4), ...d.subarray(0, 4)] : [...s, ...d];
    const block = [...addresses, sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, ...tlv.flat()];
    const header = [
      ...V2_SIGNATURE,
      versionCommand,
      four ? 0x11 : 0x21,
      block.length >> 8,
      block.length & 0xff,
      ...block,
    ];
    const text = (octets: Uint8Array) =>
      four
        ? [...octets.subarray(0, 4)].join('.')
        : Buffer.from(octets)
            .toString('hex')
            .replace(/(.{4})(?!$)/g, '$1:');
    return {
      stream: new Uint8Array([...header, ...latin1(after)]),
      expected:
        versionCommand === 0x21
          ? ({ source: [text(s), sp], destination: [text(d), dp] } as {
              source: [string, number];
              destination: [string, number];
            })
          : null,
    };
  });

const SEEDS = [
  'PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO x\r\n',
  'PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 1 65535\r\n',
  'PROXY UNKNOWN\r\n',
  'PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n',
].map(latin1);

const input: fc.Arbitrary<ProxyInput> = fc
  .tuple(
    fc.oneof(
      { weight: 2, arbitrary: v1 },
      { weight: 2, arbitrary: v2 },
      {
        weight: 3,
        arbitrary: mutatedBytes(SEEDS, { base: fc.oneof(v1, v2).map((h) => h.stream) }).map((stream) => ({
          stream,
        })),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((stream) => ({ stream })) },
    ),
    fc.array(fc.nat(), { maxLength: 6 }),
  )
  .map(([built, cuts]) => ({ ...built, cuts }));

/** Feeds chunks until the parser decides; the bytes after the header, with the chunks not fed. */
function parse(chunks: readonly Uint8Array[]): { result: ProxyParseResult; rest: Buffer } {
  const parser = new ProxyHeaderParser();
  let result: ProxyParseResult = { state: 'need-more' };
  for (const [i, chunk] of chunks.entries()) {
    result = parser.push(chunk);
    if (result.state === 'done')
      return { result, rest: Buffer.concat([result.rest, ...chunks.slice(i + 1)]) };
    if (result.state === 'invalid') return { result, rest: Buffer.alloc(0) };
  }
  return { result, rest: Buffer.alloc(0) };
}

export const target: FuzzTarget<ProxyInput> = {
  name: 'proxy-protocol',
  covers: 'PROXY protocol v1 and v2 header parser: addresses, ports, TLVs, chunking (packages/runtime)',
  input,
  check({ stream, cuts, expected }) {
    const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
    const chunks = [...points, stream.length].map((point, i, all) =>
      stream.subarray(i === 0 ? 0 : all[i - 1], point),
    );
    const split = parse(chunks);
    const whole = parse([stream]);
    ensure(
      split.result.state === whole.result.state,
      `${split.result.state} in chunks, ${whole.result.state} whole`,
    );
    // (An invalid header may be named for what its first chunk showed: the reasons may differ.)
    if (whole.result.state !== 'done') return;
    ensure(split.result.state === 'done', 'not done in chunks');
    ensure(isDeepStrictEqual(split.result.header, whole.result.header), 'another header in chunks');
    ensure(split.rest.equals(whole.rest), 'other bytes after the header in chunks');
    // The rest is the input's tail: the header is a prefix, no longer than allowed.
    const length = stream.length - whole.rest.length;
    ensure(
      Buffer.from(stream.subarray(length)).equals(whole.rest),
      'the bytes after the header are not the tail',
    );
    const limit = whole.result.header.version === 1 ? 107 : 16 + 216 + PROXY_V2_MAX_TLV_BYTES;
    ensure(length > 0 && length <= limit, `a ${length}-byte header`);
    ensure(looksLikeProxyHeader(stream), 'a header looksLikeProxyHeader does not recognise');
    if (expected) {
      const { source, destination } = whole.result.header;
      ensure(source && destination, 'addresses lost');
      ensure(
        source.port === expected.source[1] && destination.port === expected.destination[1],
        'ports differ',
      );
      const same = (a: string, b: string) =>
        a.includes(':') ? isDeepStrictEqual(ipv6Octets(a), ipv6Octets(b)) : a === b;
      ensure(
        same(source.address, expected.source[0]),
        `source ${source.address}, sent ${expected.source[0]}`,
      );
      ensure(
        same(destination.address, expected.destination[0]),
        `destination ${destination.address}, sent ${expected.destination[0]}`,
      );
    }
  },
};
