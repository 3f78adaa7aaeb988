import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort as closedPort } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddressFamily,
  createResolverClient,
  GrpcStatus,
  type ResolverCallContext,
  type ResolverClient,
  type ResolverImplementation,
  type ResolverServerHandle,
  ResolveStatus,
  RpcError,
  startResolverServer,
} from './index.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** A fake resolver with canned answers, keyed by the asked name. */
const fake: ResolverImplementation = {
  async resolveMx({ domain }) {
    switch (domain) {
      case 'example.com':
        return {
          status: ResolveStatus.RESOLVE_STATUS_OK,
          hosts: [
            { host: 'mx1.example.com', preference: 10, ttlSeconds: 3600 },
            { host: 'mx2.example.com', preference: 20, ttlSeconds: 1800 },
          ],
          implicit: false,
          detail: '',
          authenticated: true,
        };
      case 'bare.example':
        return {
          status: ResolveStatus.RESOLVE_STATUS_OK,
          hosts: [{ host: 'bare.example', preference: 0, ttlSeconds: 300 }],
          implicit: true,
          detail: '',
        };
      case 'nomail.example':
        return { status: ResolveStatus.RESOLVE_STATUS_NULL_MX, hosts: [], implicit: false, detail: '' };
      case 'boom.example':
        throw new Error('upstream pool exhausted');
      case 'busy.example':
        throw new RpcError(GrpcStatus.RESOURCE_EXHAUSTED, 'shedding load');
      default:
        return {
          status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
          hosts: [],
          implicit: false,
          detail: `${domain}: NXDOMAIN from 127.0.0.53`,
        };
    }
  },
  async resolveAddresses({ host }) {
    if (host === 'slow.example') return new Promise(() => {});
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      addresses: [
        { address: '192.0.2.1', family: AddressFamily.ADDRESS_FAMILY_IPV4, ttlSeconds: 60 },
        { address: '2001:db8::1', family: AddressFamily.ADDRESS_FAMILY_IPV6, ttlSeconds: 4294967295 },
      ],
      detail: '',
    };
  },
  async resolvePtr({ address }) {
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      names: [`host-${address}.example`],
      ttlSeconds: 60,
      detail: '',
    };
  },
  async resolveTlsa({ name }) {
    if (name !== '_25._tcp.mx1.example.com') {
      return {
        status: ResolveStatus.RESOLVE_STATUS_SERVFAIL,
        records: [],
        authenticated: false,
        detail: 'bogus',
      };
    }
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      records: [
        {
          usage: 3,
          selector: 1,
          matchingType: 1,
          data: Buffer.from('00ff'.repeat(16), 'hex'),
          ttlSeconds: 300,
        },
        { usage: 2, selector: 0, matchingType: 0, data: Buffer.alloc(0), ttlSeconds: 300 },
      ],
      authenticated: true,
      detail: '',
    };
  },
  async resolveTxt({ name }) {
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      records: [
        { strings: ['v=spf1 ', 'ip4:192.0.2.0/24 -all'], ttlSeconds: 120 },
        { strings: [`name=${name}`], ttlSeconds: 0 },
        { strings: [''], ttlSeconds: 5 },
      ],
      detail: '',
    };
  },
};

async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RpcError);
    return error as RpcError;
  }
  throw new Error('expected the call to fail');
}

describe('resolver over gRPC', () => {
  let server: ResolverServerHandle;
  let client: ResolverClient;

  beforeAll(async () => {
    server = await startResolverServer({ host: '127.0.0.1', port: 0, implementation: fake });
    client = createResolverClient(`127.0.0.1:${server.port}`, { defaultDeadlineMs: 5_000 });
  });

  afterAll(async () => {
    client?.close();
    await server?.stop(1_000);
  });

  it('binds a real port when asked for port 0', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  it('ResolveMx returns hosts in order with preferences and TTLs', async () => {
    expect(await client.resolveMx('example.com')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      hosts: [
        { host: 'mx1.example.com', preference: 10, ttlSeconds: 3600 },
        { host: 'mx2.example.com', preference: 20, ttlSeconds: 1800 },
      ],
      implicit: false,
      detail: '',
      authenticated: true,
    });
  });

  it('ResolveMx carries the implicit MX flag', async () => {
    expect(await client.resolveMx('bare.example')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      hosts: [{ host: 'bare.example', preference: 0, ttlSeconds: 300 }],
      implicit: true,
      detail: '',
    });
  });

  it('ResolveMx tells null MX and NXDOMAIN apart', async () => {
    const nullMx = await client.resolveMx('nomail.example');
    expect(nullMx.status).toBe(ResolveStatus.RESOLVE_STATUS_NULL_MX);
    expect(nullMx.hosts).toEqual([]);
    expect(await client.resolveMx('nowhere.example')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
      hosts: [],
      implicit: false,
      detail: 'nowhere.example: NXDOMAIN from 127.0.0.53',
    });
  });

  it('ResolveAddresses returns A and AAAA with families and TTLs (full uint32 range)', async () => {
    expect(await client.resolveAddresses('mx1.example.com')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      addresses: [
        { address: '192.0.2.1', family: AddressFamily.ADDRESS_FAMILY_IPV4, ttlSeconds: 60 },
        { address: '2001:db8::1', family: AddressFamily.ADDRESS_FAMILY_IPV6, ttlSeconds: 4294967295 },
      ],
      detail: '',
    });
  });

  it('ResolveTxt keeps each record as its list of strings', async () => {
    expect(await client.resolveTxt('example.com')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      records: [
        { strings: ['v=spf1 ', 'ip4:192.0.2.0/24 -all'], ttlSeconds: 120 },
        { strings: ['name=example.com'], ttlSeconds: 0 },
        { strings: [''], ttlSeconds: 5 },
      ],
      detail: '',
    });
  });

  it('ResolveTlsa carries the records byte for byte and the AD flag', async () => {
    const answer = await client.resolveTlsa('_25._tcp.mx1.example.com');
    expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
    expect(answer.authenticated).toBe(true);
    expect(
      answer.records.map((r) => [r.usage, r.selector, r.matchingType, Buffer.from(r.data).toString('hex')]),
    ).toEqual([
      [3, 1, 1, '00ff'.repeat(16)],
      [2, 0, 0, ''],
    ]);
    expect(await client.resolveTlsa('_25._tcp.other.example.com')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_SERVFAIL,
      records: [],
      authenticated: false,
      detail: 'bogus',
    });
  });

  it('ResolvePtr carries the address and returns the names', async () => {
    expect(await client.resolvePtr('192.0.2.9')).toEqual({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      names: ['host-192.0.2.9.example'],
      ttlSeconds: 60,
      detail: '',
    });
  });

  it('a thrown implementation error reaches the client as INTERNAL with its message', async () => {
    const error = await rejection(client.resolveMx('boom.example'));
    expect(error.code).toBe(GrpcStatus.INTERNAL);
    expect(error.details).toBe('upstream pool exhausted');
    expect(error.method).toBe('ResolveMx');
  });

  it('a thrown RpcError keeps its code', async () => {
    const error = await rejection(client.resolveMx('busy.example'));
    expect(error.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(error.details).toBe('shedding load');
  });

  it('a slow implementation hits the deadline', async () => {
    const error = await rejection(client.resolveAddresses('slow.example', { deadlineMs: 200 }));
    expect(error.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
  });

  it('an aborted signal cancels the call', async () => {
    const controller = new AbortController();
    const pending = client.resolveAddresses('slow.example', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(pending)).code).toBe(GrpcStatus.CANCELLED);
    expect((await rejection(client.resolveTxt('x', { signal: controller.signal }))).code).toBe(
      GrpcStatus.CANCELLED,
    );
  });
});

describe('resolver server lifecycle', () => {
  it('passes the signal and deadline to the implementation, and aborts on client cancel', async () => {
    let seen: ResolverCallContext | undefined;
    let onAbort = () => {};
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
    });
    const srv = await startResolverServer({
      host: '127.0.0.1',
      port: 0,
      implementation: {
        ...fake,
        resolveTxt: (_req, ctx) => {
          seen = ctx;
          ctx.signal.addEventListener('abort', onAbort);
          return new Promise(() => {});
        },
      },
    });
    const c = createResolverClient(`127.0.0.1:${srv.port}`);
    const before = Date.now();
    const error = await rejection(c.resolveTxt('x', { deadlineMs: 300 }));
    expect(error.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    await aborted;
    expect(seen?.signal.aborted).toBe(true);
    const deadline = seen?.deadline?.getTime() ?? 0;
    expect(deadline).toBeGreaterThanOrEqual(before);
    expect(deadline).toBeLessThanOrEqual(before + 1_000);
    c.close();
    await srv.stop(100);
  });

  it('stop() forces the shutdown after the grace period when a call hangs', async () => {
    const srv = await startResolverServer({
      host: '127.0.0.1',
      port: 0,
      implementation: { ...fake, resolveMx: () => new Promise(() => {}) },
    });
    const c = createResolverClient(`127.0.0.1:${srv.port}`);
    const hanging = c.resolveMx('example.com', { deadlineMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100)); // let the call reach the server
    const started = Date.now();
    await srv.stop(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    const error = await rejection(hanging);
    expect([GrpcStatus.CANCELLED, GrpcStatus.UNAVAILABLE, GrpcStatus.INTERNAL]).toContain(error.code);
    c.close();
  });

  it('a call to a port with no server rejects with UNAVAILABLE within the deadline', async () => {
    const port = await closedPort();
    const c = createResolverClient(`127.0.0.1:${port}`);
    const started = Date.now();
    const error = await rejection(c.resolveMx('example.com', { deadlineMs: 3_000 }));
    expect(error.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(3_000);
    c.close();
  });

  it('accepts a dns:/// target with round_robin (resolves localhost)', async () => {
    const srv = await startResolverServer({ host: '127.0.0.1', port: 0, implementation: fake });
    const c = createResolverClient(`dns:///127.0.0.1:${srv.port}`);
    expect((await c.resolveMx('nomail.example')).status).toBe(ResolveStatus.RESOLVE_STATUS_NULL_MX);
    c.close();
    await srv.stop(100);
  });
});

describe('generated code', () => {
  const buf = join(packageDir, 'node_modules', '.bin', 'buf');
  const plugin = join(packageDir, 'node_modules', '.bin', 'protoc-gen-ts_proto');

  async function listFiles(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)))
      .sort();
  }

  it('is what `buf generate` produces from the .proto files now', async (ctx) => {
    ctx.skip(
      !existsSync(buf) || !existsSync(plugin),
      'buf or protoc-gen-ts_proto is not installed in packages/rpc/node_modules/.bin',
    );
    const out = await mkdtemp(join(tmpdir(), 'tegami-rpc-gen-'));
    try {
      // Run from the package directory: buf.gen.yaml names the plugin by a relative path.
      await promisify(execFile)(buf, ['generate', '--output', out], { cwd: packageDir, timeout: 60_000 });
      const fresh = join(out, 'src', 'generated');
      const checkedIn = join(packageDir, 'src', 'generated');
      const files = await listFiles(checkedIn);
      expect(await listFiles(fresh)).toEqual(files);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const message = `src/generated/${file} is stale: run \`pnpm --filter @tegami/rpc generate\``;
        expect(await readFile(join(fresh, file), 'utf8'), message).toBe(
          await readFile(join(checkedIn, file), 'utf8'),
        );
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
