import { createResolverClient, ResolveStatus } from '@tegami/rpc';
import {
  cleanEnv,
  freePort,
  type Program,
  startProgram,
  startTestDnsServer,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = new URL('../../../', import.meta.url).pathname;

let dns: TestDnsServer;
let program: Program | undefined;

beforeAll(async () => {
  dns = await startTestDnsServer({
    records: { 'example.test': { mx: [{ preference: 10, exchange: 'mx.example.test' }] } },
  });
});

afterAll(async () => {
  program?.signal('SIGKILL');
  await dns?.stop();
});

describe('dns-resolver as a process (src/main.ts)', () => {
  it('resolves over gRPC with its settings from the environment, serves /readyz and /metrics, and exits 0 on SIGTERM', async () => {
    const grpcPort = await freePort();
    const opsPort = await freePort();
    program = startProgram(
      'node',
      ['--conditions=tegami-source', '--import', 'tsx', 'services/dns-resolver/src/main.ts'],
      {
        cwd: repoRoot,
        env: cleanEnv({
          TEGAMI_GRPC_HOST: '127.0.0.1',
          TEGAMI_GRPC_PORT: String(grpcPort),
          TEGAMI_OPS_HOST: '127.0.0.1',
          TEGAMI_OPS_PORT: String(opsPort),
          TEGAMI_DNS_UPSTREAMS: dns.address,
          TEGAMI_DNS_TIMEOUT_MS: '500ms',
          TEGAMI_DNS_ATTEMPTS: '1',
        }),
      },
    );
    await program.waitFor(/dns-resolver ready/, 30_000);

    const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { grpc: 'ok' } });
    expect(ready.status).toBe(200);

    const client = createResolverClient(`dns:///127.0.0.1:${grpcPort}`);
    try {
      const answer = await client.resolveMx('example.test');
      expect(answer.status).toBe(ResolveStatus.RESOLVE_STATUS_OK);
      expect(answer.hosts.map((h) => h.host)).toEqual(['mx.example.test']);
      expect(dns.queryCount('example.test', 'MX')).toBe(1);
    } finally {
      client.close();
    }

    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /tegami_dns_queries_total\{rpc="ResolveMx",status="ok",service="dns-resolver"\} 1/,
    );
    expect(metrics).toMatch(/process_cpu_user_seconds_total\{service="dns-resolver"\}/);

    program.signal('SIGTERM');
    expect(await program.exited(15_000)).toBe(0);
    expect(program.output()).toMatch(/shut down/);
  });

  it('exits 2 with one line naming a bad setting', async () => {
    const run = startProgram(
      'node',
      ['--conditions=tegami-source', '--import', 'tsx', 'services/dns-resolver/src/main.ts'],
      {
        cwd: repoRoot,
        env: cleanEnv({
          TEGAMI_DNS_UPSTREAMS: 'dns.example.com',
          TEGAMI_OPS_PORT: '0',
          TEGAMI_GRPC_PORT: '0',
        }),
      },
    );
    expect(await run.exited(30_000)).toBe(2);
    expect(run.output()).toMatch(/tegami: configuration error: TEGAMI_DNS_UPSTREAMS/);
  });
});
