import { randomInt } from 'node:crypto';
import {
  type Address,
  AddressFamily,
  GrpcStatus,
  type MxHost,
  type ResolveAddressesRequest,
  type ResolveAddressesResponse,
  type ResolveMxRequest,
  type ResolveMxResponse,
  type ResolvePtrRequest,
  type ResolvePtrResponse,
  type ResolverImplementation,
  ResolveStatus,
  type ResolveTlsaRequest,
  type ResolveTlsaResponse,
  type ResolveTxtRequest,
  type ResolveTxtResponse,
  RpcError,
  reverseDnsNameOf,
  type TlsaRecord,
  type TxtRecord,
} from '@tegami/rpc';
import type { DnsMetrics } from './metrics.js';
import type { Lookup, RecordLookup } from './record-lookup.js';

const STATUS_LABELS: Record<ResolveStatus, string> = {
  [ResolveStatus.RESOLVE_STATUS_UNSPECIFIED]: 'unspecified',
  [ResolveStatus.RESOLVE_STATUS_OK]: 'ok',
  [ResolveStatus.RESOLVE_STATUS_NO_DATA]: 'no_data',
  [ResolveStatus.RESOLVE_STATUS_NXDOMAIN]: 'nxdomain',
  [ResolveStatus.RESOLVE_STATUS_SERVFAIL]: 'servfail',
  [ResolveStatus.RESOLVE_STATUS_TIMEOUT]: 'timeout',
  [ResolveStatus.RESOLVE_STATUS_NULL_MX]: 'null_mx',
  [ResolveStatus.RESOLVE_STATUS_REFUSED]: 'refused',
  [ResolveStatus.UNRECOGNIZED]: 'unspecified',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The RPCs over the cached lookups: what the delivery-worker needs to route mail (RFC 5321
 * §5.1) and to authenticate the MX hosts (DANE, RFC 7672), and what the inbound checks ask,
 * with DNS outcomes as statuses, never as gRPC errors.
 */
export class ResolverService implements ResolverImplementation {
  constructor(
    private readonly lookups: RecordLookup,
    private readonly metrics: DnsMetrics | undefined,
  ) {}

  async resolveMx({ domain }: ResolveMxRequest): Promise<ResolveMxResponse> {
    const name = normaliseName(domain, 'domain');
    const response = await this.mxOf(name);
    this.count('ResolveMx', response.status);
    return response;
  }

  async resolveAddresses({ host, family }: ResolveAddressesRequest): Promise<ResolveAddressesResponse> {
    const response = await this.addressesOf(normaliseName(host, 'host'), family);
    this.count('ResolveAddresses', response.status);
    return response;
  }

  async resolveTxt({ name }: ResolveTxtRequest): Promise<ResolveTxtResponse> {
    const found = await this.lookups.lookup(normaliseName(name, 'name'), 'TXT');
    this.count('ResolveTxt', found.status);
    if (found.status !== ResolveStatus.RESOLVE_STATUS_OK) {
      return { status: found.status, records: [], detail: found.detail };
    }
    const records: TxtRecord[] = found.records.map((r) => ({
      strings: r.data.map(decodeCharacterString),
      ttlSeconds: r.ttlSeconds,
    }));
    return { status: found.status, records, detail: '' };
  }

  async resolvePtr({ address }: ResolvePtrRequest): Promise<ResolvePtrResponse> {
    const found = await this.lookups.lookup(reverseName(address), 'PTR');
    this.count('ResolvePtr', found.status);
    if (found.status !== ResolveStatus.RESOLVE_STATUS_OK) {
      return { status: found.status, names: [], ttlSeconds: 0, detail: found.detail };
    }
    return {
      status: found.status,
      names: found.records.map((r) => r.data.toLowerCase().replace(/\.$/, '')),
      ttlSeconds: Math.min(...found.records.map((r) => r.ttlSeconds)),
      detail: '',
    };
  }

  async resolveTlsa({ name }: ResolveTlsaRequest): Promise<ResolveTlsaResponse> {
    const found = await this.lookups.lookup(normaliseName(name, 'name'), 'TLSA');
    this.count('ResolveTlsa', found.status);
    const { authenticated } = found;
    if (found.status !== ResolveStatus.RESOLVE_STATUS_OK) {
      return { status: found.status, records: [], authenticated, detail: found.detail };
    }
    const records: TlsaRecord[] = found.records.map((r) => ({
      usage: r.data.usage,
      selector: r.data.selector,
      matchingType: r.data.matchingType,
      data: r.data.certificate,
      ttlSeconds: r.ttlSeconds,
    }));
    return { status: found.status, records, authenticated, detail: '' };
  }

  private async mxOf(domain: string): Promise<ResolveMxResponse> {
    const found = await this.lookups.lookup(domain, 'MX');
    if (found.status === ResolveStatus.RESOLVE_STATUS_NO_DATA) return this.implicitMx(domain, found);
    const { authenticated } = found;
    if (found.status !== ResolveStatus.RESOLVE_STATUS_OK) {
      return { status: found.status, hosts: [], implicit: false, detail: found.detail, authenticated };
    }
    // RFC 7505 §3: "MX 0 ." says the domain takes no mail. A domain must not publish it
    // beside other MX records; if one does anyway, the real exchanges are used.
    const isNull = (exchange: string) => exchange === '.' || exchange === '';
    const real = found.records.filter((r) => !isNull(r.data.exchange));
    if (real.length === 0) {
      return {
        status: ResolveStatus.RESOLVE_STATUS_NULL_MX,
        hosts: [],
        implicit: false,
        detail: `${domain} publishes a null MX (RFC 7505): it accepts no mail`,
        authenticated,
      };
    }
    const hosts: MxHost[] = real.map((r) => ({
      host: r.data.exchange.toLowerCase().replace(/\.$/, ''),
      preference: r.data.preference,
      ttlSeconds: r.ttlSeconds,
    }));
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      hosts: byPreference(hosts),
      implicit: false,
      detail: '',
      authenticated,
    };
  }

  /**
   * RFC 5321 §5.1: no MX records, so the domain itself is the MX if it has an address. It is
   * authenticated when both the denial of MX records and the addresses are (RFC 7672 §2.2.2).
   */
  private async implicitMx(
    domain: string,
    noMx: { readonly detail: string; readonly authenticated: boolean },
  ): Promise<ResolveMxResponse> {
    const addresses = await this.addressesOf(domain);
    const authenticated = noMx.authenticated && addresses.authenticated === true;
    if (addresses.status !== ResolveStatus.RESOLVE_STATUS_OK) {
      const detail =
        addresses.status === ResolveStatus.RESOLVE_STATUS_NO_DATA
          ? `${noMx.detail}, and no A or AAAA records for an implicit MX`
          : addresses.detail;
      return { status: addresses.status, hosts: [], implicit: false, detail, authenticated };
    }
    const ttlSeconds = Math.min(...addresses.addresses.map((a) => a.ttlSeconds));
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      hosts: [{ host: domain, preference: 0, ttlSeconds }],
      implicit: true,
      detail: '',
      authenticated,
    };
  }

  private async addressesOf(
    host: string,
    family = AddressFamily.ADDRESS_FAMILY_UNSPECIFIED,
  ): Promise<ResolveAddressesResponse> {
    // One family asked for: the other counts as an empty answer, never as a query.
    const skipped: Lookup<string> = {
      status: ResolveStatus.RESOLVE_STATUS_NO_DATA,
      detail: '',
      authenticated: true,
    };
    const [v4, v6] = await Promise.all([
      family === AddressFamily.ADDRESS_FAMILY_IPV6 ? skipped : this.lookups.lookup(host, 'A'),
      family === AddressFamily.ADDRESS_FAMILY_IPV4 ? skipped : this.lookups.lookup(host, 'AAAA'),
    ]);
    const addresses: Address[] = [
      ...okRecords(v4).map((r) => ({
        address: r.data,
        family: AddressFamily.ADDRESS_FAMILY_IPV4,
        ttlSeconds: r.ttlSeconds,
      })),
      ...okRecords(v6).map((r) => ({
        address: r.data,
        family: AddressFamily.ADDRESS_FAMILY_IPV6,
        ttlSeconds: r.ttlSeconds,
      })),
    ];
    if (addresses.length > 0) {
      // The addresses a client will connect to are authenticated when every lookup that gave
      // some is; a failed lookup of the other family takes none away (nor could an attacker
      // who makes it fail take DANE away by it).
      const gave = [v4, v6].filter((l) => okRecords(l).length > 0);
      const authenticated = gave.every((l) => l.authenticated);
      return { status: ResolveStatus.RESOLVE_STATUS_OK, addresses, detail: '', authenticated };
    }
    return { ...combineFailures(v4, v6), addresses: [], authenticated: false };
  }

  private count(rpc: string, status: ResolveStatus): void {
    this.metrics?.queries.inc({ rpc, status: STATUS_LABELS[status] });
  }
}

function okRecords<T>(lookup: Lookup<T>) {
  return lookup.status === ResolveStatus.RESOLVE_STATUS_OK ? lookup.records : [];
}

/**
 * Neither family gave an address. A temporary failure of either wins (the address may
 * exist: retry later); then NXDOMAIN when the name does not exist; else NO_DATA.
 */
function combineFailures(v4: Lookup<string>, v6: Lookup<string>): { status: ResolveStatus; detail: string } {
  const failures = [v4, v6].filter(
    (l): l is Exclude<Lookup<string>, { status: ResolveStatus.RESOLVE_STATUS_OK }> =>
      l.status !== ResolveStatus.RESOLVE_STATUS_OK,
  );
  const temporary = failures.find(
    (l) =>
      l.status !== ResolveStatus.RESOLVE_STATUS_NXDOMAIN && l.status !== ResolveStatus.RESOLVE_STATUS_NO_DATA,
  );
  if (temporary) return { status: temporary.status, detail: temporary.detail };
  const nx = failures.find((l) => l.status === ResolveStatus.RESOLVE_STATUS_NXDOMAIN);
  if (nx) return { status: nx.status, detail: nx.detail };
  return {
    status: ResolveStatus.RESOLVE_STATUS_NO_DATA,
    detail: failures
      .map((l) => l.detail)
      .filter((d) => d !== '')
      .join('; '),
  };
}

/** The PTR owner name of an address; a text that is not one is the caller's bug. */
export function reverseName(address: string): string {
  const name = reverseDnsNameOf(address);
  if (name === undefined)
    throw new RpcError(
      GrpcStatus.INVALID_ARGUMENT,
      `address ${JSON.stringify(address)} is not an IP address`,
    );
  return name;
}

/** Sorted by preference; hosts of equal preference in a fresh random order on every call (RFC 5321 §5.1). */
export function byPreference(hosts: readonly MxHost[]): MxHost[] {
  const shuffled = [...hosts];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  // Array.prototype.sort is stable: the shuffle decides the order within a preference.
  return shuffled.sort((a, b) => a.preference - b.preference);
}

/** TXT character-strings are bytes; UTF-8 when they are, else Latin-1, so none is dropped. */
function decodeCharacterString(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/**
 * A DNS name as asked: lower case, without a trailing dot, in A-labels. Anything else is
 * the caller's bug (the worker validates addresses first), so it is a gRPC error.
 */
function normaliseName(input: string, field: string): string {
  const name = input.trim().toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  const valid =
    name.length > 0 &&
    name.length <= 253 &&
    labels.every((label) => label.length > 0 && label.length <= 63 && /^[a-z0-9_-]+$/.test(label));
  if (!valid) {
    throw new RpcError(
      GrpcStatus.INVALID_ARGUMENT,
      `${field} ${JSON.stringify(input)} is not a DNS name in A-labels`,
    );
  }
  return name;
}
