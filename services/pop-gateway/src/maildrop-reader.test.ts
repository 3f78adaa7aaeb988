import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MaildropReader, type ReadableEntry } from './maildrop-reader.js';

function maildrop(sizes: readonly number[]) {
  const bodies = sizes.map((size, i) => Buffer.alloc(size, 97 + (i % 26)));
  const entries: ReadableEntry[] = bodies.map((b) => ({
    blobSha256: createHash('sha256').update(b).digest(),
    size: b.length,
  }));
  const store = new Map(entries.map((e, i) => [e.blobSha256.toString('hex'), bodies[i]!]));
  const queries: number[][] = [];
  const fetchBlobs = async (shas: readonly Buffer[]) => {
    queries.push(shas.map((s) => entries.findIndex((e) => e.blobSha256.equals(s))));
    const found = new Map<string, Buffer>();
    for (const s of shas) {
      const data = store.get(s.toString('hex'));
      if (data) found.set(s.toString('hex'), data);
    }
    return found;
  };
  return { bodies, entries, store, queries, fetchBlobs };
}

describe('MaildropReader', () => {
  it('reads a maildrop in order with one query per budget, every message exact', async () => {
    const m = maildrop(Array.from({ length: 10 }, (_, i) => 100 + i));
    const reader = new MaildropReader(m.entries, m.fetchBlobs, { bytes: 350, count: 100 });
    for (let i = 0; i < 10; i++) expect((await reader.read(i)).equals(m.bodies[i]!)).toBe(true);
    // 350 bytes ahead hold three messages of ~100: four messages a query.
    expect(m.queries).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(reader.heldCount).toBe(0);
  });

  it('keeps to the count budget and always fetches the asked message, however large', async () => {
    const m = maildrop([5000, 10, 10, 10, 10]);
    const reader = new MaildropReader(m.entries, m.fetchBlobs, { bytes: 100, count: 2 });
    expect((await reader.read(0)).length).toBe(5000);
    expect(m.queries[0]).toEqual([0, 1]);
    const big = maildrop([10, 5000, 10]);
    const r2 = new MaildropReader(big.entries, big.fetchBlobs, { bytes: 100, count: 10 });
    await r2.read(0);
    expect(big.queries[0]).toEqual([0]);
    expect((await r2.read(1)).length).toBe(5000);
    expect(big.queries[1]).toEqual([1, 2]);
  });

  it('serves a message read twice or out of order by asking again', async () => {
    const m = maildrop([10, 20, 30, 40]);
    const reader = new MaildropReader(m.entries, m.fetchBlobs, { bytes: 1000, count: 2 });
    await reader.read(0);
    expect((await reader.read(0)).equals(m.bodies[0]!)).toBe(true);
    expect((await reader.read(3)).equals(m.bodies[3]!)).toBe(true);
    expect((await reader.read(1)).equals(m.bodies[1]!)).toBe(true);
    expect((await reader.read(2)).equals(m.bodies[2]!)).toBe(true);
    expect(m.queries).toEqual([[0, 1], [0, 1], [3], [1, 2]]);
  });

  it('serves two messages with the same bytes', async () => {
    const body = Buffer.from('same\r\n');
    const sha = createHash('sha256').update(body).digest();
    const entries = [
      { blobSha256: sha, size: body.length },
      { blobSha256: sha, size: body.length },
    ];
    const reader = new MaildropReader(entries, async () => new Map([[sha.toString('hex'), body]]));
    expect((await reader.read(0)).equals(body)).toBe(true);
    expect((await reader.read(1)).equals(body)).toBe(true);
  });

  it('fails the read when the store no longer holds the blob, and rejects a bad index', async () => {
    const m = maildrop([10, 10]);
    m.store.clear();
    const reader = new MaildropReader(m.entries, m.fetchBlobs);
    await expect(reader.read(1)).rejects.toThrow(/missing/);
    await expect(reader.read(2)).rejects.toThrow(RangeError);
  });
});
