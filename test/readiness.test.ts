import { connectNatsBus, type MailBus } from '@tegami/bus';
import { createLogger, type OpsServer, startOpsServer } from '@tegami/runtime';
import { openStore, type StorePool } from '@tegami/store';
import {
  createTestDatabase,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  testNats,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What every service wires: its Postgres pool and NATS bus behind /readyz. Proxies make the
// shared Postgres and NATS look stopped to this test alone.
let database: TestDatabase;
let pgProxy: TcpProxy;
let natsProxy: TcpProxy;
let store: StorePool;
let bus: MailBus;
let ops: OpsServer;

beforeAll(async () => {
  database = await createTestDatabase();
  const pgUrl = new URL(database.url);
  pgProxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  pgUrl.hostname = '127.0.0.1';
  pgUrl.port = String(pgProxy.port);
  store = openStore({ url: pgUrl.toString(), connectTimeoutMs: 1000, onIdleError: () => undefined });

  const nats = await testNats();
  const natsUrl = new URL(nats.url);
  natsProxy = await startTcpProxy({ host: natsUrl.hostname, port: Number(natsUrl.port || 4222) });
  bus = await connectNatsBus({
    servers: `nats://127.0.0.1:${natsProxy.port}`,
    prefix: nats.prefix,
    reconnectWaitMs: 200,
    pingTimeoutMs: 500,
  });

  ops = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    service: 'readiness-test',
    logger: createLogger({ service: 'readiness-test', level: 'silent' }),
    readinessChecks: { postgres: store.ping, nats: () => bus.ping() },
    checkTimeoutMs: 1500,
  });
});

afterAll(async () => {
  await ops?.stop();
  await bus?.close();
  await store?.close();
  await pgProxy?.close();
  await natsProxy?.close();
  await database?.drop();
});

async function readyz(): Promise<{
  status: number;
  body: { status: string; checks: Record<string, string> };
}> {
  const response = await fetch(`${ops.url}/readyz`);
  return {
    status: response.status,
    body: (await response.json()) as { status: string; checks: Record<string, string> },
  };
}

async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('/readyz with real Postgres and NATS', () => {
  it('says 503 with the reason while Postgres is down, and 200 after it returns', async () => {
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', nats: 'ok' } },
    });
    pgProxy.cut();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not ready');
    expect(down.body.checks.nats).toBe('ok');
    expect(down.body.checks.postgres).not.toBe('ok');
    expect(down.body.checks.postgres).toMatch(/connection|terminated|timed out/i);
    pgProxy.restore();
    const back = await eventually(readyz, (r) => r.status === 200);
    expect(back.body.checks).toEqual({ postgres: 'ok', nats: 'ok' });
  }, 30_000);

  it('says 503 with the reason while NATS is down, and 200 after it reconnects', async () => {
    natsProxy.cut();
    const down = await eventually(readyz, (r) => r.status === 503, 5000);
    expect(down.status).toBe(503);
    expect(down.body.checks.postgres).toBe('ok');
    expect(down.body.checks.nats).not.toBe('ok');
    natsProxy.restore();
    const back = await eventually(readyz, (r) => r.status === 200);
    expect(back.status).toBe(200);
    expect(back.body.checks).toEqual({ postgres: 'ok', nats: 'ok' });
  }, 30_000);
});
