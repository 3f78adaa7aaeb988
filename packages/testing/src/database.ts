import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { testServices } from './services.js';

export interface TestDatabase {
  /** Connection URL of a new, empty database owned by this test file. */
  readonly url: string;
  readonly name: string;
  /** Drops the database (terminating any connection left open). */
  drop(): Promise<void>;
}

/** A fresh database per test file, so files run in parallel and leave nothing behind. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { postgresAdminUrl } = await testServices();
  const name = `tegami_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(postgresAdminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await withAdmin(postgresAdminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      );
    },
  };
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
