import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dotStuffed, pop3WireSize, topOf } from './wire.js';

/** What a client does with a multi-line response body: strip the terminator, unstuff. */
function unstuff(wire: Buffer): Buffer {
  const text = wire.toString('latin1');
  expect(text.endsWith('\r\n.\r\n') || text === '.\r\n').toBe(true);
  const body = text.slice(0, text.length - 3);
  return Buffer.from(body.replace(/^\./gm, ''), 'latin1');
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
});
