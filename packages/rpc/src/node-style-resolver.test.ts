import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddressFamily,
  addressOfReverseName,
  createNodeStyleResolver,
  createResolverClient,
  type NodeStyleResolver,
  type ResolverClient,
  type ResolverImplementation,
  type ResolverServerHandle,
  ResolveStatus,
  startResolverServer,
} from './index.js';

const asked: string[] = [];
const none = { status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN, detail: 'nx' } as const;

/** Canned answers by name; what was asked is kept, family included. */
const fake: ResolverImplementation = {
  async resolveMx({ domain }) {
    asked.push(`MX ${domain}`);
    if (domain === 'mx.example')
      return {
        status: ResolveStatus.RESOLVE_STATUS_OK,
        hosts: [{ host: 'in.mx.example', preference: 10, ttlSeconds: 60 }],
        implicit: false,
        detail: '',
      };
    if (domain === 'bare.example')
      return {
        status: ResolveStatus.RESOLVE_STATUS_OK,
        hosts: [{ host: 'bare.example', preference: 0, ttlSeconds: 60 }],
        implicit: true,
        detail: '',
      };
    return { ...none, hosts: [], implicit: false };
  },
  async resolveAddresses({ host, family }) {
    asked.push(`ADDR ${host} ${family}`);
    if (host === 'slow.example') return new Promise(() => {});
    if (host === 'v4.example')
      return {
        status: ResolveStatus.RESOLVE_STATUS_OK,
        addresses: [{ address: '192.0.2.4', family: AddressFamily.ADDRESS_FAMILY_IPV4, ttlSeconds: 5 }],
        detail: '',
      };
    return { ...none, addresses: [] };
  },
  async resolveTxt({ name }) {
    asked.push(`TXT ${name}`);
    if (name === '_dmarc.example.org')
      return {
        status: ResolveStatus.RESOLVE_STATUS_OK,
        records: [{ strings: ['v=DMARC1; ', 'p=reject'], ttlSeconds: 60 }],
        detail: '',
      };
    if (name === 'broken.example')
      return { status: ResolveStatus.RESOLVE_STATUS_SERVFAIL, records: [], detail: '' };
    if (name === 'empty.example')
      return { status: ResolveStatus.RESOLVE_STATUS_NO_DATA, records: [], detail: '' };
    return { ...none, records: [] };
  },
  async resolvePtr({ address }) {
    asked.push(`PTR ${address}`);
    return { status: ResolveStatus.RESOLVE_STATUS_OK, names: ['host.example'], ttlSeconds: 60, detail: '' };
  },
  async resolveTlsa({ name }) {
    asked.push(`TLSA ${name}`);
    return { ...none, records: [], authenticated: false };
  },
};

let server: ResolverServerHandle;
let client: ResolverClient;
let resolve: NodeStyleResolver;

beforeAll(async () => {
  server = await startResolverServer({ host: '127.0.0.1', port: 0, implementation: fake });
  client = createResolverClient(`127.0.0.1:${server.port}`);
  resolve = createNodeStyleResolver(client, { deadlineMs: 300 });
});

afterAll(async () => {
  client?.close();
  await server?.stop(1_000);
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  throw new Error('expected the lookup to fail');
}

describe('a dns.promises.resolve-shaped resolver over the dns-resolver', () => {
  it('answers TXT as lists of character-strings, as node:dns does', async () => {
    expect(await resolve('_dmarc.example.org', 'TXT')).toEqual([['v=DMARC1; ', 'p=reject']]);
  });

  it('answers MX as exchange and priority, and has no implicit MX (RFC 7208 §5.4)', async () => {
    expect(await resolve('mx.example', 'MX')).toEqual([{ exchange: 'in.mx.example', priority: 10 }]);
    expect(await codeOf(resolve('bare.example', 'MX'))).toBe('ENODATA');
  });

  it('asks for one address family at a time', async () => {
    expect(await resolve('v4.example', 'A')).toEqual(['192.0.2.4']);
    expect(asked).toContain(`ADDR v4.example ${AddressFamily.ADDRESS_FAMILY_IPV4}`);
  });

  it('turns statuses into the error codes of node:dns', async () => {
    expect(await codeOf(resolve('nowhere.example', 'TXT'))).toBe('ENOTFOUND');
    expect(await codeOf(resolve('empty.example', 'TXT'))).toBe('ENODATA');
    expect(await codeOf(resolve('broken.example', 'TXT'))).toBe('ESERVFAIL');
  });

  it('fails a lookup that passes its deadline with ETIMEOUT, in time', async () => {
    const started = Date.now();
    expect(await codeOf(resolve('slow.example', 'A'))).toBe('ETIMEOUT');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('answers PTR of an in-addr.arpa name by asking for the address', async () => {
    expect(await resolve('4.2.0.192.in-addr.arpa', 'PTR')).toEqual(['host.example']);
    expect(asked).toContain('PTR 192.0.2.4');
  });

  it('says ENOTFOUND for a name that cannot be in the DNS, without asking', async () => {
    const before = asked.length;
    expect(await codeOf(resolve('', 'TXT'))).toBe('ENOTFOUND');
    expect(await codeOf(resolve('x.in-addr.arpa', 'PTR'))).toBe('ENOTFOUND');
    expect(asked.length).toBe(before);
  });

  it('asks for an internationalised name in A-labels', async () => {
    await codeOf(resolve('bücher.example', 'TXT'));
    expect(asked).toContain('TXT xn--bcher-kva.example');
  });
});

describe('addressOfReverseName', () => {
  it('reads IPv4 and IPv6 reverse names back into addresses', () => {
    expect(addressOfReverseName('1.2.0.192.in-addr.arpa.')).toBe('192.0.2.1');
    const v6 = `1.0.0.0.${'0.'.repeat(20)}8.b.d.0.1.0.0.2.ip6.arpa`;
    expect(addressOfReverseName(v6)).toBe('2001:0db8:0000:0000:0000:0000:0000:0001');
    expect(addressOfReverseName('example.com')).toBeUndefined();
  });
});
