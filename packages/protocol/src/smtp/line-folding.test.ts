import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldLongLines, MAX_LINE_OCTETS } from './line-folding.js';

const fold = (text: string, limit?: number) =>
  foldLongLines(Buffer.from(text, 'utf8'), limit).toString('utf8');
const lines = (text: string) => text.split(/\r\n|\r|\n/);

describe('foldLongLines', () => {
  it('returns the message itself when every line fits in 998 octets', () => {
    const message = Buffer.from(`Subject: ok\r\n\r\n${'x'.repeat(998)}\r\n${'y'.repeat(998)}`);
    expect(foldLongLines(message)).toBe(message);
  });

  it('cuts a 1,200-octet line with no whitespace at 998 and goes on after CRLF SP, as Postfix does', () => {
    expect(fold(`Subject: x\r\n\r\n${'x'.repeat(1_200)}\r\nnext\r\n`)).toBe(
      `Subject: x\r\n\r\n${'x'.repeat(998)}\r\n ${'x'.repeat(202)}\r\nnext\r\n`,
    );
  });

  it('counts the added space in the next piece: 2,000 octets become 998 + 1+997 + 1+5', () => {
    expect(lines(fold('a'.repeat(2_000))).map((l) => l.length)).toEqual([998, 998, 6]);
  });

  it('folds a long header field before whitespace, so unfolding (RFC 5322 §2.2.3) gives it back', () => {
    const field = `To: ${Array.from({ length: 120 }, (_, i) => `user${i}@example.org`).join(', ')}`;
    const folded = fold(`${field}\r\nSubject: x\r\n\r\nbody\r\n`);
    expect(folded).not.toBe(`${field}\r\nSubject: x\r\n\r\nbody\r\n`);
    for (const line of lines(folded)) expect(line.length).toBeLessThanOrEqual(MAX_LINE_OCTETS);
    expect(folded.replace(/\r\n(?=[ \t])/g, '')).toBe(`${field}\r\nSubject: x\r\n\r\nbody\r\n`);
  });

  it('breaks before the last space that fits, not at the first one', () => {
    expect(fold('aaaa bb cc dddd', 9)).toBe('aaaa bb\r\n cc dddd');
  });

  it('never cuts inside a UTF-8 character', () => {
    const folded = foldLongLines(Buffer.from('é'.repeat(700), 'utf8'));
    const pieces = lines(folded.toString('latin1')).map((l) => Buffer.from(l, 'latin1'));
    expect(pieces.map((p) => p.length)).toEqual([998, 403]);
    for (const piece of pieces) expect(Buffer.from(piece.toString('utf8'), 'utf8').equals(piece)).toBe(true);
    expect(folded.toString('utf8').replace(/\r\n /g, '')).toBe('é'.repeat(700));
  });

  it('takes a bare CR or LF as a line end, as the SMTP client sends them as CRLF', () => {
    expect(fold(`${'a'.repeat(8)}\n${'b'.repeat(8)}\r${'c'.repeat(12)}`, 10)).toBe(
      `${'a'.repeat(8)}\n${'b'.repeat(8)}\r${'c'.repeat(10)}\r\n cc`,
    );
  });

  it('fits every line, and loses or invents nothing but whitespace (property)', () => {
    const piece = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\t', 'é', '日', '🍣', '.'), maxLength: 60 }),
      fc.constantFrom('\r\n', '\r\n', '\n', '\r'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 2, max: 40 }), (pieces, limit) => {
        const text = pieces.join('');
        const folded = foldLongLines(Buffer.from(text, 'utf8'), limit);
        for (const line of lines(folded.toString('latin1'))) expect(line.length).toBeLessThanOrEqual(limit);
        // A limit under 4 octets may have to cut a 4-octet character; the octets survive.
        const squeeze = (s: string) => s.replace(/[\r\n \t]/g, '');
        expect(squeeze(folded.toString('latin1'))).toBe(squeeze(Buffer.from(text).toString('latin1')));
        if (lines(text).every((l) => Buffer.byteLength(l) <= limit))
          expect(folded.toString('utf8')).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
