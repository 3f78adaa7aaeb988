import type { MessageFacts, StoredMetadata } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { MessageFactsCache } from './message-facts-cache.js';

const metadata = { size: 10, root: { bodyStart: 4 }, envelope: {} } as unknown as StoredMetadata;
const facts = (uid: number, header?: Buffer): MessageFacts => ({
  uid,
  internalDate: new Date(0),
  size: 10,
  metadata,
  emailId: `M${uid}`,
  ...(header && { header }),
});

describe('MessageFactsCache', () => {
  it('answers what it was given, per mailbox, and counts hits and misses', () => {
    const cache = new MessageFactsCache(1 << 20);
    expect(cache.get('1/7', 1, false)).toBeUndefined();
    cache.set('1/7', facts(1), 100);
    expect(cache.get('1/7', 1, false)).toMatchObject({ uid: 1, size: 10 });
    // Another mailbox, or the same one under another UIDVALIDITY, is another message.
    expect(cache.get('2/7', 1, false)).toBeUndefined();
    expect(cache.get('1/8', 1, false)).toBeUndefined();
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 1, misses: 3 });
  });

  it('misses when the header is asked and not held, and keeps the header once it has it', () => {
    const cache = new MessageFactsCache(1 << 20);
    cache.set('1/7', facts(1), 100);
    expect(cache.get('1/7', 1, true)).toBeUndefined();
    cache.set('1/7', facts(1, Buffer.from('A: b\r\n\r\n')), 100);
    expect(cache.get('1/7', 1, true)?.header?.toString()).toBe('A: b\r\n\r\n');
    // A later read without the header does not replace the entry that has it.
    cache.set('1/7', facts(1), 100);
    expect(cache.get('1/7', 1, true)?.header?.toString()).toBe('A: b\r\n\r\n');
  });

  it('holds its own copy of a header, not the pooled buffer it was a view of', () => {
    const cache = new MessageFactsCache(1 << 20);
    const pool = Buffer.from('X: 1\r\n\r\nbody and the rest of a slab');
    cache.set('1/7', facts(1, pool.subarray(0, 8)), 10);
    const held = cache.get('1/7', 1, true)!.header!;
    expect(held.toString()).toBe('X: 1\r\n\r\n');
    expect(held.buffer).not.toBe(pool.buffer);
  });

  it('stays within its bytes, dropping the least recently used first', () => {
    // Each entry weighs 256 (overhead) + 244 = 500 bytes: two fit in 1,000.
    const cache = new MessageFactsCache(1000);
    cache.set('1/7', facts(1), 244);
    cache.set('1/7', facts(2), 244);
    expect(cache.weight).toBe(1000);
    cache.get('1/7', 1, false); // 1 is now the most recently used
    cache.set('1/7', facts(3), 244);
    expect(cache.size).toBe(2);
    expect(cache.weight).toBe(1000);
    expect(cache.get('1/7', 2, false)).toBeUndefined();
    expect(cache.get('1/7', 1, false)).toBeDefined();
    expect(cache.get('1/7', 3, false)).toBeDefined();
    // An entry larger than the whole cache is not kept, and evicts nothing.
    cache.set('1/7', facts(4), 5000);
    expect(cache.size).toBe(2);
    expect(cache.get('1/7', 4, false)).toBeUndefined();
  });

  it('replacing an entry counts its weight once', () => {
    const cache = new MessageFactsCache(1 << 20);
    cache.set('1/7', facts(1), 100);
    cache.set('1/7', facts(1, Buffer.alloc(44)), 100);
    expect(cache.size).toBe(1);
    expect(cache.weight).toBe(256 + 100 + 44);
  });
});
