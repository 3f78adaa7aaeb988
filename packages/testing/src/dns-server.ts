import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { DEFAULT_TTL, normaliseName, recordsOf, type TestDnsNode } from './dns-records.js';

export type { TestDnsAddress, TestDnsNode, TestDnsTlsa } from './dns-records.js';

/**
 * An authoritative DNS server for tests, on UDP and TCP of one loopback port, answering
 * from a zone description that a test can change at run time. It serves one flat
 * namespace: every name not described (and with no described name below it) is NXDOMAIN.
 *
 * ```ts
 * const dns = await startTestDnsServer({
 *   records: {
 *     'example.test': { mx: [{ preference: 10, exchange: 'mx1.example.test' }], ttl: 60 },
 *     'mx1.example.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
 *     'bare.test': { a: ['192.0.2.7'] },                       // no MX: implicit MX
 *     'nomail.test': { mx: [{ preference: 0, exchange: '.' }] }, // null MX (RFC 7505)
 *     'alias.test': { cname: 'example.test' },
 *     'example.test.spf': { txt: [['v=spf1 ', '-all']] },
 *     'broken.test': { rcode: 'SERVFAIL' },
 *     'hole.test': { drop: true },
 *     '_25._tcp.mx1.example.test': { tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: 'ab…' }] },
 *     'insecure.test': { mx: [...], authenticated: false },     // no AD bit for this name
 *   },
 *   authenticated: true, // answers carry AD, as from a validating resolver (RFC 4035 §3.2.3)
 * });
 * // upstream for the resolver: `127.0.0.1:${dns.port}`
 * ```
 */
export interface TestDnsRecords {
  readonly [name: string]: TestDnsNode;
}

/** The SOA put in the authority section of NXDOMAIN and NODATA answers (RFC 2308). */
export interface TestDnsSoa {
  /** TTL of the SOA record itself. Default 60. */
  readonly ttl?: number;
  /** The SOA MINIMUM field. Default 60. */
  readonly minimum?: number;
}

export interface TestDnsServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly records?: TestDnsRecords;
  /** SOA of negative answers; false sends none (a negative answer that must not be cached). */
  readonly soa?: TestDnsSoa | false;
  /** Answer every UDP query with TC set and no records, so clients must retry over TCP. */
  readonly truncateUdp?: boolean;
  /** Answer nothing at all, on UDP or TCP (a dead upstream). */
  readonly silent?: boolean;
  /**
   * Put the target's records after a CNAME in the same answer, as an authoritative server for
   * both names does (default true). Off, the answer holds only the CNAME and the client must
   * ask for the target itself.
   */
  readonly chaseCnames?: boolean;
  /**
   * Set the AD bit on every answer (default false), as a validating recursive resolver does
   * when it has validated the data; per name, `authenticated` overrides it. As such a
   * resolver (RFC 6840 §5.8), AD is only set when the query asked with DO or AD.
   */
  readonly authenticated?: boolean;
}

export interface TestDnsQuery {
  /** Lower case, without the trailing dot. */
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
  /** The query's EDNS DO bit (RFC 3225): the client wants DNSSEC. */
  readonly dnssecOk: boolean;
}

export interface TestDnsServer {
  readonly host: string;
  /** The UDP and TCP port (the same number). */
  readonly port: number;
  /** `host:port`, as a resolver's upstream list takes it. */
  readonly address: string;
  /** Every query received so far, answered or not, in order. */
  readonly queries: readonly TestDnsQuery[];
  /** How many queries were received, optionally only for one name (any case) and type. */
  queryCount(name?: string, type?: string): number;
  setRecords(records: TestDnsRecords): void;
  setSoa(soa: TestDnsSoa | false): void;
  setTruncateUdp(truncate: boolean): void;
  setSilent(silent: boolean): void;
  /** Changes the server-wide AD default (names with their own `authenticated` keep theirs). */
  setAuthenticated(authenticated: boolean): void;
  stop(): Promise<void>;
}

const MAX_CNAME_CHAIN = 8;
const CLASSIC_UDP_LIMIT = 512;
const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

type Rcode = keyof typeof RCODES;
type DecodedQuery = dnsPacket.DecodedPacket;

export async function startTestDnsServer(options: TestDnsServerOptions = {}): Promise<TestDnsServer> {
  const host = options.host ?? '127.0.0.1';
  let records = normalise(options.records ?? {});
  let soa: TestDnsSoa | false = options.soa ?? {};
  let truncateUdp = options.truncateUdp ?? false;
  let silent = options.silent ?? false;
  const chaseCnames = options.chaseCnames ?? true;
  let authenticated = options.authenticated ?? false;
  const queries: TestDnsQuery[] = [];
  const timers = new Set<NodeJS.Timeout>();

  /** The response to one query, or undefined for no answer; the delay before sending it. */
  function respond(
    query: DecodedQuery,
    transport: 'udp' | 'tcp',
  ): { packet: Buffer; delayMs: number } | undefined {
    const question = query.questions?.[0];
    if (query.type !== 'query' || !question) return undefined;
    const name = normaliseName(question.name);
    const edns = query.additionals?.find((a): a is dnsPacket.OptAnswer => a.type === 'OPT');
    const dnssecOk = ((edns?.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0;
    queries.push({ name, type: question.type, transport, dnssecOk });
    if (silent) return undefined;
    const node = records.get(name);
    if (node?.drop) return undefined;
    const delayMs = node?.delayMs ?? 0;

    const answers: dnsPacket.Answer[] = [];
    let rcode: Rcode = 'NOERROR';
    let negative = false;
    // A failure proves nothing; data is authenticated when every name it came through is.
    let secure = !node?.rcode;
    if (node?.rcode) {
      rcode = node.rcode;
    } else {
      let current = name;
      for (let hop = 0; ; hop++) {
        const here = records.get(current);
        secure &&= here?.authenticated ?? authenticated;
        if (!here && !hasDescendant(records, current)) {
          rcode = 'NXDOMAIN';
          negative = true;
          break;
        }
        if (here?.cname !== undefined && question.type !== 'CNAME') {
          const target = normaliseName(here.cname);
          answers.push({ type: 'CNAME', name: current, ttl: here.ttl ?? DEFAULT_TTL, data: target });
          if (!chaseCnames || hop >= MAX_CNAME_CHAIN) break;
          current = target;
          continue;
        }
        const found = here ? recordsOf(current, here, question.type) : [];
        answers.push(...found);
        negative = found.length === 0;
        break;
      }
    }

    const authorities: dnsPacket.Answer[] =
      negative && soa !== false
        ? [
            {
              type: 'SOA',
              name: zoneOf(name),
              ttl: soa.ttl ?? 60,
              data: {
                mname: `ns.${zoneOf(name)}`,
                rname: `hostmaster.${zoneOf(name)}`,
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum: soa.minimum ?? 60,
              },
            },
          ]
        : [];
    const askedForAd = dnssecOk || ((query.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0;
    const header = {
      type: 'response' as const,
      id: query.id ?? 0,
      flags:
        dnsPacket.AUTHORITATIVE_ANSWER |
        ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
        (secure && askedForAd ? dnsPacket.AUTHENTIC_DATA : 0) |
        RCODES[rcode],
      questions: [question],
    };
    let packet = dnsPacket.encode({ ...header, answers, authorities });
    if (transport === 'udp') {
      const limit = Math.max(CLASSIC_UDP_LIMIT, edns?.udpPayloadSize ?? 0);
      if (truncateUdp || packet.length > limit) {
        packet = dnsPacket.encode({ ...header, flags: header.flags | dnsPacket.TRUNCATED_RESPONSE });
      }
    }
    return { packet, delayMs };
  }

  function later(delayMs: number, send: () => void): void {
    if (delayMs <= 0) {
      send();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      send();
    }, delayMs);
    timers.add(timer);
  }

  const { udp, tcp, port } = await bindBoth(host);
  udp.on('message', (message: Buffer, from: RemoteInfo) => {
    const query = decodeOrUndefined(message);
    const response = query && respond(query, 'udp');
    if (!response) return;
    later(response.delayMs, () => udp.send(response.packet, from.port, from.address, () => undefined));
  });
  udp.on('error', () => undefined);

  const sockets = new Set<Socket>();
  tcp.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        const query = decodeOrUndefined(message);
        const response = query && respond(query, 'tcp');
        if (!response) continue;
        const frame = Buffer.alloc(2 + response.packet.length);
        frame.writeUInt16BE(response.packet.length, 0);
        response.packet.copy(frame, 2);
        later(response.delayMs, () => {
          if (!socket.destroyed) socket.write(frame);
        });
      }
    });
  });

  return {
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    queryCount(name, type) {
      const wanted = name === undefined ? undefined : normaliseName(name);
      return queries.filter(
        (q) => (wanted === undefined || q.name === wanted) && (type === undefined || q.type === type),
      ).length;
    },
    setRecords(next) {
      records = normalise(next);
    },
    setSoa(next) {
      soa = next;
    },
    setTruncateUdp(truncate) {
      truncateUdp = truncate;
    },
    setSilent(next) {
      silent = next;
    },
    setAuthenticated(next) {
      authenticated = next;
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

/** UDP on a random free port, then TCP on the same number; starts over if TCP's is taken. */
async function bindBoth(host: string): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, host, () => {
        udp.off('error', reject);
        resolve(udp.address().port);
      });
    });
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port };
    } catch (err) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

/** The PTR owner name of an IPv4 or IPv6 address (in-addr.arpa or ip6.arpa), for `ptr` records. */
export function reverseDnsName(address: string): string {
  if (isIP(address) === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  if (isIP(address) !== 6) throw new Error(`not an IP address: ${address}`);
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const zeros = address.includes('::') ? 8 - headGroups.length - tailGroups.length : 0;
  const hex = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups]
    .map((g) => g.padStart(4, '0'))
    .join('');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}

function normalise(records: TestDnsRecords): Map<string, TestDnsNode> {
  return new Map(Object.entries(records).map(([name, node]) => [normaliseName(name), node]));
}

/** An empty non-terminal exists (NODATA), it is not NXDOMAIN (RFC 8020). */
function hasDescendant(records: Map<string, TestDnsNode>, name: string): boolean {
  for (const key of records.keys()) if (key.endsWith(`.${name}`)) return true;
  return false;
}

/** The owner of the SOA in negative answers: the last two labels of the name. */
function zoneOf(name: string): string {
  return name.split('.').slice(-2).join('.');
}

function decodeOrUndefined(message: Buffer): DecodedQuery | undefined {
  try {
    return dnsPacket.decode(message);
  } catch {
    return undefined;
  }
}
