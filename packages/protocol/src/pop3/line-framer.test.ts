import { describe, expect, it } from 'vitest';
import { type Pop3Frame, Pop3LineFramer } from './line-framer.js';

function frames(framer: Pop3LineFramer, max = 255): (string | 'too-long')[] {
  const out: (string | 'too-long')[] = [];
  for (;;) {
    const frame: Pop3Frame | undefined = framer.next(max);
    if (!frame) return out;
    out.push(frame.kind === 'line' ? frame.line.toString('latin1') : 'too-long');
  }
}

describe('POP3 line framer', () => {
  it('frames CRLF and bare LF lines, and waits for the end of a partial one', () => {
    const framer = new Pop3LineFramer();
    framer.push(Buffer.from('STAT\r\nNOOP\nLI'));
    expect(frames(framer)).toEqual(['STAT', 'NOOP']);
    expect(framer.buffered).toBe(2);
    framer.push(Buffer.from('ST\r'));
    expect(frames(framer)).toEqual([]);
    framer.push(Buffer.from('\n'));
    expect(frames(framer)).toEqual(['LIST']);
    expect(framer.buffered).toBe(0);
  });

  it('counts the line end in the limit, and reports a long line once, at its end', () => {
    const framer = new Pop3LineFramer();
    framer.push(Buffer.from('12345678\r\n123456789\r\n12345678\n123456789\n'));
    expect(frames(framer, 10)).toEqual(['12345678', 'too-long', '12345678', '123456789']);
    framer.push(Buffer.from('x'.repeat(50)));
    expect(frames(framer, 10)).toEqual([]);
    expect(framer.buffered).toBe(1);
    framer.push(Buffer.from('\r'));
    framer.push(Buffer.from('\nNOOP\r\n'));
    expect(frames(framer, 10)).toEqual(['too-long', 'NOOP']);
  });

  it('discards what is buffered, including a long line in progress', () => {
    const framer = new Pop3LineFramer();
    framer.push(Buffer.from(`${'x'.repeat(20)}`));
    expect(frames(framer, 10)).toEqual([]);
    framer.push(Buffer.from('USER mallory'));
    expect(framer.discardBuffered()).toBeGreaterThan(0);
    framer.push(Buffer.from('CAPA\r\n'));
    expect(frames(framer, 10)).toEqual(['CAPA']);
  });

  it('keeps its own copy of the bytes it was given', () => {
    const framer = new Pop3LineFramer();
    const chunk = Buffer.from('NOOP\r\n');
    framer.push(chunk);
    chunk.fill(0x41);
    expect(frames(framer)).toEqual(['NOOP']);
  });
});
