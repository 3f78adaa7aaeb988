import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type StorePool } from './db.js';
import { StoreError } from './errors.js';
import { assertSchemaCurrent, loadMigrations, type Migration, migrate } from './migrate.js';

let database: TestDatabase;
let store: StorePool;

beforeEach(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url });
});

afterEach(async () => {
  await store.close();
  await database.drop();
});

const extra = (version: number, sql = 'SELECT 1'): Migration => ({
  version,
  name: `test_${version}`,
  sql,
  checksum: `checksum-${version}-${sql}`,
});

describe('migrate', () => {
  it('applies every migration once and records it', async () => {
    const migrations = loadMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    const first = await migrate(store.pool);
    expect(first.applied).toEqual(migrations.map((m) => m.version));
    const second = await migrate(store.pool);
    expect(second.applied).toEqual([]);
    const rows = await store.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    const tables = await store.pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        'domains',
        'accounts',
        'aliases',
        'mailboxes',
        'blobs',
        'messages',
        'queue',
        'deliveries',
      ]),
    );
  });

  it('refuses a database whose schema is newer than the code', async () => {
    const known = loadMigrations();
    await migrate(store.pool, [...known, extra(9999)]);
    const attempt = migrate(store.pool, known);
    await expect(attempt).rejects.toThrow(StoreError);
    await expect(attempt).rejects.toThrow(/schema is at version 9999, newer than this code knows/);
    await expect(assertSchemaCurrent(store.pool, known)).rejects.toThrow(/newer than this code knows/);
  });

  it('tells a service to run tegami migrate when the schema is behind', async () => {
    await expect(assertSchemaCurrent(store.pool)).rejects.toThrow(
      /version 0, this code needs \d+: run `tegami migrate`/,
    );
    await migrate(store.pool);
    await expect(assertSchemaCurrent(store.pool)).resolves.toBeUndefined();
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const known = loadMigrations();
    await migrate(store.pool, [...known, extra(9000)]);
    await expect(migrate(store.pool, [...known, extra(9000, 'SELECT 2')])).rejects.toThrow(
      /was changed after it was applied/,
    );
  });

  it('rolls back a failing migration and leaves it unrecorded', async () => {
    const known = loadMigrations();
    await migrate(store.pool, known);
    const broken = extra(9001, 'CREATE TABLE half_done (x int); SELECT no_such_column FROM domains;');
    await expect(migrate(store.pool, [...known, broken])).rejects.toThrow(
      /migration 9001 \(test_9001\) failed/,
    );
    const table = await store.pool.query(`SELECT to_regclass('half_done') AS t`);
    expect(table.rows[0].t).toBeNull();
    const recorded = await store.pool.query('SELECT 1 FROM schema_migrations WHERE version = 9001');
    expect(recorded.rowCount).toBe(0);
  });

  it('serialises concurrent migrators in one process on the advisory lock', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(store.pool)));
    const appliedCounts = results.map((r) => r.applied.length).sort();
    expect(appliedCounts).toEqual([0, 0, 0, 0, loadMigrations().length]);
  });
});
