import { describe, expect, it } from 'vitest';
import { type ImapChunk, WriteBatch } from './response.js';

function collector(): { writes: ImapChunk[]; write: (chunk: ImapChunk) => Promise<void> } {
  const writes: ImapChunk[] = [];
  return { writes, write: async (chunk) => void writes.push(chunk) };
}

const bytes = (chunks: readonly ImapChunk[]) =>
  Buffer.concat(chunks.map((c) => Buffer.from(c))).toString('utf8');

describe('WriteBatch', () => {
  it('writes the responses of a burst, literals included, as one Buffer in order', async () => {
    const { writes, write } = collector();
    const batch = new WriteBatch(write);
    await batch.add(['* 1 FETCH (BODY[] {3}\r\n', Buffer.from('abc'), ')\r\n']);
    await batch.add(['* 2 FETCH (UID 7 ENVELOPE ("d" "ü"))\r\n']);
    await batch.add(['* 3 FETCH (BODY[] {2}\r\n', Buffer.from('de'), ')\r\n']);
    expect(writes).toEqual([]);
    await batch.flush();
    expect(writes).toHaveLength(1);
    expect(bytes(writes)).toBe(
      '* 1 FETCH (BODY[] {3}\r\nabc)\r\n* 2 FETCH (UID 7 ENVELOPE ("d" "ü"))\r\n* 3 FETCH (BODY[] {2}\r\nde)\r\n',
    );
  });

  it('leaves text alone as a string and writes nothing when empty', async () => {
    const { writes, write } = collector();
    const batch = new WriteBatch(write);
    await batch.flush();
    await batch.add(['* 1 FETCH (UID 1)\r\n', '* 2 FETCH (UID 2)\r\n']);
    await batch.flush();
    expect(writes).toEqual(['* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n']);
  });

  it('passes a literal of the limit or more through on its own, after what came before, and flushes at the limit', async () => {
    const { writes, write } = collector();
    const batch = new WriteBatch(write, 8);
    const big = Buffer.from('0123456789');
    await batch.add(['* 1 FETCH (BODY[] {10}\r\n', big, ')\r\n']);
    expect(writes[0]).toBe('* 1 FETCH (BODY[] {10}\r\n');
    expect(writes[1]).toBe(big);
    await batch.add(['a', Buffer.from('bcdefgh')]);
    expect(writes).toHaveLength(3);
    expect(bytes(writes.slice(2))).toBe(')\r\nabcdefgh');
  });
});
