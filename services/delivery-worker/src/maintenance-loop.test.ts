import { createLogger } from '@tegami/runtime';
import { migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaintenanceMetrics, startMaintenanceLoop } from './maintenance-loop.js';

let database: TestDatabase;
let store: StorePool;

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url });
  await migrate(store.pool);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

const DAY = 86_400_000;

describe('the maintenance loop', () => {
  it('runs on every replica, one at a time, and counts what it removed', async () => {
    for (let i = 0; i < 3; i++) {
      await store.pool.query(
        `INSERT INTO blobs (sha256, size, data, created_at)
         VALUES (sha256($1::bytea), 100, $1::bytea, now() - interval '2 hours')`,
        [Buffer.alloc(100, i)],
      );
    }
    const registries = [new Registry(), new Registry()];
    const settings = {
      finishedQueueMs: DAY,
      attemptsMs: DAY,
      expungedMs: DAY,
      blobGraceMs: 3_600_000,
      intervalMs: 20,
    };
    const loops = registries.map((registry) =>
      startMaintenanceLoop({
        pool: store.pool,
        logger: createLogger({ service: 'delivery-worker', level: 'silent' }),
        settings,
        metrics: createMaintenanceMetrics(registry),
      }),
    );
    const value = async (name: string, labels: Record<string, string>) => {
      let sum = 0;
      for (const registry of registries) {
        const metric = (await registry.getSingleMetric(name)?.get())?.values ?? [];
        for (const v of metric) {
          if (Object.entries(labels).every(([k, l]) => v.labels[k] === l)) sum += v.value;
        }
      }
      return sum;
    };
    try {
      while ((await value('tegami_maintenance_runs_total', { result: 'done' })) < 4) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await Promise.all(loops.map((loop) => loop.stop()));
    }
    // However the runs fell between the two replicas, the blobs were removed once.
    expect(await value('tegami_maintenance_removed_rows_total', { table: 'blobs' })).toBe(3);
    expect(await value('tegami_maintenance_removed_blob_bytes_total', {})).toBe(300);
    expect(await value('tegami_maintenance_runs_total', { result: 'error' })).toBe(0);
    expect((await store.pool.query('SELECT 1 FROM blobs')).rowCount).toBe(0);
  }, 60_000);
});
