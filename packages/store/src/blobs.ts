import { createHash } from 'node:crypto';
import type { Queryable } from './db.js';

export function blobId(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The blob insert as SQL, for statements that store a message in one go (APPEND, local
 * delivery): the rows of `from` (columns sha, size, data) stored once by hash, a hash
 * already stored left as it is.
 */
export function storeBlobsSql(from: string): string {
  return `INSERT INTO blobs (sha256, size, data) SELECT DISTINCT ON (sha) sha, size, data FROM ${from}
          ON CONFLICT (sha256) DO NOTHING`;
}

/** Stores the raw message once by its SHA-256; storing the same bytes again is a no-op. */
export async function putBlob(db: Queryable, data: Buffer): Promise<Buffer> {
  const sha256 = blobId(data);
  await db.query(storeBlobsSql('(SELECT $1::bytea AS sha, $2::bigint AS size, $3::bytea AS data) b'), [
    sha256,
    data.length,
    data,
  ]);
  return sha256;
}

export async function getBlob(db: Queryable, sha256: Buffer): Promise<Buffer | undefined> {
  const result = await db.query<{ data: Buffer }>('SELECT data FROM blobs WHERE sha256 = $1', [sha256]);
  return result.rows[0]?.data;
}

/** Several blobs in one round trip, keyed by hex SHA-256; a missing one is absent from the map. */
export async function getBlobs(db: Queryable, sha256s: readonly Buffer[]): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  if (sha256s.length === 0) return found;
  const result = await db.query<{ sha256: Buffer; data: Buffer }>(
    'SELECT sha256, data FROM blobs WHERE sha256 = ANY($1::bytea[])',
    [sha256s],
  );
  for (const row of result.rows) found.set(row.sha256.toString('hex'), row.data);
  return found;
}
