import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { openStore, type StorePool } from './db.js';
import { migrate } from './migrate.js';

/** A migrated store on a fresh database of its own, for one test file. */
export async function openTestStore(): Promise<StorePool & { database: TestDatabase }> {
  const database = await createTestDatabase();
  const store = openStore({ url: database.url, poolSize: 12 });
  await migrate(store.pool);
  return {
    ...store,
    database,
    close: async () => {
      await store.close();
      await database.drop();
    },
  };
}
