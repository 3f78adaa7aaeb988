import { describe, expect, it } from 'vitest';
import { formatBodyStructure } from './body-structure.js';
import { findPart, walkParts } from './mime-part.js';
import { parseMimeTree } from './mime-tree.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const view = (raw: Uint8Array, start: number, end: number) =>
  new TextDecoder().decode(raw.subarray(start, end));

describe('parseMimeTree', () => {
  it('takes the whole message as header when there is no blank line', () => {
    const raw = bytes('Subject: only a header\r\nFrom: a@b\r\n');
    const root = parseMimeTree(raw);
    expect([root.bodyStart, root.bodyEnd, root.size]).toEqual([raw.length, raw.length, 0]);
  });

  it('accepts bare LF line ends throughout', () => {
    const raw = bytes(
      'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>x</p>\n--b--\n',
    );
    const root = parseMimeTree(raw);
    const html = findPart(root, '1')!;
    expect(html.subtype).toBe('html');
    expect(view(raw, html.bodyStart, html.bodyEnd)).toBe('<p>x</p>');
  });

  it("ends a part at its parent's boundary when its own close delimiter is missing", () => {
    const raw = bytes(
      'Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n' +
        'Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\r\nfirst\r\n' +
        '--outer\r\n\r\nsecond\r\n--outer--\r\n',
    );
    const root = parseMimeTree(raw);
    expect([...walkParts(root)].map((p) => p.section)).toEqual(['', '1', '1.1', '2']);
    expect(view(raw, findPart(root, '1.1')!.bodyStart, findPart(root, '1.1')!.bodyEnd)).toBe('first');
    expect(view(raw, findPart(root, '2')!.bodyStart, findPart(root, '2')!.bodyEnd)).toBe('second');
  });

  it('prefers the longest matching boundary (RFC 2046 prefix matching, as Dovecot)', () => {
    const raw = bytes(
      'Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n' +
        'Content-Type: multipart/mixed; boundary=abc\r\n\r\n--abc\r\n\r\ninner\r\n--abc--\r\n--ab--\r\n',
    );
    const root = parseMimeTree(raw);
    expect([...walkParts(root)].map((p) => p.section)).toEqual(['', '1', '1.1']);
    expect(view(raw, findPart(root, '1.1')!.bodyStart, findPart(root, '1.1')!.bodyEnd)).toBe('inner');
  });

  it('defaults parts of multipart/digest to message/rfc822', () => {
    const raw = bytes(
      'Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nfirst body\r\n--d--\r\n',
    );
    const root = parseMimeTree(raw);
    const first = findPart(root, '1')!;
    expect(first.type + '/' + first.subtype).toBe('message/rfc822');
    expect(first.message?.envelope.subject).toBe('one');
    expect(first.message?.root.section).toBe('1.1');
  });

  it('numbers a multipart inside message/rfc822 under the message part', () => {
    const raw = bytes(
      'Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n' +
        '--x\r\n\r\none\r\n--x\r\n\r\ntwo\r\n--x--\r\n',
    );
    const root = parseMimeTree(raw);
    expect([...walkParts(root)].map((p) => `${p.section}:${p.type}`)).toEqual([
      '1:message',
      '1:multipart',
      '1.1:text',
      '1.2:text',
    ]);
    expect(findPart(root, '1')).toBe(root);
    expect(view(raw, findPart(root, '1.2')!.bodyStart, findPart(root, '1.2')!.bodyEnd)).toBe('two');
  });

  it('ignores Content-* fields outside MIME, as RFC 2045 §4 and Dovecot do', () => {
    const raw = bytes('Content-Transfer-Encoding: base64\r\nContent-ID: <x>\r\n\r\nplain text\r\n');
    const root = parseMimeTree(raw);
    expect(formatBodyStructure(root, false)).toBe(
      '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1)',
    );
  });

  it('writes a multipart without any part with one empty text part', () => {
    const raw = bytes('MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n');
    const root = parseMimeTree(raw);
    expect(root.children).toEqual([]);
    expect(formatBodyStructure(root, true)).toBe(
      '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)',
    );
  });

  it('ends a part header at a boundary line when the blank line is missing', () => {
    const raw = bytes(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n--b--\r\n',
    );
    const part = findPart(parseMimeTree(raw), '1')!;
    expect(view(raw, part.headerStart, part.bodyStart)).toBe('Content-Type: text/html');
    expect(part.size).toBe(0);
    expect(part.subtype).toBe('html');
  });

  it('writes extension data: md5, disposition, language, location, id and description', () => {
    const raw = bytes(
      'MIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET="ISO-8859-1"; format=flowed\r\n' +
        'Content-ID: <id@x>\r\nContent-Description: =?utf-8?q?caf=C3=A9?=\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n' +
        "Content-Disposition: inline; filename*0*=utf-8''caf%C3; filename*1*=%A9.txt\r\n" +
        'Content-Language: en, de-CH\r\nContent-Location: http://example.com/a\r\n\r\nhi\r\n',
    );
    const root = parseMimeTree(raw);
    expect(formatBodyStructure(root, true)).toBe(
      '("TEXT" "PLAIN" ("CHARSET" "ISO-8859-1" "format" "flowed") "<id@x>" "=?utf-8?q?caf=C3=A9?=" "7bit" 4 1' +
        ' "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("filename*" "utf-8\'\'caf%C3%A9.txt")) ("en" "de-CH")' +
        ' "http://example.com/a")',
    );
    expect(root.type).toBe('text');
    expect(root.decodedParams['charset']).toBe('ISO-8859-1');
  });
});

describe('line counts of large nested messages (issue 21)', () => {
  it("counts each part's lines exactly, across the per-block totals", () => {
    // Bodies past 128 KiB are counted from per-64 KiB totals: parts that start and end inside
    // blocks, span several, and nest 60 deep (counted afresh at each level, 25 MB nested 100 deep took half a minute).
    const filler = Array.from({ length: 40_000 }, (_, i) => 'x'.repeat(i % 13)).join('\r\n');
    const raw = bytes(
      `${'Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n'.repeat(60)}Content-Type: message/rfc822\r\n\r\n` +
        `Subject: inner\r\n\r\n${filler}\n\n${filler}\r\n--a\r\n\r\n${filler}\r\n--a--\r\n${filler}`,
    );
    expect(raw.length).toBeGreaterThan(4 * 65536);
    const lf = (start: number, end: number) => raw.subarray(start, end).filter((b) => b === 0x0a).length;
    const parts = [...walkParts(parseMimeTree(raw))];
    expect(parts.length).toBeGreaterThan(60);
    for (const part of parts) expect(part.lines).toBe(lf(part.bodyStart, part.bodyEnd));
  });
});
