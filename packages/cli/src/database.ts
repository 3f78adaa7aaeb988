import {
  hasEmbeddedDatabase,
  openStore,
  runningEmbedded,
  type StorePool,
  startEmbeddedPostgres,
} from '@tegami/store';

export class NoDatabaseError extends Error {}

/**
 * Where the operator's commands go: DATABASE_URL when set (a deployment); else the
 * standalone's embedded Postgres through its socket when it is running (`pnpm start`, or
 * another `tegami` command); else that server started here for the command and stopped after.
 */
export async function openCliStore(databaseUrl: string | undefined, dataDir: string): Promise<StorePool> {
  if (databaseUrl) return openStore({ url: databaseUrl, poolSize: 2, applicationName: 'tegami-cli' });
  const running = runningEmbedded(dataDir);
  if (running) return openStore({ url: running.url, poolSize: 2, applicationName: 'tegami-cli' });
  if (!hasEmbeddedDatabase(dataDir)) {
    throw new NoDatabaseError(
      `no database: set DATABASE_URL, or start Tegami once with \`pnpm start\` to create the embedded one in ${dataDir} (TEGAMI_DATA_DIR)`,
    );
  }
  const embedded = await startEmbeddedPostgres(dataDir, { owner: 'cli' });
  const store = openStore({ url: embedded.url, poolSize: 2, applicationName: 'tegami-cli' });
  return {
    ...store,
    close: async () => {
      await store.close();
      await embedded.stop();
    },
  };
}
