import { createHash } from 'node:crypto';
import type { Queryable } from './db.js';

export function blobId(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Stores the raw message once by its SHA-256; storing the same bytes again is a no-op. */
export async function putBlob(db: Queryable, data: Buffer): Promise<Buffer> {
  const sha256 = blobId(data);
  await db.query(
    'INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING',
    [sha256, data.length, data],
  );
  return sha256;
}

export async function getBlob(db: Queryable, sha256: Buffer): Promise<Buffer | undefined> {
  const result = await db.query<{ data: Buffer }>('SELECT data FROM blobs WHERE sha256 = $1', [sha256]);
  return result.rows[0]?.data;
}
