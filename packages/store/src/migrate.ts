import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { openStore, type StorePool } from './db.js';
import { StoreError } from './errors.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

// Beside src/ and dist/ alike, so the same lookup works from source and from a build.
const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
// Any fixed 64-bit key: every Tegami process that migrates takes this one lock.
const MIGRATION_LOCK_KEY = 0x7465_6761_6d69n;

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number.parseInt(file.slice(0, 4), 10),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

export interface MigrationResult {
  readonly applied: readonly number[];
  readonly version: number;
}

/**
 * Brings the schema up to date. Five replicas may start at once: each takes the same
 * session advisory lock first, so one applies the migrations and the others find them
 * done. Each migration commits with its schema_migrations row, so a crash halfway leaves
 * a consistent, resumable state.
 */
export async function migrate(
  pool: pg.Pool,
  migrations: readonly Migration[] = loadMigrations(),
): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const applied = await appliedMigrations(client);
      checkCompatible(applied, migrations);
      const done: number[] = [];
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            migration.checksum,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new StoreError(
            'schema',
            `migration ${migration.version} (${migration.name}) failed: ${messageOf(err)}`,
          );
        }
        done.push(migration.version);
      }
      return { applied: done, version: latestVersion(migrations) };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    client.release();
  }
}

/**
 * For services that do not migrate (Kubernetes runs a migration Job first): refuses a
 * database that is behind the code (run `tegami migrate`) or ahead of it (an older image
 * must not write to a schema it does not know).
 */
export async function assertSchemaCurrent(
  pool: pg.Pool,
  migrations: readonly Migration[] = loadMigrations(),
): Promise<void> {
  const exists = await pool.query(`SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`);
  const applied = exists.rows[0].exists ? await appliedMigrations(pool) : new Map<number, string>();
  checkCompatible(applied, migrations);
  const missing = migrations.filter((m) => !applied.has(m.version));
  if (missing.length > 0) {
    throw new StoreError(
      'schema',
      `the database schema is at version ${maxKey(applied)}, this code needs ${latestVersion(migrations)}: run \`tegami migrate\``,
    );
  }
}

async function appliedMigrations(db: Pick<pg.Pool, 'query'>): Promise<Map<number, string>> {
  const result = await db.query<{ version: number; checksum: string }>(
    'SELECT version, checksum FROM schema_migrations ORDER BY version',
  );
  return new Map(result.rows.map((row) => [row.version, row.checksum]));
}

function checkCompatible(applied: Map<number, string>, migrations: readonly Migration[]): void {
  const known = latestVersion(migrations);
  const newest = maxKey(applied);
  if (newest > known) {
    throw new StoreError(
      'schema',
      `the database schema is at version ${newest}, newer than this code knows (${known}): upgrade Tegami before starting it against this database`,
    );
  }
  for (const migration of migrations) {
    const checksum = applied.get(migration.version);
    if (checksum !== undefined && checksum !== migration.checksum) {
      throw new StoreError(
        'schema',
        `migration ${migration.version} (${migration.name}) was changed after it was applied; add a new migration instead`,
      );
    }
  }
}

function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

function maxKey(map: Map<number, string>): number {
  return Math.max(0, ...map.keys());
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What a service does first: a pool on the database, with idle-connection errors logged
 * rather than fatal, refusing to go on when the schema is older (or newer) than the code.
 */
export async function openServiceStore(options: {
  readonly url: string;
  readonly poolSize: number;
  readonly service: string;
  readonly warn: (err: Error) => void;
}): Promise<StorePool> {
  const store = openStore({
    url: options.url,
    poolSize: options.poolSize,
    applicationName: `tegami-${options.service}`,
    onIdleError: options.warn,
  });
  try {
    await assertSchemaCurrent(store.pool);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
