import type dnsPacket from 'dns-packet';
import type { TestDnsNode } from './dns-server.js';

// The records of one name in the test DNS server's zone, as answers of one type.

export const DEFAULT_TTL = 300;

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
