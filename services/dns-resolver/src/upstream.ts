import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import dnsPacket from 'dns-packet';

/** One upstream DNS server (a recursive resolver), by IP address. */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/** The record types the resolver asks for. */
export type QueryType = 'MX' | 'A' | 'AAAA' | 'TXT' | 'PTR' | 'TLSA';

/** What dns-packet decodes, with the header fields its type declarations leave out. */
export type DnsResponse = dnsPacket.DecodedPacket & { readonly rcode: string };

/** The result of asking the upstream servers one question. */
export type UpstreamOutcome =
  | { readonly kind: 'answer'; readonly server: string; readonly response: DnsResponse }
  /** No server answered within the timeout, in any attempt. */
  | { readonly kind: 'timeout'; readonly detail: string }
  /** Every exchange failed at the socket (unreachable, connection refused) or with garbage. */
  | { readonly kind: 'network'; readonly detail: string };

/** How one exchange with one server ended, for the metrics. */
export type ExchangeResult = 'ok' | 'nxdomain' | 'servfail' | 'refused' | 'timeout' | 'network';

export interface UpstreamObserver {
  exchanged(result: ExchangeResult, transport: 'udp' | 'tcp', seconds: number): void;
}

export interface UpstreamClientOptions {
  readonly servers: readonly Upstream[];
  /** How long one exchange with one server may take. */
  readonly timeoutMs: number;
  /** Rounds over the whole server list before giving up. */
  readonly attempts: number;
  readonly observer?: UpstreamObserver;
}

// RFC 6891 §6.2.5 and the DNS flag day 2020: large enough for most answers, small enough
// not to be fragmented.
const EDNS_UDP_PAYLOAD = 1232;

type Exchange =
  | { readonly kind: 'answer'; readonly response: DnsResponse }
  | { readonly kind: 'truncated' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly detail: string };

/** An exchange that is over: a truncated UDP answer is not, it goes on over TCP. */
type Completed = Exclude<Exchange, { readonly kind: 'truncated' }>;

/**
 * A stub resolver's client side, as glibc's: each attempt tries the servers in order; a
 * server that does not answer in time, or answers SERVFAIL or REFUSED, passes the question
 * to the next. Queries go over UDP from a fresh socket with a random id, and the answer
 * must come from the server asked and repeat the id and the question (RFC 5452), so a
 * spoofed or stray datagram is ignored; a truncated answer is asked again over TCP.
 */
export class UpstreamClient {
  constructor(private readonly options: UpstreamClientOptions) {
    if (options.servers.length === 0) throw new Error('no upstream DNS server');
  }

  async query(name: string, type: QueryType): Promise<UpstreamOutcome> {
    const { servers, attempts } = this.options;
    let lastRefusal: UpstreamOutcome | undefined;
    let networkDetail: string | undefined;
    let timedOut = false;
    for (let attempt = 0; attempt < attempts; attempt++) {
      let definite = 0;
      for (const server of servers) {
        const exchange = await this.ask(server, name, type);
        const label = serverLabel(server);
        if (exchange.kind === 'timeout') {
          timedOut = true;
          continue;
        }
        if (exchange.kind === 'network') {
          networkDetail = `${label}: ${exchange.detail}`;
          continue;
        }
        const rcode = exchange.response.rcode;
        if (rcode === 'SERVFAIL' || rcode === 'REFUSED') {
          // Another server may know better; remember this one's answer in case none does.
          lastRefusal = { kind: 'answer', server: label, response: exchange.response };
          definite++;
          continue;
        }
        return { kind: 'answer', server: label, response: exchange.response };
      }
      // Every server gave a definite failure: asking them all again would change nothing.
      if (definite === servers.length) break;
    }
    if (lastRefusal) return lastRefusal;
    const asked = servers.map(serverLabel).join(', ');
    if (timedOut) {
      return {
        kind: 'timeout',
        detail: `no answer from ${asked} within ${this.options.timeoutMs} ms × ${attempts} attempt(s)`,
      };
    }
    return { kind: 'network', detail: networkDetail ?? `no answer from ${asked}` };
  }

  /** One question to one server: UDP, then TCP when the answer is truncated. */
  private async ask(server: Upstream, name: string, type: QueryType): Promise<Completed> {
    const udp = await this.timed('udp', () => exchangeUdp(server, name, type, this.options.timeoutMs));
    if (udp.kind !== 'truncated') return udp;
    return this.timed('tcp', () => exchangeTcp(server, name, type, this.options.timeoutMs));
  }

  private async timed<E extends Exchange>(transport: 'udp' | 'tcp', run: () => Promise<E>): Promise<E> {
    const started = performance.now();
    const exchange = await run();
    // A truncated answer is half an exchange: the TCP retry that follows is counted.
    if (exchange.kind !== 'truncated') {
      this.options.observer?.exchanged(resultOf(exchange), transport, (performance.now() - started) / 1000);
    }
    return exchange;
  }
}

function resultOf(exchange: Completed): ExchangeResult {
  if (exchange.kind === 'timeout' || exchange.kind === 'network') return exchange.kind;
  switch (exchange.response.rcode) {
    case 'NOERROR':
      return 'ok';
    case 'NXDOMAIN':
      return 'nxdomain';
    case 'REFUSED':
      return 'refused';
    default:
      return 'servfail';
  }
}

export function serverLabel(server: Upstream): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

function encodeQuery(id: number, name: string, type: QueryType): dnsPacket.Packet {
  return {
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_PAYLOAD,
        extendedRcode: 0,
        ednsVersion: 0,
        // DO (RFC 3225): a validating upstream then sets AD on the answers it proved with
        // DNSSEC (RFC 4035 §3.2.3), which is what DANE needs to know (RFC 7672 §2.1). The
        // RRSIGs that come along are not checked here: the upstream's validation is trusted,
        // as Postfix does with smtp_dns_support_level = dnssec.
        flags: dnsPacket.DNSSEC_OK,
        flag_do: true,
        options: [],
      },
    ],
  };
}

const HEADER_BYTES = 12;

/** dns-packet's codecs of one question and one resource record (its types leave them out). */
type RecordCodec = { decode: ((buf: Buffer, offset: number) => unknown) & { bytes: number } };
const records = dnsPacket as unknown as { question: RecordCodec; answer: RecordCodec };

/**
 * dnsPacket.decode, one record at a time, refusing a record that runs past the message.
 * dns-packet's own loop does not: a TXT record whose length runs past the end makes its
 * offset NaN, which its decoders read as 0, so every record the header still counts (up to
 * 3 × 65,535) is decoded again from the first byte. A 632-byte datagram found by the fuzzer
 * (test/fuzz/targets/dns-message.ts) decoded to 24,576 records in half a second of CPU.
 * Here each record must end inside the message, so a message of n bytes is at most n
 * records, each decoded once.
 */
function decodeMessage(message: Buffer): DnsResponse {
  // The header with no records counted: dns-packet reads its flags, we read the counts.
  const header = Buffer.from(message.subarray(0, HEADER_BYTES)).fill(0, 4);
  const decoded = dnsPacket.decode(header) as DnsResponse & {
    questions: unknown[];
    answers: unknown[];
    authorities: unknown[];
    additionals: unknown[];
  };
  let offset = HEADER_BYTES;
  const read = (codec: RecordCodec): unknown => {
    const record = codec.decode(message, offset);
    const bytes = codec.decode.bytes;
    if (!Number.isInteger(bytes) || bytes <= 0 || offset + bytes > message.length) {
      throw new Error(`a DNS record at offset ${offset} runs past the message`);
    }
    offset += bytes;
    return record;
  };
  const sections = [decoded.questions, decoded.answers, decoded.authorities, decoded.additionals];
  for (const [i, section] of sections.entries()) {
    const count = message.readUInt16BE(4 + 2 * i);
    for (let n = 0; n < count; n++) section.push(i === 0 ? read(records.question) : read(records.answer));
  }
  return decoded;
}

/**
 * The response to our query, or undefined for anything else (another id, another question,
 * garbage). Exported for the DNS message fuzz target (test/fuzz/targets/dns-message.ts).
 */
export function matchResponse(
  message: Buffer,
  id: number,
  name: string,
  type: QueryType,
): DnsResponse | undefined {
  // Another query's id (or a spoofed datagram) is refused before anything is decoded.
  if (message.length < HEADER_BYTES || message.readUInt16BE(0) !== id) return undefined;
  let decoded: DnsResponse;
  try {
    decoded = decodeMessage(message);
  } catch {
    return undefined;
  }
  if (decoded.type !== 'response' || decoded.id !== id) return undefined;
  const question = decoded.questions?.[0];
  // A FORMERR may come without the question section (RFC 1035 leaves it open).
  if (!question) return decoded.rcode === 'FORMERR' ? decoded : undefined;
  if (question.type !== type || question.name.toLowerCase() !== name.toLowerCase()) return undefined;
  return decoded;
}

function exchangeUdp(server: Upstream, name: string, type: QueryType, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const id = randomInt(0, 65_536);
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (exchange: Exchange) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(exchange);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish({ kind: 'network', detail: err.code ?? err.message }),
    );
    socket.on('message', (message: Buffer) => {
      const response = matchResponse(message, id, name, type);
      if (!response) return; // keep waiting for the real answer until the timeout
      finish(response.flag_tc ? { kind: 'truncated' } : { kind: 'answer', response });
    });
    // A connected socket only receives datagrams from the server it asked, and learns of
    // an ICMP port-unreachable as ECONNREFUSED instead of waiting for the timeout.
    socket.connect(server.port, server.host, () => {
      socket.send(dnsPacket.encode(encodeQuery(id, name, type)), (err) => {
        if (err) finish({ kind: 'network', detail: (err as NodeJS.ErrnoException).code ?? err.message });
      });
    });
  });
}

function exchangeTcp(server: Upstream, name: string, type: QueryType, timeoutMs: number): Promise<Completed> {
  return new Promise((resolve) => {
    const id = randomInt(0, 65_536);
    const socket = connect({ host: server.host, port: server.port });
    let done = false;
    let buffered = Buffer.alloc(0);
    const finish = (exchange: Completed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(exchange);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish({ kind: 'network', detail: `TCP ${err.code ?? err.message}` }),
    );
    socket.on('close', () => finish({ kind: 'network', detail: 'TCP connection closed before the answer' }));
    socket.on('connect', () => socket.write(dnsPacket.streamEncode(encodeQuery(id, name, type))));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      // RFC 7766 §6.2.1: each message is prefixed with its two-byte length.
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        const response = matchResponse(message, id, name, type);
        if (response) {
          finish({ kind: 'answer', response });
          return;
        }
      }
    });
  });
}
