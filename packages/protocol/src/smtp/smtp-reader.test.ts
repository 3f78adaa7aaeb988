import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunksSource } from './byte-source.js';
import { SmtpReader } from './smtp-reader.js';

const reader = (...chunks: string[]) => new SmtpReader(chunksSource(chunks), () => 1000);

async function readData(r: SmtpReader, max = 1_000_000) {
  const parts: Buffer[] = [];
  const result = await r.readData({ write: (chunk) => parts.push(Buffer.from(chunk)) }, max);
  return { result, body: Buffer.concat(parts).toString('latin1') };
}

/** Every way of cutting `text` into two chunks, to prove framing ignores chunk boundaries. */
function splits(text: string): string[][] {
  return Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);
}

describe('SmtpReader.readLine', () => {
  it('frames CRLF lines, tolerating a bare LF line end in command mode', async () => {
    const r = reader('EHLO a\r\nNOOP\nQU', 'IT\r\n');
    expect((await r.readLine(1000)).kind === 'line' && 'ok').toBe('ok');
    const second = await r.readLine(1000);
    expect(second).toEqual({ kind: 'line', line: Buffer.from('NOOP') });
    expect(await r.readLine(1000)).toEqual({ kind: 'line', line: Buffer.from('QUIT') });
    expect(await r.readLine(1000)).toEqual({ kind: 'eof' });
  });

  it('reports an overlong line once, then frames the next command correctly', async () => {
    const long = 'X'.repeat(3000);
    const r = reader(long.slice(0, 1500), `${long.slice(1500)}\r`, '\nNOOP\r\n');
    expect(await r.readLine(1000)).toEqual({ kind: 'too-long' });
    expect(await r.readLine(1000)).toEqual({ kind: 'line', line: Buffer.from('NOOP') });
  });

  it('never holds more than the limit of an endless command line', async () => {
    let reads = 0;
    let mostBuffered = 0;
    const r: SmtpReader = new SmtpReader(
      {
        read: async () => {
          mostBuffered = Math.max(mostBuffered, r.buffered);
          reads++;
          return reads <= 256 ? Buffer.alloc(4096, 0x61) : Buffer.from('\r\nNOOP\r\n');
        },
      },
      () => 1000,
    );
    expect(await r.readLine(1000)).toEqual({ kind: 'too-long' });
    expect(await r.readLine(1000)).toEqual({ kind: 'line', line: Buffer.from('NOOP') });
    expect(mostBuffered).toBeLessThanOrEqual(1000);
  });

  it('counts the CRLF in the limit: 998 octets of text fit in 1000', async () => {
    expect((await reader(`${'a'.repeat(998)}\r\n`).readLine(1000)).kind).toBe('line');
    expect((await reader(`${'a'.repeat(999)}\r\n`).readLine(1000)).kind).toBe('too-long');
  });
});

describe('SmtpReader.readData', () => {
  it('removes dot-stuffing and stops after CRLF.CRLF, leaving pipelined commands', async () => {
    for (const chunks of splits('Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n')) {
      const r = reader(...chunks);
      const { result, body } = await readData(r);
      expect(body).toBe('Subject: x\r\n\r\n.leading dot\r\n');
      expect(result).toEqual({ kind: 'complete', size: body.length });
      expect(await r.readLine(1000)).toEqual({ kind: 'line', line: Buffer.from('QUIT') });
    }
  });

  it('takes a lone dot right after DATA as an empty message', async () => {
    expect(await readData(reader('.\r\n'))).toEqual({ result: { kind: 'complete', size: 0 }, body: '' });
  });

  it.each([
    ['bare LF then <LF>.<LF>', 'a\nb\n.\nMAIL FROM:<evil@x>\r\n.\r\n'],
    ['<LF>.<CRLF>', 'a\r\nb\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n'],
    ['<CR>.<CR>', 'a\r\nb\r.\rMAIL FROM:<evil@x>\r\n.\r\n'],
    ['a bare CR inside a line', 'a\rb\r\n.\r\n'],
  ])('refuses %s as smuggling and reads nothing after it', async (_name, body) => {
    for (const chunks of splits(body)) {
      const r = reader(...chunks);
      expect((await readData(r)).result).toEqual({ kind: 'smuggling' });
      expect(r.buffered).toBe(0);
    }
  });

  it('refuses <CRLF>.<LF> at once, without waiting for bytes that may never come', async () => {
    // The client sent its (bare LF) terminator and waits for the answer: a read past these
    // bytes would wait for the data timeout.
    for (const chunks of splits('a\r\n.\n')) {
      const queue = [...chunks];
      const source = {
        read: async () => {
          const chunk = queue.shift();
          if (chunk === undefined) throw new Error('read past what the client sent');
          return Buffer.from(chunk, 'latin1');
        },
      };
      const r = new SmtpReader(source, () => 1000);
      expect((await readData(r)).result).toEqual({ kind: 'smuggling' });
    }
  });

  it('reads an oversize message to its end without keeping it', async () => {
    const r = reader(`${'x'.repeat(5000)}\r\n.\r\nNOOP\r\n`);
    const { result, body } = await readData(r, 1000);
    expect(result).toEqual({ kind: 'too-big', size: 5002 });
    expect(body.length).toBeLessThanOrEqual(1000);
    expect(await r.readLine(1000)).toEqual({ kind: 'line', line: Buffer.from('NOOP') });
  });

  it('passes a DATA line of any length through as it is, holding none of it back', async () => {
    // RFC 5321 §4.5.3.1.6 limits a text line to 1000 octets, but §4.5.3.1 asks servers
    // not to enforce limits they need not: the line is kept whole, and streamed.
    const chunk = Buffer.alloc(4096, 0x61);
    let reads = 0;
    let mostBuffered = 0;
    const r: SmtpReader = new SmtpReader(
      {
        read: async () => {
          mostBuffered = Math.max(mostBuffered, r.buffered);
          reads++;
          return reads <= 256 ? chunk : Buffer.from('\r\n.\r\n');
        },
      },
      () => 1000,
    );
    const { result, body } = await readData(r, 2_000_000);
    expect(result).toEqual({ kind: 'complete', size: 256 * 4096 + 2 });
    expect(body).toBe(`${'a'.repeat(256 * 4096)}\r\n`);
    expect(mostBuffered).toBeLessThanOrEqual(2);
  });

  it('keeps a 1,200-octet line with a dot and a NUL in it exactly, however it is chunked', async () => {
    const line = `.${'y'.repeat(600)}\0${'z'.repeat(598)}`;
    for (const chunks of splits(`.${line}\r\n.\r\n`).filter((_, i) => i % 97 === 0)) {
      const { result, body } = await readData(reader(...chunks));
      expect(result).toEqual({ kind: 'complete', size: 1_202 });
      expect(body).toBe(`${line}\r\n`);
    }
  });

  it('says eof when the client goes away mid-message', async () => {
    expect((await readData(reader('half a mess'))).result).toEqual({ kind: 'eof' });
  });

  it('frames any CRLF-only body identically however it is chunked (property)', async () => {
    const line = fc.stringMatching(/^[ -~]{0,40}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (lines, cuts) => {
          const body = lines.map((l) => `${l}\r\n`).join('');
          const stuffed = body.replace(/^\./gm, '..');
          const wire = `${stuffed}.\r\nNOOP\r\n`;
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points, wire.length]
            .slice(1)
            .map((end, i, ends) => wire.slice(i === 0 ? 0 : ends[i - 1], end));
          const r = reader(...chunks);
          const { result, body: read } = await readData(r);
          expect(result).toEqual({ kind: 'complete', size: body.length });
          expect(read).toBe(body);
          expect(await r.readLine(1000)).toEqual({ kind: 'line', line: Buffer.from('NOOP') });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SmtpReader.readChunk', () => {
  it('reads exactly the BDAT size, binary and all, and leaves the next command', async () => {
    const r = reader('ab\nc\r', '\n.\r\nBDAT 0 LAST\r\n');
    const parts: Buffer[] = [];
    expect(await r.readChunk(8, { write: (c) => parts.push(Buffer.from(c)) })).toBe('complete');
    expect(Buffer.concat(parts).toString()).toBe('ab\nc\r\n.\r');
    expect(await r.readLine(1000)).toEqual({ kind: 'line', line: Buffer.from('') });
  });
});
