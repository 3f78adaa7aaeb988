import {
  AddressFamily,
  type ResolveAddressesResponse,
  type ResolveMxResponse,
  type ResolverClient,
  ResolveStatus,
  type ResolveTlsaResponse,
  type ResolveTxtResponse,
} from '@tegami/rpc';

// The worker's view of dns-resolver, scripted: the real service is exercised against a
// real DNS server in services/dns-resolver and in the end-to-end tests of test/.

export type MxAnswer =
  /**
   * `implicit`: the domain has no MX, and hosts holds the domain itself (RFC 5321 §5.1).
   * `authenticated`: the answer carries the AD bit (DNSSEC-validated upstream).
   */
  | { readonly hosts: readonly string[]; readonly implicit?: boolean; readonly authenticated?: boolean }
  | { readonly status: 'NXDOMAIN' | 'NULL_MX' | 'SERVFAIL' | 'TIMEOUT' | 'NO_DATA' };

export interface TestResolver
  extends Pick<ResolverClient, 'resolveMx' | 'resolveAddresses' | 'resolveTxt' | 'resolveTlsa'> {
  setMx(domain: string, answer: MxAnswer): void;
  setAddresses(host: string, addresses: readonly string[]): void;
  /** TXT records of `name`, each as its character-strings; unset: NXDOMAIN. */
  setTxt(name: string, records: readonly (readonly string[])[]): void;
  readonly txtQueries: string[];
  readonly mxQueries: string[];
}

export const protocolResolveStatus = ResolveStatus;

export function createFakeResolver(): TestResolver {
  const mx = new Map<string, MxAnswer>();
  const addresses = new Map<string, readonly string[]>();
  const mxQueries: string[] = [];
  const txt = new Map<string, readonly (readonly string[])[]>();
  const txtQueries: string[] = [];
  return {
    mxQueries,
    txtQueries,
    setTxt: (name, records) => txt.set(name, records),
    async resolveTxt(name): Promise<ResolveTxtResponse> {
      txtQueries.push(name);
      const records = txt.get(name);
      if (!records)
        return { status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN, records: [], detail: 'scripted NXDOMAIN' };
      return {
        status: ResolveStatus.RESOLVE_STATUS_OK,
        records: records.map((strings) => ({ strings: [...strings], ttlSeconds: 300 })),
        detail: '',
      };
    },
    setMx: (domain, answer) => mx.set(domain, answer),
    setAddresses: (host, list) => addresses.set(host, list),
    async resolveMx(domain): Promise<ResolveMxResponse> {
      mxQueries.push(domain);
      const answer = mx.get(domain) ?? { status: 'NXDOMAIN' as const };
      if ('hosts' in answer) {
        return {
          status: ResolveStatus.RESOLVE_STATUS_OK,
          hosts: answer.hosts.map((host, i) => ({ host, preference: (i + 1) * 10, ttlSeconds: 300 })),
          implicit: answer.implicit ?? false,
          ...(answer.authenticated ? { authenticated: true } : {}),
          detail: '',
        };
      }
      return {
        status: ResolveStatus[`RESOLVE_STATUS_${answer.status}`],
        hosts: [],
        implicit: false,
        detail: `scripted ${answer.status}`,
      };
    },
    // No TLSA records anywhere (DANE is tested against the real dns-resolver in test/dane.test.ts).
    async resolveTlsa(): Promise<ResolveTlsaResponse> {
      return {
        status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
        records: [],
        authenticated: false,
        detail: 'scripted',
      };
    },
    async resolveAddresses(host): Promise<ResolveAddressesResponse> {
      const list = addresses.get(host);
      if (!list)
        return { status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN, addresses: [], detail: 'scripted NXDOMAIN' };
      return {
        status: ResolveStatus.RESOLVE_STATUS_OK,
        addresses: list.map((address) => ({
          address,
          family: AddressFamily.ADDRESS_FAMILY_IPV4,
          ttlSeconds: 300,
        })),
        detail: '',
      };
    },
  };
}
