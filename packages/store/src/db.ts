import pg from 'pg';

// bigint columns (ids, MODSEQ, sizes) come back as strings by default; ids stay strings
// (they only travel), while modules convert counts and UIDs where they read them.
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface StorePool {
  readonly pool: pg.Pool;
  /** Rejects when Postgres does not answer: what /readyz calls. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  readonly url: string;
  readonly poolSize?: number;
  readonly applicationName?: string;
  /** Gives up connecting after this long, so a stopped Postgres is an error, not a hang. */
  readonly connectTimeoutMs?: number;
  /** Called for errors of idle pooled connections (e.g. Postgres restarted): log, don't crash. */
  readonly onIdleError?: (err: Error) => void;
}

export function openStore(options: OpenStoreOptions): StorePool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'tegami',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
  });
  // Without a listener an idle client's error (a Postgres restart) crashes the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  return {
    pool,
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

/** Runs fn inside BEGIN … COMMIT on one pooled connection, rolling back on any error. */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: { readonly isolation?: 'REPEATABLE READ' } = {},
): Promise<T> {
  const client = await pool.connect();
  // A connection that dies between two queries (Postgres restarted, the backend terminated
  // while fn awaits something else, e.g. a publish) emits 'error' on the client, which
  // nothing else listens to while it is checked out: without this the process would crash.
  // The next query fails with it, and the client is destroyed on release, not pooled again.
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost = err;
  };
  client.on('error', onError);
  try {
    await client.query(options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation}` : 'BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      lost ??= rollbackErr;
    });
    throw err;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}
