import { createAdminToken, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { caller, capturingLogger } from './test-admin-server.js';

let database: TestDatabase;
let store: StorePool;
let token: string;
let server: AdminServer | undefined;
// The buckets read this clock: time moves only when a test says so.
let now = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 4 });
  await migrate(store.pool);
  token = (await createAdminToken(store.pool, 'ops', 'full')).token;
}, 60_000);

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

afterAll(async () => {
  await store?.close();
  await database?.drop();
});

async function start() {
  now = 0;
  server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    pool: store.pool,
    logger: capturingLogger().logger,
    readLimit: { perSecond: 1, burst: 3 },
    writeLimit: { perSecond: 1, burst: 2 },
    clock: () => now,
  });
  return caller(server.url);
}

describe("the admin API's rate limits", () => {
  it('answer 429 with Retry-After after the burst of reads, and let requests through once refilled', async () => {
    const call = await start();
    for (let i = 0; i < 3; i++) expect((await call('GET', '/api/v1/whoami', { token })).status).toBe(200);
    const refused = await call('GET', '/api/v1/whoami', { token });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.error.code).toBe('rate_limited');
    now += 1000;
    expect((await call('GET', '/api/v1/whoami', { token })).status).toBe(200);
  });

  it('count writes in a bucket of their own, so a busy reader can still change things', async () => {
    const call = await start();
    for (let i = 0; i < 3; i++) await call('GET', '/api/v1/whoami', { token });
    expect((await call('POST', '/api/v1/queue/retry-all', { token })).status).toBe(200);
    expect((await call('POST', '/api/v1/queue/retry-all', { token })).status).toBe(200);
    expect((await call('POST', '/api/v1/queue/retry-all', { token })).status).toBe(429);
  });

  it('hold back a client without a token too, before any token is looked up', async () => {
    const call = await start();
    for (let i = 0; i < 3; i++) expect((await call('GET', '/api/v1/stats')).status).toBe(401);
    expect((await call('GET', '/api/v1/stats')).status).toBe(429);
    // The same address with a good token is held back as well: the address's bucket is empty.
    expect((await call('GET', '/api/v1/stats', { token })).status).toBe(429);
  });
});
