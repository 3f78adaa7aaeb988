import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CompressedInputError, DeflateLayer } from './deflate-layer.js';

async function collect(layer: DeflateLayer, compressed: Uint8Array): Promise<Buffer[]> {
  const steps: Buffer[] = [];
  for await (const plain of layer.inflate(compressed)) steps.push(plain);
  return steps;
}

describe('DeflateLayer', () => {
  it('sends raw DEFLATE (no zlib header) that any inflater reads after each flush', async () => {
    const sent: Buffer[] = [];
    const layer = new DeflateLayer((bytes) => {
      sent.push(Buffer.from(bytes));
    });
    await layer.write('* 1 EXISTS\r\n');
    await layer.write(Buffer.from('a OK done\r\n'));
    await layer.flush();
    const first = Buffer.concat(sent);
    // A zlib header would start 0x78; raw DEFLATE's first octet is a block header.
    expect(first[0]).not.toBe(0x78);
    // Z_SYNC_FLUSH ends with an empty stored block: 00 00 ff ff.
    expect(first.subarray(-4)).toEqual(Buffer.from([0x00, 0x00, 0xff, 0xff]));
    expect(inflateRawSync(first, { finishFlush: 2 /* Z_SYNC_FLUSH */ }).toString()).toBe(
      '* 1 EXISTS\r\na OK done\r\n',
    );
    layer.close();
  });

  it('sends nothing for a flush with nothing written', async () => {
    const sent: Buffer[] = [];
    const layer = new DeflateLayer((bytes) => {
      sent.push(Buffer.from(bytes));
    });
    await layer.flush();
    expect(sent).toEqual([]);
    layer.close();
  });

  it('holds writers back while the socket is full', async () => {
    let release: () => void = () => undefined;
    const full = new Promise<void>((resolve) => {
      release = resolve;
    });
    const layer = new DeflateLayer(() => full);
    const writing = layer.write('x'.repeat(100)).then(() => layer.flush());
    let done = false;
    void writing.then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done).toBe(false);
    release();
    await writing;
    expect(done).toBe(true);
    layer.close();
  });

  it('inflates the client stream across chunks, whatever window it used', async () => {
    const layer = new DeflateLayer(() => undefined);
    const text = 'a1 NOOP\r\n'.repeat(1000);
    const compressed = deflateRawSync(Buffer.from(text), { windowBits: 15, level: 9 });
    const half = Math.floor(compressed.length / 2);
    const first = await collect(layer, compressed.subarray(0, half));
    const second = await collect(layer, compressed.subarray(half));
    expect(Buffer.concat([...first, ...second]).toString()).toBe(text);
    layer.close();
  });

  it('inflates a decompression bomb a bounded piece at a time', async () => {
    const layer = new DeflateLayer(() => undefined);
    // 16 MiB of zeros: some 16 KiB of DEFLATE.
    const bomb = deflateRawSync(Buffer.alloc(16 * 1024 * 1024));
    let total = 0;
    let largest = 0;
    for await (const plain of layer.inflate(bomb)) {
      total += plain.length;
      largest = Math.max(largest, plain.length);
    }
    expect(total).toBe(16 * 1024 * 1024);
    // zlib waits for each piece to be read before it inflates more: a few buffers' worth at most.
    expect(largest).toBeLessThanOrEqual(64 * 1024);
    layer.close();
  });

  it('rejects input that is not DEFLATE, then every later input too', async () => {
    const layer = new DeflateLayer(() => undefined);
    await expect(collect(layer, Buffer.from([0xff, 0xff, 0xff]))).rejects.toBeInstanceOf(
      CompressedInputError,
    );
    await expect(collect(layer, deflateRawSync(Buffer.from('a NOOP\r\n')))).rejects.toBeInstanceOf(
      CompressedInputError,
    );
    layer.close();
  });
});

describe('DeflateLayer once closed', () => {
  it('ends an inflate that was under way instead of leaving it waiting', async () => {
    const layer = new DeflateLayer(() => undefined);
    const bomb = deflateRawSync(Buffer.alloc(4 * 1024 * 1024));
    const pieces = layer.inflate(bomb);
    const first = await pieces.next();
    expect(first.done).toBe(false);
    layer.close();
    let more = 0;
    for await (const _ of pieces) more++;
    expect(more).toBeLessThan(8);
  });
});
