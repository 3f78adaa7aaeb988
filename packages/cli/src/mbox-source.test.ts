import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromLineDate, readMbox, statusFlags } from './mbox-source.js';

const dir = mkdtempSync(join(tmpdir(), 'tegami-mbox-'));

async function messagesOf(content: Buffer | string) {
  const file = join(dir, `m${Math.random().toString(36).slice(2)}.mbox`);
  writeFileSync(file, content);
  const found = [];
  for await (const message of readMbox(file)) found.push(message);
  return found;
}

describe('readMbox', () => {
  it('splits at From lines, unquotes >From lines and stores CRLF, from LF or CRLF files', async () => {
    const lf =
      'From a@b Thu Jan  2 03:04:05 2020\nSubject: x\n\n>From y\n>>From z\n\nFrom c@d Fri Jan  3 00:00:00 2020\nSubject: 2\n\nbody\n';
    const messages = await messagesOf(lf);
    expect(messages.map((m) => m.raw.toString())).toEqual([
      'Subject: x\r\n\r\nFrom y\r\n>From z\r\n',
      'Subject: 2\r\n\r\nbody\r\n',
    ]);
    expect((await messagesOf(lf.replace(/\n/g, '\r\n'))).map((m) => m.raw.toString())).toEqual(
      messages.map((m) => m.raw.toString()),
    );
  });

  it('reads a file larger than a stream chunk, lines across chunk boundaries, byte for byte', async () => {
    const body = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'é'.repeat(i % 40)}`).join('\n');
    const file = Buffer.concat([
      Buffer.from('From a@b Thu Jan  2 03:04:05 2020\nSubject: big\n\n'),
      Buffer.from(body),
      Buffer.from('\n\nFrom a@b Thu Jan  2 03:04:06 2020\nSubject: small\n\nx\n'),
    ]);
    const [big, small] = await messagesOf(file);
    expect(big!.raw.equals(Buffer.from(`Subject: big\r\n\r\n${body.replace(/\n/g, '\r\n')}\r\n`))).toBe(true);
    expect(small!.raw.toString()).toBe('Subject: small\r\n\r\nx\r\n');
    expect(small!.internalDate).toEqual(new Date('2020-01-02T03:04:06Z'));
  });

  it('refuses a file that does not start with a From line', async () => {
    await expect(messagesOf('Subject: x\n\nbody\n')).rejects.toThrow(/is not an mbox/);
  });
});

describe('fromLineDate and statusFlags', () => {
  it('reads asctime dates, with a numeric zone when a writer added one', () => {
    expect(fromLineDate('From MAILER-DAEMON Fri Feb 14 10:00:00 2020')).toEqual(
      new Date('2020-02-14T10:00:00Z'),
    );
    expect(fromLineDate('From x@y Fri Feb 14 10:00:00 2020 +0200')).toEqual(new Date('2020-02-14T08:00:00Z'));
    expect(fromLineDate('From x@y Fri Feb 14 10:00 -0100 2020')).toEqual(new Date('2020-02-14T11:00:00Z'));
    expect(fromLineDate('From x@y')).toBeUndefined();
  });

  it('takes flags from Status and X-Status in the header only', () => {
    const lines = ['Status: RO', 'x-status: DT', '', 'Status: F'].map((l) => Buffer.from(l));
    expect(statusFlags(lines).sort()).toEqual(['\\Deleted', '\\Draft', '\\Seen']);
  });
});
