import { describe, expect, it } from 'vitest';
import { ManageSieveCommandReader, type ManageSieveFrame } from './command-reader.js';

const LIMITS = { maxLineBytes: 100, maxLiteralBytes: 50 };

/** Every frame the bytes make, fed in the given chunks. */
function frames(chunks: readonly string[], limits = LIMITS): ManageSieveFrame[] {
  const reader = new ManageSieveCommandReader(limits);
  const out: ManageSieveFrame[] = [];
  for (const chunk of chunks) {
    reader.push(Buffer.from(chunk, 'utf8'));
    for (let frame = reader.next(); frame; frame = reader.next()) out.push(frame);
  }
  return out;
}

const atom = (value: string) => ({ type: 'atom', value });
const quoted = (value: string) => ({ type: 'string', value: Buffer.from(value), literal: false });
const literal = (value: string) => ({ type: 'string', value: Buffer.from(value), literal: true });

describe('the ManageSieve command reader', () => {
  it('reads a command name and quoted strings (RFC 5804 §2.8)', () => {
    expect(frames(['Setactive "vacationscript"\r\n'])).toEqual([
      { kind: 'command', words: [atom('Setactive'), quoted('vacationscript')] },
    ]);
  });

  it('resolves the two escapes of a quoted string', () => {
    expect(frames(['GETSCRIPT "a\\"b\\\\c"\r\n'])).toEqual([
      { kind: 'command', words: [atom('GETSCRIPT'), quoted('a"b\\c')] },
    ]);
  });

  it('reads a literal {n+} and the rest of the command after it (§2.6)', () => {
    const script = 'require ["fileinto"];\r\nkeep;\r\n';
    expect(frames([`Putscript "foo" {${script.length}+}\r\n${script}\r\n`])).toEqual([
      { kind: 'command', words: [atom('Putscript'), quoted('foo'), literal(script)] },
    ]);
    expect(frames(['RENAMESCRIPT {3+}\r\nold {3}\r\nnew\r\n'])).toEqual([
      { kind: 'command', words: [atom('RENAMESCRIPT'), literal('old'), literal('new')] },
    ]);
  });

  it('frames the same however the bytes are split', () => {
    const bytes = 'Putscript "foo" {10+}\r\nkeep;\r\nx;\r\nNOOP\r\n';
    const whole = frames([bytes]);
    expect(whole).toHaveLength(2);
    expect(frames(bytes.split(''))).toEqual(whole);
    expect(frames([bytes.slice(0, 19), bytes.slice(19, 25), bytes.slice(25)])).toEqual(whole);
  });

  it('takes a bare LF as the line end, and pipelined commands one by one', () => {
    expect(frames(['NOOP\nLOGOUT\r\n'])).toEqual([
      { kind: 'command', words: [atom('NOOP')] },
      { kind: 'command', words: [atom('LOGOUT')] },
    ]);
  });

  it('says what is wrong with a line, and reads the next one', () => {
    expect(frames(['GETSCRIPT "open\r\nNOOP\r\n'])).toEqual([
      { kind: 'bad', reason: 'CR, LF or NUL in a quoted string' },
      { kind: 'command', words: [atom('NOOP')] },
    ]);
    expect(frames(['GETSCRIPT "a\\x"\r\n', 'X {1a+}\r\n', 'A "b""c"\r\n', '\r\n'])).toEqual([
      { kind: 'bad', reason: 'invalid escape in a quoted string' },
      { kind: 'bad', reason: 'invalid literal' },
      { kind: 'bad', reason: 'arguments must be separated by a space' },
      { kind: 'bad', reason: 'empty command line' },
    ]);
  });

  it('skips a literal over the limit without keeping it, and answers the command', () => {
    const big = 'x'.repeat(60);
    const reader = new ManageSieveCommandReader(LIMITS);
    reader.push(Buffer.from('PUTSCRIPT "big" {60+}\r\n'));
    expect(reader.next()).toBeUndefined();
    expect(reader.progress).toEqual(expect.objectContaining({ kind: 'literal', received: 0 }));
    reader.push(Buffer.from(big.slice(0, 30)));
    expect(reader.next()).toBeUndefined();
    expect(reader.progress).toEqual(expect.objectContaining({ kind: 'literal', received: 30 }));
    reader.push(Buffer.from(`${big.slice(30)}\r\nNOOP\r\n`));
    expect(reader.next()).toEqual({
      kind: 'literal-too-large',
      words: [atom('PUTSCRIPT'), quoted('big')],
      size: 60,
      limit: 50,
    });
    expect(reader.next()).toEqual({ kind: 'command', words: [atom('NOOP')] });
  });

  it('holds the literals of one command to the limit together', () => {
    expect(frames(['RENAMESCRIPT {30+}\r\n', 'a'.repeat(30), ' {30+}\r\n', 'b'.repeat(30), '\r\n'])).toEqual([
      {
        kind: 'literal-too-large',
        words: [atom('RENAMESCRIPT'), literal('a'.repeat(30))],
        size: 30,
        limit: 50,
      },
    ]);
  });

  it('gives up on a line over the limit, the literals not counted', () => {
    expect(frames([`PUTSCRIPT "${'n'.repeat(120)}" {1+}\r\nx\r\n`])).toEqual([
      { kind: 'too-long', limit: 100 },
    ]);
    // A line trickled in is held to the limit before its end arrives.
    expect(frames(['NOOP "', 'x'.repeat(60), 'x'.repeat(60)])).toEqual([{ kind: 'too-long', limit: 100 }]);
    // 40 octets of line around a 50-octet literal is within both limits.
    expect(frames([`PUTSCRIPT "${'n'.repeat(15)}" {50+}\r\n${'s'.repeat(50)}\r\n`])).toHaveLength(1);
  });

  it('reports the unfinished line for the deadline, and nothing between commands', () => {
    const reader = new ManageSieveCommandReader(LIMITS);
    reader.push(Buffer.from('NOOP\r\nCAPA'));
    expect(reader.next()).toEqual({ kind: 'command', words: [atom('NOOP')] });
    expect(reader.next()).toBeUndefined();
    expect(reader.progress).toEqual(expect.objectContaining({ kind: 'line' }));
    reader.push(Buffer.from('BILITY\r\n'));
    expect(reader.next()).toEqual({ kind: 'command', words: [atom('CAPABILITY')] });
    expect(reader.progress).toBeUndefined();
  });
});
