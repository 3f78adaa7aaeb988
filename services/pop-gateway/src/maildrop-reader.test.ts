import { describe, expect, it } from 'vitest';
import { MaildropReader, type ReadableEntry } from './maildrop-reader.js';

function maildrop(sizes: readonly number[]) {
  const bodies = sizes.map((size, i) => Buffer.alloc(size, 97 + (i % 26)));
  // UIDs with gaps, as after expunges: the reader asks by UID, not by position.
  const entries: ReadableEntry[] = bodies.map((b, i) => ({ uid: 10 + 3 * i, size: b.length }));
  const store = new Map(entries.map((e, i) => [e.uid, bodies[i]!]));
  const queries: number[][] = [];
  const fetchMessages = async (uids: readonly number[]) => {
    queries.push(uids.map((uid) => entries.findIndex((e) => e.uid === uid)));
    const found = new Map<number, Buffer>();
    for (const uid of uids) {
      const data = store.get(uid);
      if (data) found.set(uid, data);
    }
    return found;
  };
  return { bodies, entries, store, queries, fetchMessages };
}

describe('MaildropReader', () => {
  it('reads a maildrop in order with one query per budget, every message exact', async () => {
    const m = maildrop(Array.from({ length: 10 }, (_, i) => 100 + i));
    const reader = new MaildropReader(m.entries, m.fetchMessages, { bytes: 350, count: 100 });
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
    const reader = new MaildropReader(m.entries, m.fetchMessages, { bytes: 100, count: 2 });
    expect((await reader.read(0)).length).toBe(5000);
    expect(m.queries[0]).toEqual([0, 1]);
    const big = maildrop([10, 5000, 10]);
    const r2 = new MaildropReader(big.entries, big.fetchMessages, { bytes: 100, count: 10 });
    await r2.read(0);
    expect(big.queries[0]).toEqual([0]);
    expect((await r2.read(1)).length).toBe(5000);
    expect(big.queries[1]).toEqual([1, 2]);
  });

  it('serves a message read twice or out of order by asking again', async () => {
    const m = maildrop([10, 20, 30, 40]);
    const reader = new MaildropReader(m.entries, m.fetchMessages, { bytes: 1000, count: 2 });
    await reader.read(0);
    expect((await reader.read(0)).equals(m.bodies[0]!)).toBe(true);
    expect((await reader.read(3)).equals(m.bodies[3]!)).toBe(true);
    expect((await reader.read(1)).equals(m.bodies[1]!)).toBe(true);
    expect((await reader.read(2)).equals(m.bodies[2]!)).toBe(true);
    expect(m.queries).toEqual([[0, 1], [0, 1], [3], [1, 2]]);
  });

  it('fails the read of a message expunged since (over IMAP), and rejects a bad index', async () => {
    const m = maildrop([10, 10]);
    m.store.clear();
    const reader = new MaildropReader(m.entries, m.fetchMessages);
    await expect(reader.read(1)).rejects.toThrow(/gone/);
    await expect(reader.read(2)).rejects.toThrow(RangeError);
  });
});
