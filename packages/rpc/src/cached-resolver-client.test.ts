import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddressFamily,
  cachedResolverClient,
  createResolverClient,
  GrpcStatus,
  type ResolverClient,
  type ResolverImplementation,
  type ResolverServerHandle,
  ResolveStatus,
  startResolverServer,
} from './index.js';

const calls: string[] = [];
let slowRelease: (() => void) | undefined;

const fake: ResolverImplementation = {
  async resolveMx({ domain }) {
    calls.push(`MX ${domain}`);
    return { status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN, hosts: [], implicit: false, detail: '' };
  },
  async resolveAddresses({ host, family }) {
    calls.push(`ADDR ${host} ${family}`);
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      addresses: [{ address: '192.0.2.1', family: AddressFamily.ADDRESS_FAMILY_IPV4, ttlSeconds: 60 }],
      detail: '',
    };
  },
  async resolveTxt({ name }) {
    calls.push(`TXT ${name}`);
    if (name === 'slow.example') await new Promise<void>((resolve) => (slowRelease = resolve));
    if (name === 'broken.example')
      return { status: ResolveStatus.RESOLVE_STATUS_SERVFAIL, records: [], detail: '' };
    const ttlSeconds = name === 'zero.example' ? 0 : 30;
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      records: [{ strings: [name], ttlSeconds }],
      detail: '',
    };
  },
  async resolvePtr({ address }) {
    calls.push(`PTR ${address}`);
    return { status: ResolveStatus.RESOLVE_STATUS_OK, names: ['host.example'], ttlSeconds: 10, detail: '' };
  },
  async resolveTlsa({ name }) {
    calls.push(`TLSA ${name}`);
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      records: [
        { usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7), ttlSeconds: 20 },
        { usage: 2, selector: 0, matchingType: 1, data: Buffer.alloc(32, 8), ttlSeconds: 40 },
      ],
      authenticated: true,
      detail: '',
    };
  },
};

let server: ResolverServerHandle;
let inner: ResolverClient;
let clock = 1_000_000;
let client: ResolverClient;
const count = (call: string) => calls.filter((c) => c === call).length;

beforeAll(async () => {
  server = await startResolverServer({ host: '127.0.0.1', port: 0, implementation: fake });
  inner = createResolverClient(`127.0.0.1:${server.port}`);
  client = cachedResolverClient(inner, { now: () => clock, negativeTtlMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await server?.stop(1_000);
});

describe('a resolver client that keeps answers for their TTL', () => {
  it('asks once for a name within its TTL, and again after it', async () => {
    await client.resolveTxt('a.example');
    await client.resolveTxt('A.example');
    expect(count('TXT a.example')).toBe(1);
    clock += 29_000;
    await client.resolveTxt('a.example');
    expect(count('TXT a.example')).toBe(1);
    clock += 2_000;
    expect((await client.resolveTxt('a.example')).records[0]!.strings).toEqual(['a.example']);
    expect(count('TXT a.example')).toBe(2);
  });

  it('keeps neither a TTL of 0 nor a failure', async () => {
    await client.resolveTxt('zero.example');
    await client.resolveTxt('zero.example');
    expect(count('TXT zero.example')).toBe(2);
    await client.resolveTxt('broken.example');
    await client.resolveTxt('broken.example');
    expect(count('TXT broken.example')).toBe(2);
  });

  it('keeps a negative answer only briefly', async () => {
    await client.resolveMx('none.example');
    await client.resolveMx('none.example');
    expect(count('MX none.example')).toBe(1);
    clock += 5_001;
    await client.resolveMx('none.example');
    expect(count('MX none.example')).toBe(2);
  });

  it('keeps each address family apart, and PTR by address', async () => {
    await client.resolveAddresses('h.example', { family: AddressFamily.ADDRESS_FAMILY_IPV4 });
    await client.resolveAddresses('h.example', { family: AddressFamily.ADDRESS_FAMILY_IPV6 });
    await client.resolveAddresses('h.example', { family: AddressFamily.ADDRESS_FAMILY_IPV4 });
    expect(count(`ADDR h.example ${AddressFamily.ADDRESS_FAMILY_IPV4}`)).toBe(1);
    expect(count(`ADDR h.example ${AddressFamily.ADDRESS_FAMILY_IPV6}`)).toBe(1);
    await client.resolvePtr('192.0.2.1');
    await client.resolvePtr('192.0.2.1');
    expect(count('PTR 192.0.2.1')).toBe(1);
  });

  it('keeps TLSA answers, with their AD flag, for the smallest record TTL', async () => {
    const first = await client.resolveTlsa('_25._tcp.mx.example');
    expect(first.authenticated).toBe(true);
    clock += 19_000;
    expect(await client.resolveTlsa('_25._tcp.MX.example')).toEqual(first);
    expect(count('TLSA _25._tcp.mx.example')).toBe(1);
    clock += 2_000;
    await client.resolveTlsa('_25._tcp.mx.example');
    expect(count('TLSA _25._tcp.mx.example')).toBe(2);
  });

  it('shares one request among identical calls in flight, each caller keeping its own deadline', async () => {
    const first = client.resolveTxt('slow.example');
    const second = client.resolveTxt('slow.example');
    const impatient = client.resolveTxt('slow.example', { deadlineMs: 50 });
    await expect(impatient).rejects.toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED });
    while (!slowRelease) await new Promise((resolve) => setTimeout(resolve, 10));
    slowRelease();
    expect((await first).status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(await second).toEqual(await first);
    expect(count('TXT slow.example')).toBe(1);
  });
});
