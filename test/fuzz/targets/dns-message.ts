import { isIP } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { ResolveStatus } from '@tegami/rpc';
import fc from 'fast-check';
import { RecordLookup } from '../../../services/dns-resolver/src/record-lookup.js';
import { matchResponse, type QueryType } from '../../../services/dns-resolver/src/upstream.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedBytes } from '../mail-seeds.js';
import { ipv6Octets } from '../protocol-grammar.js';

// The DNS messages dns-resolver takes from its upstream servers (services/dns-resolver:
// matchResponse, which decodes with dns-packet and checks id and question, then
// RecordLookup, which follows CNAMEs and reads MX, A, AAAA, TXT, PTR and TLSA records).
// Any datagram is refused or read, never thrown on; a response written here from a model
// (an encoder of our own, RFC 1035 §4) reads back as the model; a lookup over any response
// ends, with records of the right shape and TTLs within the cap, and no more records are
// read than the message can hold.

interface Record {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'MX' | 'CNAME' | 'TXT' | 'PTR' | 'TLSA' | 'SOA';
  readonly ttl: number;
  readonly data: unknown;
}

interface Model {
  readonly id: number;
  readonly rcode: number;
  readonly ad: boolean;
  readonly tc: boolean;
  readonly question: { readonly name: string; readonly type: QueryType };
  readonly answers: readonly Record[];
  readonly authorities: readonly Record[];
  /** Names after the question's written as a pointer to it (RFC 1035 §4.1.4). */
  readonly compress: boolean;
}

interface DnsInput {
  readonly message: Uint8Array;
  readonly id: number;
  readonly question: { readonly name: string; readonly type: QueryType };
  readonly model?: Model;
}

const TYPE_CODES = { A: 1, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, TLSA: 52 } as const;
const QUERY_TYPES: QueryType[] = ['MX', 'A', 'AAAA', 'TXT', 'PTR', 'TLSA'];

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function encodeName(name: string, questionName: string | undefined): number[] {
  if (questionName !== undefined && name === questionName) return [0xc0, 12];
  const out: number[] = [];
  for (const label of name.split('.').filter((l) => l !== '')) {
    const bytes = [...Buffer.from(label, 'latin1')];
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

function encodeData(record: Record, q: string | undefined): number[] {
  const d = record.data as never;
  switch (record.type) {
    case 'A':
      return (d as string).split('.').map(Number);
    case 'AAAA':
      return ipv6Octets(d as string);
    case 'MX': {
      const mx = d as { preference: number; exchange: string };
      return [...u16(mx.preference), ...encodeName(mx.exchange, q)];
    }
    case 'CNAME':
    case 'PTR':
      return encodeName(d as string, q);
    case 'TXT':
      return (d as Buffer[]).flatMap((s) => [s.length, ...s]);
    case 'TLSA': {
      const t = d as { usage: number; selector: number; matchingType: number; certificate: Buffer };
      return [t.usage, t.selector, t.matchingType, ...t.certificate];
    }
    case 'SOA': {
      const minimum = d as number;
      return [
        ...encodeName('ns.example', q),
        ...encodeName('host.example', q),
        ...u32(1),
        ...u32(2),
        ...u32(3),
        ...u32(4),
        ...u32(minimum),
      ];
    }
  }
}

/** RFC 1035 §4.1: header, question, answers, authorities. */
function encode(m: Model): Uint8Array {
  const q = m.compress ? m.question.name : undefined;
  const flags = 0x8000 | 0x0100 | 0x0080 | (m.tc ? 0x0200 : 0) | (m.ad ? 0x0020 : 0) | m.rcode;
  const rr = (r: Record) => {
    const data = encodeData(r, q);
    return [
      ...encodeName(r.name, q),
      ...u16(TYPE_CODES[r.type]),
      ...u16(1),
      ...u32(r.ttl),
      ...u16(data.length),
      ...data,
    ];
  };
  return new Uint8Array([
    ...u16(m.id),
    ...u16(flags),
    ...u16(1),
    ...u16(m.answers.length),
    ...u16(m.authorities.length),
    ...u16(0),
    ...encodeName(m.question.name, undefined),
    ...u16(TYPE_CODES[m.question.type]),
    ...u16(1),
    ...m.answers.flatMap(rr),
    ...m.authorities.flatMap(rr),
  ]);
}

const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/),
  fc.constantFrom('mx', 'mail', 'xn--bcher-kva'),
);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
const ttl = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }),
  fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff),
);

function record(owner: fc.Arbitrary<string>): fc.Arbitrary<Record> {
  return fc.oneof(
    fc.record({ name: owner, type: fc.constant('A' as const), ttl, data: fc.ipV4() }),
    fc.record({ name: owner, type: fc.constant('AAAA' as const), ttl, data: fc.ipV6() }),
    fc.record({
      name: owner,
      type: fc.constant('MX' as const),
      ttl,
      data: fc.record({ preference: fc.integer({ min: 0, max: 65535 }), exchange: name }),
    }),
    fc.record({ name: owner, type: fc.constant('CNAME' as const), ttl, data: name }),
    fc.record({ name: owner, type: fc.constant('PTR' as const), ttl, data: name }),
    fc.record({
      name: owner,
      type: fc.constant('TXT' as const),
      ttl,
      data: fc.array(
        fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    fc.record({
      name: owner,
      type: fc.constant('TLSA' as const),
      ttl,
      data: fc.record({
        usage: fc.integer({ min: 0, max: 255 }),
        selector: fc.integer({ min: 0, max: 255 }),
        matchingType: fc.integer({ min: 0, max: 255 }),
        certificate: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      }),
    }),
  );
}

const model: fc.Arbitrary<Model> = fc
  .tuple(name, fc.constantFrom(...QUERY_TYPES), fc.array(name, { maxLength: 2 }))
  .chain(([qname, qtype, others]) =>
    fc.record({
      id: fc.integer({ min: 0, max: 65535 }),
      rcode: fc.constantFrom(0, 0, 0, 1, 2, 3, 5),
      ad: fc.boolean(),
      tc: fc.constant(false),
      question: fc.constant({ name: qname, type: qtype }),
      answers: fc.array(record(fc.constantFrom(qname, ...others)), { maxLength: 5 }),
      authorities: fc.array(
        fc.record({ name: fc.constant(qname), type: fc.constant('SOA' as const), ttl, data: fc.nat() }),
        { maxLength: 1 },
      ),
      compress: fc.boolean(),
    }),
  );

const input: fc.Arbitrary<DnsInput> = fc.oneof(
  {
    weight: 3,
    arbitrary: model.map((m) => ({ message: encode(m), id: m.id, question: m.question, model: m })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(mutatedBytes([], { base: model.map(encode) }), model)
      .map(([message, m]) => ({ message, id: (message[0]! << 8) | message[1]!, question: m.question })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ maxLength: 64 }), name, fc.constantFrom(...QUERY_TYPES))
      .map(([message, n, t]) => ({ message, id: 0, question: { name: n, type: t } })),
  },
);

/** Record data in one form whichever side wrote it (dns-packet adds fields of its own). */
function comparable(type: Record['type'], data: unknown): unknown {
  const d = data as never;
  switch (type) {
    case 'AAAA':
      return ipv6Octets(d);
    case 'TXT':
      return (d as Uint8Array[]).map((b) => [...b]);
    case 'MX':
      return [(d as { preference: number }).preference, (d as { exchange: string }).exchange];
    case 'TLSA': {
      const t = d as { usage: number; selector: number; matchingType: number; certificate: Uint8Array };
      return [t.usage, t.selector, t.matchingType, [...t.certificate]];
    }
    default:
      return data;
  }
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const MAX_TTL_SECONDS = 86_400;

function checkRecordShape(type: QueryType, data: unknown): void {
  switch (type) {
    case 'A':
      ensure(typeof data === 'string' && isIP(data) === 4, `A data ${String(data)}`);
      return;
    case 'AAAA':
      ensure(typeof data === 'string' && isIP(data) === 6, `AAAA data ${String(data)}`);
      return;
    case 'MX': {
      const mx = data as { preference: unknown; exchange: unknown };
      ensure(Number.isInteger(mx.preference) && typeof mx.exchange === 'string', 'MX data');
      return;
    }
    case 'TXT':
      ensure(Array.isArray(data) && data.every((s) => Buffer.isBuffer(s)), 'TXT data');
      return;
    case 'PTR':
      ensure(typeof data === 'string', 'PTR data');
      return;
    case 'TLSA': {
      const t = data as { usage: unknown; certificate: unknown };
      ensure(Number.isInteger(t.usage) && Buffer.isBuffer(t.certificate), 'TLSA data');
      return;
    }
  }
}

export const target: FuzzTarget<DnsInput> = {
  name: 'dns-message',
  covers: 'DNS responses from upstream: decode, id/question check, CNAME chains, record data (dns-resolver)',
  input,
  async check({ message, id, question, model: m }) {
    const response = matchResponse(Buffer.from(message), id, question.name, question.type);
    if (m) {
      ensure(response !== undefined, 'a well-formed response to the question was refused');
      ensure(response.id === m.id && response.flag_ad === m.ad, 'header flags differ');
      ensure(response.rcode === RCODES[m.rcode], `rcode ${response.rcode}, sent ${m.rcode}`);
      const answers = response.answers ?? [];
      ensure(answers.length === m.answers.length, `${answers.length} answers, sent ${m.answers.length}`);
      for (const [i, sent] of m.answers.entries()) {
        const got = answers[i]! as { name: string; type: string; ttl?: number; data: unknown };
        ensure(
          got.name === sent.name && got.type === sent.type && got.ttl === sent.ttl,
          `answer ${i} header`,
        );
        const same = isDeepStrictEqual(comparable(sent.type, got.data), comparable(sent.type, sent.data));
        ensure(same, `answer ${i} data ${JSON.stringify(got.data)}, sent ${JSON.stringify(sent.data)}`);
      }
    }
    if (!response) return;
    ensure(response.type === 'response' && response.id === id, 'a response to another query was taken');
    // RFC 1035 §4.1: a question takes at least 5 octets, a record at least 11 (a root name,
    // type, class, TTL, length), so no more can have been read than the message holds.
    const sections = [response.answers, response.authorities, response.additionals];
    const recordCount = sections.reduce((n, list) => n + (list?.length ?? 0), 0);
    const least = 12 + 5 * (response.questions?.length ?? 0) + 11 * recordCount;
    ensure(least <= message.length, `${recordCount} records read from ${message.length} octets`);
    // The resolver over this response, asked again for every name it leads to.
    const lookup = new RecordLookup({
      upstream: { query: async () => ({ kind: 'answer', server: 'fuzz', response }) },
      cacheEntries: 16,
      negativeTtlMaxMs: 3_600_000,
      now: () => 1_000_000,
    });
    const result = await lookup.lookup(question.name, question.type);
    if (result.status === ResolveStatus.RESOLVE_STATUS_OK) {
      ensure(result.records.length > 0, 'OK without records');
      for (const r of result.records) {
        checkRecordShape(question.type, r.data);
        ensure(
          Number.isInteger(r.ttlSeconds) && r.ttlSeconds >= 0 && r.ttlSeconds <= MAX_TTL_SECONDS,
          `TTL ${r.ttlSeconds}`,
        );
      }
    } else {
      ensure(typeof result.detail === 'string' && result.detail !== '', 'a failure without detail');
    }
  },
};
