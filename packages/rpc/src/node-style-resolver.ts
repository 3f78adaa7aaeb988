import { domainToASCII } from 'node:url';
import { GrpcStatus, RpcError } from './errors.js';
import { AddressFamily, ResolveStatus } from './generated/tegami/resolver/v1/resolver.js';
import type { ResolverClient } from './resolver-client.js';
import { addressOfReverseName } from './reverse-names.js';

/**
 * `dns.promises.resolve(name, type)` answered by the dns-resolver over gRPC, for libraries
 * that take a resolver function of that shape (mailauth's SPF, DKIM, DMARC and ARC): one
 * cache and one set of upstreams for the whole cluster. DNS outcomes become the errors
 * Node's resolver throws (`ENOTFOUND`, `ENODATA`, `ESERVFAIL`, `ETIMEOUT`, `EREFUSED`),
 * which is what such libraries tell "none" (a void lookup) from "try later" (temperror) by.
 */
export type NodeStyleResolver = (name: string, type: string) => Promise<unknown>;

export interface NodeStyleResolverOptions {
  /** Deadline of each lookup; a lookup that passes it fails with ETIMEOUT. */
  readonly deadlineMs?: number;
  /** Aborts every lookup still in flight (the message's whole check gave up). */
  readonly signal?: AbortSignal;
  /** Told of each lookup and how it ended (the error code, or 'ok'), for metrics and tests. */
  readonly observe?: (type: string, name: string, outcome: string) => void;
}

export const DEFAULT_LOOKUP_DEADLINE_MS = 5_000;

const ERROR_CODES: Partial<Record<ResolveStatus, string>> = {
  [ResolveStatus.RESOLVE_STATUS_NO_DATA]: 'ENODATA',
  [ResolveStatus.RESOLVE_STATUS_NXDOMAIN]: 'ENOTFOUND',
  [ResolveStatus.RESOLVE_STATUS_SERVFAIL]: 'ESERVFAIL',
  [ResolveStatus.RESOLVE_STATUS_TIMEOUT]: 'ETIMEOUT',
  [ResolveStatus.RESOLVE_STATUS_REFUSED]: 'EREFUSED',
  // A null MX has no exchanges to look at: no MX records, as far as SPF's mx is concerned.
  [ResolveStatus.RESOLVE_STATUS_NULL_MX]: 'ENODATA',
};

export function createNodeStyleResolver(
  client: ResolverClient,
  options: NodeStyleResolverOptions = {},
): NodeStyleResolver {
  const callOptions = {
    deadlineMs: options.deadlineMs ?? DEFAULT_LOOKUP_DEADLINE_MS,
    ...(options.signal && { signal: options.signal }),
  };
  const answer = async (name: string, type: string): Promise<unknown> => {
    const upper = type.toUpperCase();
    if (upper === 'PTR') {
      const address = addressOfReverseName(name);
      if (!address) throw dnsError('ENOTFOUND', name, type);
      const found = await client.resolvePtr(address, callOptions);
      return okOrThrow(found.status, name, type, found.names);
    }
    const host = asciiName(name);
    if (!host) throw dnsError('ENOTFOUND', name, type);
    switch (upper) {
      case 'TXT': {
        const found = await client.resolveTxt(host, callOptions);
        return okOrThrow(
          found.status,
          name,
          type,
          found.records.map((r) => r.strings),
        );
      }
      case 'MX': {
        const found = await client.resolveMx(host, callOptions);
        // RFC 7208 §5.4: SPF's mx mechanism has no implicit MX; the resolver's is not an MX record.
        if (found.implicit) throw dnsError('ENODATA', name, type);
        return okOrThrow(
          found.status,
          name,
          type,
          found.hosts.map((h) => ({ exchange: h.host, priority: h.preference })),
        );
      }
      case 'A':
      case 'AAAA': {
        const family = upper === 'A' ? AddressFamily.ADDRESS_FAMILY_IPV4 : AddressFamily.ADDRESS_FAMILY_IPV6;
        const found = await client.resolveAddresses(host, { ...callOptions, family });
        return okOrThrow(
          found.status,
          name,
          type,
          found.addresses.filter((a) => a.family === family).map((a) => a.address),
        );
      }
      default:
        throw dnsError('ENOTIMP', name, type);
    }
  };
  return async (name, type) => {
    try {
      const result = await answer(name, type);
      options.observe?.(type, name, 'ok');
      return result;
    } catch (err) {
      const failure = err instanceof RpcError ? rpcFailure(err, name, type) : err;
      options.observe?.(type, name, (failure as NodeJS.ErrnoException).code ?? 'error');
      throw failure;
    }
  };
}

function okOrThrow<T>(status: ResolveStatus, name: string, type: string, records: T[]): T[] {
  if (status === ResolveStatus.RESOLVE_STATUS_OK) {
    if (records.length === 0) throw dnsError('ENODATA', name, type);
    return records;
  }
  throw dnsError(ERROR_CODES[status] ?? 'ESERVFAIL', name, type);
}

/**
 * The resolver itself could not answer in time (or at all): a temporary failure, so SPF
 * says temperror and DKIM "DNS failure", never fail or none. A name the resolver refuses
 * as invalid cannot exist in the DNS.
 */
function rpcFailure(err: RpcError, name: string, type: string): NodeJS.ErrnoException {
  if (err.code === GrpcStatus.INVALID_ARGUMENT) return dnsError('ENOTFOUND', name, type);
  return dnsError(err.code === GrpcStatus.DEADLINE_EXCEEDED ? 'ETIMEOUT' : 'ESERVFAIL', name, type, err);
}

function dnsError(code: string, name: string, type: string, cause?: unknown): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`query${type} ${code} ${name}`, { cause });
  error.code = code;
  (error as { hostname?: string }).hostname = name;
  return error;
}

/** A name in A-labels without the trailing dot, or undefined when it cannot be one. */
function asciiName(name: string): string | undefined {
  const trimmed = name.trim().replace(/\.$/, '');
  if (trimmed === '') return undefined;
  // Underscore labels (_dmarc, _domainkey) are not host names: domainToASCII would refuse them.
  if (/^[\x21-\x7e]+$/.test(trimmed)) return trimmed.toLowerCase();
  const ascii = domainToASCII(trimmed);
  return ascii === '' ? undefined : ascii;
}
