import type dnsPacket from 'dns-packet';

// The records of one name in the test DNS server's zone, as answers of one type.

export const DEFAULT_TTL = 300;

/** The records of one name and how the server behaves when it is asked about it. */
export interface TestDnsNode {
  /** TTL in seconds of this name's records that do not give their own. Default 300. */
  readonly ttl?: number;
  /** MX records; an exchange of "." is a null MX. */
  readonly mx?: readonly { readonly preference: number; readonly exchange: string; readonly ttl?: number }[];
  readonly a?: readonly TestDnsAddress[];
  readonly aaaa?: readonly TestDnsAddress[];
  /**
   * TXT records: a string is one record of one character-string, an array one record of
   * several character-strings (each at most 255 bytes), in order.
   */
  readonly txt?: readonly (
    | string
    | readonly string[]
    | { readonly strings: readonly string[]; readonly ttl?: number }
  )[];
  /**
   * PTR records (host names), for a reverse name such as `4.3.2.1.in-addr.arpa`;
   * `reverseDnsName('1.2.3.4')` gives the name of an address.
   */
  readonly ptr?: readonly string[];
  /** TLSA records (RFC 6698), for a name such as `_25._tcp.mx1.example.test`. */
  readonly tlsa?: readonly TestDnsTlsa[];
  /**
   * Whether answers about this name carry the AD bit, as a validating resolver sets it for
   * data it proved with DNSSEC. Overrides the server's `authenticated`; an answer through a
   * CNAME chain carries AD only when every name on the chain does.
   */
  readonly authenticated?: boolean;
  /** This name is an alias: every query for it answers the CNAME (and, unless chaseCnames is off, the target's records). */
  readonly cname?: string;
  /** Every query for this name answers with this RCODE and nothing else. */
  readonly rcode?: 'SERVFAIL' | 'REFUSED' | 'NXDOMAIN' | 'FORMERR' | 'NOTIMP';
  /** Queries for this name are never answered (an upstream that times out). */
  readonly drop?: boolean;
  /** Answer only after this many milliseconds (to have concurrent queries overlap). */
  readonly delayMs?: number;
}

export type TestDnsAddress = string | { readonly address: string; readonly ttl?: number };

/**
 * One TLSA record (RFC 6698 §2.1), as a zone file writes it: `3 1 1 <hex>` is
 * `{ usage: 3, selector: 1, matchingType: 1, data: '<hex>' }`. The fields are not checked,
 * so a test can publish records a client must find unusable.
 */
export interface TestDnsTlsa {
  /** 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE (RFC 7218). */
  readonly usage: number;
  /** 0 the whole certificate, 1 its SubjectPublicKeyInfo. */
  readonly selector: number;
  /** 0 the bytes themselves, 1 SHA-256, 2 SHA-512. */
  readonly matchingType: number;
  /** The certificate association data: hex (spaces allowed, as in a zone file) or bytes. */
  readonly data: string | Uint8Array;
  readonly ttl?: number;
}

export function recordsOf(name: string, node: TestDnsNode, type: string): dnsPacket.Answer[] {
  const ttlOf = (ttl: number | undefined) => ttl ?? node.ttl ?? DEFAULT_TTL;
  switch (type) {
    case 'MX':
      return (node.mx ?? []).map((mx) => ({
        type: 'MX',
        name,
        ttl: ttlOf(mx.ttl),
        data: { preference: mx.preference, exchange: mx.exchange === '.' ? '.' : normaliseName(mx.exchange) },
      }));
    case 'A':
    case 'AAAA':
      return ((type === 'A' ? node.a : node.aaaa) ?? []).map((entry) => {
        const { address, ttl } = typeof entry === 'string' ? { address: entry, ttl: undefined } : entry;
        return { type, name, ttl: ttlOf(ttl), data: address };
      });
    case 'TXT':
      return (node.txt ?? []).map((entry) => {
        const { strings, ttl } =
          typeof entry === 'string'
            ? { strings: [entry], ttl: undefined }
            : Array.isArray(entry)
              ? { strings: entry as readonly string[], ttl: undefined }
              : (entry as { strings: readonly string[]; ttl?: number });
        return { type: 'TXT', name, ttl: ttlOf(ttl), data: strings.map((s) => Buffer.from(s, 'utf8')) };
      });
    case 'PTR':
      return (node.ptr ?? []).map((target) => ({
        type: 'PTR',
        name,
        ttl: ttlOf(undefined),
        data: normaliseName(target),
      }));
    case 'TLSA':
      return (node.tlsa ?? []).map((record) => ({
        type: 'TLSA',
        name,
        ttl: ttlOf(record.ttl),
        data: {
          usage: record.usage,
          selector: record.selector,
          matchingType: record.matchingType,
          certificate:
            typeof record.data === 'string'
              ? Buffer.from(record.data.replace(/\s+/g, ''), 'hex')
              : Buffer.from(record.data),
        },
      }));
    default:
      return [];
  }
}

/** Lower case, without the trailing dot (the root stays "."). */
export function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') && lower !== '.' ? lower.slice(0, -1) : lower;
}
