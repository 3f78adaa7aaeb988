import {
  EMBEDDED_MAX_CONNECTIONS,
  hasEmbeddedDatabase,
  openStore,
  runningStandalone,
  type StorePool,
  startEmbeddedPostgres,
} from '@tegami/store';

export class NoDatabaseError extends Error {}

/**
 * Where the operator's commands go: DATABASE_URL when set (a deployment); else the
 * standalone's embedded Postgres through its socket when `pnpm start` is running; else the
 * embedded database opened here (only one process may open a PGlite directory, which is
 * why a running standalone is reached through its socket instead).
 */
export async function openCliStore(databaseUrl: string | undefined, dataDir: string): Promise<StorePool> {
  if (databaseUrl) return openStore({ url: databaseUrl, poolSize: 2, applicationName: 'tegami-cli' });
  const running = runningStandalone(dataDir);
  if (running) return openStore({ url: running.url, poolSize: 1, applicationName: 'tegami-cli' });
  if (!hasEmbeddedDatabase(dataDir)) {
    throw new NoDatabaseError(
      `no database: set DATABASE_URL, or start Tegami once with \`pnpm start\` to create the embedded one in ${dataDir} (TEGAMI_DATA_DIR)`,
    );
  }
  const embedded = await startEmbeddedPostgres(dataDir);
  const store = openStore({ url: embedded.url, poolSize: Math.min(2, EMBEDDED_MAX_CONNECTIONS) });
  return {
    ...store,
    close: async () => {
      await store.close();
      await embedded.stop();
    },
  };
}
