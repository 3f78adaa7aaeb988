import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dotStuffed, dotStuffedChunks, pop3WireSize, topOf } from './wire.js';

/** What a client does with a multi-line response body: strip the terminator, unstuff. */
function unstuff(wire: Buffer): Buffer {
  const text = wire.toString('latin1');
  expect(text.endsWith('\r\n.\r\n') || text === '.\r\n').toBe(true);
  const body = text.slice(0, text.length - 3);
  // Lines begin after CRLF only (a JavaScript `^` with /m would also match after a bare CR).
  const lines = body.split('\r\n').map((line) => (line.startsWith('.') ? line.slice(1) : line));
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

describe('POP3 wire form', () => {
  it('dot-stuffs lines that begin with a dot and ends with CRLF.CRLF', () => {
    expect(dotStuffed(Buffer.from('a\r\n.b\r\n..c\r\n.\r\n')).toString()).toBe(
      'a\r\n..b\r\n...c\r\n..\r\n.\r\n',
    );
    expect(dotStuffed(Buffer.from('.start')).toString()).toBe('..start\r\n.\r\n');
    expect(dotStuffed(Buffer.alloc(0)).toString()).toBe('.\r\n');
  });

  it('sends bare LF as CRLF and counts it in the size', () => {
    const raw = Buffer.from('Subject: x\n\nline\r\nbare\n');
    expect(dotStuffed(raw).toString()).toBe('Subject: x\r\n\r\nline\r\nbare\r\n.\r\n');
    expect(pop3WireSize(raw)).toBe(raw.length + 3);
  });

  it('finds the body after an empty header too', () => {
    expect(Buffer.from(topOf(Buffer.from('\r\nbody1\r\nbody2\r\n'), 1)).toString()).toBe('\r\nbody1\r\n');
    expect(Buffer.from(topOf(Buffer.from('Subject: no body'), 3)).toString()).toBe('Subject: no body');
  });

  it('round-trips any message: unstuffed wire bytes are the CRLF form, of pop3WireSize octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const wire = dotStuffed(bytes);
        expect(wire.toString('latin1')).not.toMatch(/[^\r]\n/);
        const back = unstuff(wire);
        const crlf = Buffer.from(
          Buffer.from(bytes)
            .toString('latin1')
            .replace(/(?<!\r)\n/g, '\r\n'),
          'latin1',
        );
        const expected =
          crlf.length === 0 || crlf.toString('latin1').endsWith('\r\n')
            ? crlf
            : Buffer.concat([crlf, Buffer.from('\r\n')]);
        expect(back.equals(expected)).toBe(true);
        expect(pop3WireSize(bytes)).toBe(crlf.length);
      }),
      { numRuns: 500 },
    );
  });

  it('makes the same bytes in chunks of any size, none much larger than asked', () => {
    // The reference: the RFC 1939 §3 rules applied to the text in one go.
    const reference = (bytes: Uint8Array) => {
      let text = Buffer.from(bytes)
        .toString('latin1')
        .replace(/(?<!\r)\n/g, '\r\n');
      if (text.length > 0 && !text.endsWith('\r\n')) text += '\r\n';
      // Only CRLF begins a line: a dot after a bare CR is not stuffed.
      const stuffed = text
        .split('\r\n')
        .map((line) => (line.startsWith('.') ? `.${line}` : line))
        .join('\r\n');
      return Buffer.from(`${stuffed}.\r\n`, 'latin1');
    };
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('.', '\r', '\n', '\r\n', 'a', '..', 'b\n.'), { maxLength: 60 }),
        fc.integer({ min: 1, max: 9 }),
        (parts, chunkBytes) => {
          const raw = Buffer.from(parts.join(''), 'latin1');
          const chunks = [...dotStuffedChunks(raw, chunkBytes)];
          for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(2 * chunkBytes + 5);
          expect(Buffer.concat(chunks).equals(reference(raw))).toBe(true);
          expect(dotStuffed(raw).equals(reference(raw))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('streams a large message in 64 KiB-sized chunks and leaves the stored bytes untouched', () => {
    const raw = Buffer.from(`Subject: big\r\n\r\n${'.dotted line\r\nplain\n'.repeat(50_000)}`);
    const copy = Buffer.from(raw);
    const chunks = [...dotStuffedChunks(raw)];
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(2 * 64 * 1024 + 5);
    const wire = Buffer.concat(chunks);
    expect(wire.length).toBe(pop3WireSize(raw) + 50_000 + 3);
    expect(raw.equals(copy)).toBe(true);
  });
});
