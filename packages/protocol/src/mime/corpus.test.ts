import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatBodyStructure } from './body-structure.js';
import { formatEnvelope } from './envelope.js';
import { findPart, type MimePart, walkParts } from './mime-part.js';
import { parseMessage } from './parse-message.js';
import { normaliseForSearch, searchHeaderText } from './search-text.js';
import { decodeTransferEncoding } from './transfer-encoding.js';

// The shared corpus sits beside the repository clone (/work/shared next to /work/main, and the same in CI).
const corpusDir = new URL('../../../../../shared/corpus/', import.meta.url);

function load(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, corpusDir)));
}

const latin1 = new TextDecoder('latin1');
function slice(raw: Uint8Array, start: number, end: number): string {
  return latin1.decode(raw.subarray(start, end));
}
function body(raw: Uint8Array, part: MimePart): string {
  return slice(raw, part.bodyStart, part.bodyEnd);
}
function header(raw: Uint8Array, part: MimePart): string {
  return slice(raw, part.headerStart, part.bodyStart);
}
function part(root: MimePart, section: string): MimePart {
  const found = findPart(root, section);
  if (!found) throw new Error(`no part ${section}`);
  return found;
}
function sections(root: MimePart): string[] {
  return [...walkParts(root)].map((p) => `${p.section}:${p.type}/${p.subtype}`);
}
function finds(haystack: string, query: string): boolean {
  return haystack.includes(normaliseForSearch(query));
}

describe('the shared corpus', () => {
  it('covers every message file in the corpus directory', () => {
    const files = readdirSync(corpusDir).filter((f) => f.endsWith('.eml'));
    expect(files.sort()).toEqual([
      'iso2022jp-attachments.eml',
      'malformed.eml',
      'nested-alternative-rfc822.eml',
      'plain-rfc822.eml',
      'shift-jis-body.eml',
      'utf8-headers.eml',
    ]);
    for (const file of files) {
      const raw = load(file);
      const parsed = parseMessage(raw);
      expect(parsed.size).toBe(raw.length);
      expect(parsed.root.headerStart).toBe(0);
      expect(parsed.root.bodyEnd).toBe(raw.length);
      // the stored metadata survives a JSON round trip unchanged
      expect(JSON.parse(JSON.stringify(parsed))).toEqual(parsed);
    }
  });

  describe('iso2022jp-attachments.eml', () => {
    const raw = load('iso2022jp-attachments.eml');
    const parsed = parseMessage(raw);
    const { root } = parsed;

    it('numbers the three parts of the multipart/mixed', () => {
      expect(sections(root)).toEqual([
        ':multipart/mixed',
        '1:text/plain',
        '2:image/jpeg',
        '3:application/pdf',
      ]);
    });

    it('slices each part exactly out of the raw message', () => {
      const text = part(root, '1');
      expect(header(raw, text)).toBe(
        'Content-Transfer-Encoding: 7bit\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n',
      );
      expect(body(raw, text).startsWith('\x1b$B$3$l$O%F%9%H%a!<%k$G$9!#\x1b(B\r\n')).toBe(true);
      expect(body(raw, text).endsWith('\x1b(B\r\n')).toBe(true);
      expect(slice(raw, text.bodyEnd, text.bodyEnd + 17)).toBe('\r\n--Mail-12345678');
      const jpeg = part(root, '2');
      expect(header(raw, jpeg).startsWith('Content-Disposition: inline; filename=white_cat.jpg\r\n')).toBe(
        true,
      );
      expect(body(raw, jpeg).startsWith('/9j/4AAQ')).toBe(true);
      const pdf = part(root, '3');
      expect(body(raw, pdf).startsWith('JVBERi0xLjMK')).toBe(true);
      expect(body(raw, pdf).endsWith('agp0cmFpbGVyIDw8IC9Sb290IDEgMCBSID4+CiUlRU9GCg==\r\n')).toBe(true);
      expect(slice(raw, pdf.bodyEnd, raw.length)).toBe('\r\n--Mail-12345678--\r\n');
      expect(body(raw, root).startsWith('--Mail-12345678\r\n')).toBe(true);
    });

    it('decodes the attachments to real JPEG and PDF sizes', () => {
      const jpeg = decodeTransferEncoding(
        raw.subarray(part(root, '2').bodyStart, part(root, '2').bodyEnd),
        'base64',
      );
      expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // JPEG SOI marker
      expect(part(root, '2').decodedSize).toBe(jpeg.length);
      const pdf = decodeTransferEncoding(
        raw.subarray(part(root, '3').bodyStart, part(root, '3').bodyEnd),
        'BASE64',
      );
      expect(latin1.decode(pdf.subarray(0, 8))).toBe('%PDF-1.3');
      expect(part(root, '3').decodedSize).toBe(pdf.length);
    });

    it('builds the envelope from the raw header values', () => {
      expect(formatEnvelope(parsed.envelope)).toBe(
        '("Mon, 1 Aug 2011 18:16:07 +0900" "=?ISO-2022-JP?B?GyRCJUYlOSVIJWEhPCVrGyhC?=" ' +
          '(("bob" NIL "bob" "nikkeibp.example")) (("bob" NIL "bob" "nikkeibp.example")) ' +
          '(("bob" NIL "bob" "nikkeibp.example")) ((NIL NIL "alice" "example.com")) ' +
          '((NIL NIL "charlie" "example.com")) NIL NIL "<jp-attachments@nikkeibp.example>")',
      );
      expect(parsed.headerDate).toEqual({ sentAt: '2011-08-01T09:16:07.000Z', sentOn: '2011-08-01' });
      expect(parsed.messageId).toBe('jp-attachments@nikkeibp.example');
    });

    it('writes BODYSTRUCTURE and BODY as Dovecot does', () => {
      expect(formatBodyStructure(root, true)).toBe(
        '(("text" "plain" ("charset" "iso-2022-jp") NIL NIL "7bit" 89 2 NIL NIL NIL NIL)' +
          '("image" "jpeg" ("name" "white_cat.jpg") NIL NIL "base64" 456 NIL ("inline" ("filename" "white_cat.jpg")) NIL NIL)' +
          '("application" "pdf" ("name" "20110628.pdf") NIL NIL "base64" 596 NIL ("inline" ("filename" "20110628.pdf")) NIL NIL)' +
          ' "mixed" ("boundary" "Mail-12345678") NIL NIL NIL)',
      );
      expect(formatBodyStructure(root, false)).toBe(
        '(("text" "plain" ("charset" "iso-2022-jp") NIL NIL "7bit" 89 2)' +
          '("image" "jpeg" ("name" "white_cat.jpg") NIL NIL "base64" 456)' +
          '("application" "pdf" ("name" "20110628.pdf") NIL NIL "base64" 596) "mixed")',
      );
    });

    it("finds 'テスト' in the ISO-2022-JP body and Subject", () => {
      const subject = parsed.searchText.headers.find((h) => h.name === 'subject');
      expect(subject?.value).toBe('テストメール');
      expect(finds(parsed.searchText.body, 'テスト')).toBe(true);
      expect(parsed.searchText.body).toContain('これはテストメールです。');
      expect(finds(searchHeaderText(parsed.searchText), 'テスト')).toBe(true);
      // the attachments are not text: their base64 is not searchable
      expect(parsed.searchText.body).not.toContain('/9j/4aaq');
    });
  });

  describe('nested-alternative-rfc822.eml', () => {
    const raw = load('nested-alternative-rfc822.eml');
    const parsed = parseMessage(raw);
    const { root } = parsed;

    it('numbers the alternative, the attached message and its body per RFC 3501 §6.4.5', () => {
      expect(sections(root)).toEqual([
        ':multipart/mixed',
        '1:multipart/alternative',
        '1.1:text/plain',
        '1.2:text/html',
        '2:message/rfc822',
        '2.1:text/plain',
        '3:application/octet-stream',
      ]);
    });

    it('keeps preamble and epilogue out of the parts but inside the multipart', () => {
      expect(
        body(raw, root).startsWith('This is the preamble; a MIME reader ignores it.\r\n--outer\r\n'),
      ).toBe(true);
      expect(body(raw, root).endsWith('--outer--\r\nThis is the epilogue.\r\n')).toBe(true);
      const alternative = part(root, '1');
      expect(header(raw, alternative)).toBe('Content-Type: multipart/alternative; boundary="alt"\r\n\r\n');
      expect(body(raw, alternative).endsWith('</b></p>\r\n--alt--\r\n')).toBe(true);
    });

    it('slices the quoted-printable and 8-bit HTML parts exactly', () => {
      const plain = part(root, '1.1');
      expect(body(raw, plain)).toBe(
        'Gr=C3=BC=C3=9Fe aus M=C3=BCnchen =E2=80=94 a line long enough that quoted-p=\r\n' +
          'rintable has to wrap it with a soft line break somewhere in the middle.\r\nZweite Zeile.\r\n',
      );
      expect(plain.lines).toBe(3);
      const html = part(root, '1.2');
      expect(new TextDecoder().decode(raw.subarray(html.bodyStart, html.bodyEnd))).toBe(
        '<p>Grüße aus <b>München</b></p>',
      );
      expect(html.lines).toBe(0);
    });

    it('exposes the attached message with its own envelope, header and body', () => {
      const attached = part(root, '2');
      expect(body(raw, attached)).toBe(
        'From: carol@example.net\r\nTo: juergen@example.de\r\nSubject: forwarded original\r\n' +
          'Date: Mon, 1 Aug 2011 08:00:00 +0000\r\nMessage-ID: <orig@example.net>\r\n\r\nThe forwarded body.',
      );
      expect(attached.message?.envelope.subject).toBe('forwarded original');
      expect(attached.message?.envelope.from).toEqual([
        { name: null, adl: null, mailbox: 'carol', host: 'example.net' },
      ]);
      const nested = attached.message!.root;
      expect(header(raw, nested).endsWith('Message-ID: <orig@example.net>\r\n\r\n')).toBe(true);
      expect(nested.section).toBe('2.1');
      expect(body(raw, part(root, '2.1'))).toBe('The forwarded body.');
    });

    it('keeps the RFC 2231 filename encoded for BODYSTRUCTURE and decoded for use', () => {
      const attachment = part(root, '3');
      expect(attachment.disposition).toEqual({
        type: 'attachment',
        params: [{ name: 'filename*', value: "UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.bin" }],
      });
      expect(attachment.decodedSize).toBe(256);
      expect(body(raw, attachment).startsWith('AAECAwQFBgcI')).toBe(true);
    });

    it('writes the envelope with the folded Subject unfolded and encoded words as written', () => {
      expect(formatEnvelope(parsed.envelope)).toBe(
        '("Tue, 2 Aug 2011 09:00:00 +0200" "=?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?= and ASCII continued on a folded line" ' +
          '(("=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=" NIL "juergen" "example.de")) ' +
          '(("=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=" NIL "juergen" "example.de")) ' +
          '(("=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=" NIL "juergen" "example.de")) ' +
          '(("Alice Example" NIL "alice" "example.com")(NIL NIL "bob" "example.org")) NIL NIL ' +
          '"<jp-attachments@nikkeibp.example>" "<nested@example.de>")',
      );
    });

    it('writes the full BODYSTRUCTURE with the nested envelope and body', () => {
      expect(formatBodyStructure(root, true)).toBe(
        '((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 166 3 NIL NIL NIL NIL)' +
          '("text" "html" ("charset" "utf-8") NIL NIL "8bit" 34 0 NIL NIL NIL NIL)' +
          ' "alternative" ("boundary" "alt") NIL NIL NIL)' +
          '("message" "rfc822" NIL NIL NIL "7bit" 169 ("Mon, 1 Aug 2011 08:00:00 +0000" "forwarded original" ' +
          '((NIL NIL "carol" "example.net")) ((NIL NIL "carol" "example.net")) ((NIL NIL "carol" "example.net")) ' +
          '((NIL NIL "juergen" "example.de")) NIL NIL NIL "<orig@example.net>") ' +
          '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 19 0 NIL NIL NIL NIL) 6 NIL ("attachment" NIL) NIL NIL)' +
          '("application" "octet-stream" NIL NIL NIL "base64" 344 NIL ' +
          '("attachment" ("filename*" "UTF-8\'\'%E8%A6%8B%E7%A9%8D%E6%9B%B8.bin")) NIL NIL)' +
          ' "mixed" ("boundary" "outer") NIL NIL NIL)',
      );
    });

    it('searches decoded quoted-printable, HTML text and the attached message', () => {
      const text = parsed.searchText.body;
      expect(finds(text, 'GRÜSSE aus München')).toBe(true);
      expect(finds(text, 'quoted-printable has to wrap')).toBe(true); // soft line break undone
      expect(text).not.toContain('<b>');
      expect(finds(text, 'forwarded original')).toBe(true);
      expect(finds(text, 'The forwarded body')).toBe(true);
      const subject = parsed.searchText.headers.find((h) => h.name === 'subject')?.value;
      expect(subject).toBe('日本語の件名 and ascii continued on a folded line');
      expect(parsed.searchText.headers.find((h) => h.name === 'from')?.value).toBe(
        'jürgen müller <juergen@example.de>',
      );
    });
  });

  describe('utf8-headers.eml', () => {
    const raw = load('utf8-headers.eml');
    const parsed = parseMessage(raw);

    it('reads raw UTF-8 header values (RFC 6532) into the envelope', () => {
      expect(parsed.envelope.subject).toBe('会議の件について');
      expect(parsed.envelope.from).toEqual([
        { name: '山田太郎', adl: null, mailbox: 'taro', host: '例え.jp' },
      ]);
      // 8-bit text is a literal unless the session enabled UTF-8
      const subjectBytes = new TextEncoder().encode('会議の件について').length;
      expect(formatEnvelope(parsed.envelope)).toContain(`{${subjectBytes}}\r\n会議の件について`);
      expect(formatEnvelope(parsed.envelope, { utf8: true })).toContain('"会議の件について"');
    });

    it('is a single text part numbered 1', () => {
      expect(sections(parsed.root)).toEqual(['1:text/plain']);
      expect(new TextDecoder().decode(raw.subarray(parsed.root.bodyStart, parsed.root.bodyEnd))).toBe(
        '明日の会議は十時からです。\r\n',
      );
      expect(formatBodyStructure(parsed.root, true)).toBe(
        '("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 41 1 NIL NIL NIL NIL)',
      );
    });

    it("finds '会議' in Subject and body", () => {
      expect(finds(parsed.searchText.body, '会議')).toBe(true);
      expect(finds(parsed.searchText.headers.find((h) => h.name === 'subject')!.value, '会議')).toBe(true);
    });
  });

  describe('shift-jis-body.eml', () => {
    const raw = load('shift-jis-body.eml');
    const parsed = parseMessage(raw);

    it('honours Content-Type without MIME-Version, as Dovecot does', () => {
      expect(formatBodyStructure(parsed.root, false)).toBe(
        '("text" "plain" ("charset" "Shift_JIS") NIL NIL "8bit" 52 2)',
      );
    });

    it('parses From: without a space after the colon', () => {
      expect(parsed.envelope.from).toEqual([
        { name: null, adl: null, mailbox: 'sales', host: 'example.co.jp' },
      ]);
    });

    it("finds '請求書' in the Shift_JIS body and the Shift_JIS encoded-word Subject", () => {
      expect(parsed.searchText.body).toBe('お世話になっております。 請求書を送付いたします。');
      expect(finds(parsed.searchText.body, '請求書')).toBe(true);
      expect(parsed.searchText.headers.find((h) => h.name === 'subject')?.value).toBe('請求書');
    });
  });

  describe('plain-rfc822.eml', () => {
    const raw = load('plain-rfc822.eml');
    const parsed = parseMessage(raw);

    it('defaults to text/plain us-ascii and keeps the dot line as stored', () => {
      expect(formatBodyStructure(parsed.root, true)).toBe(
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 67 2 NIL NIL NIL NIL)',
      );
      expect(body(raw, parsed.root)).toBe(
        'Lunch at noon?\r\n.leading dot line must be dot-stuffed on the wire\r\n',
      );
      expect(header(raw, parsed.root).endsWith('Message-ID: <plain@example.org>\r\n\r\n')).toBe(true);
      expect(parsed.envelope.from).toEqual([{ name: 'Bob', adl: null, mailbox: 'bob', host: 'example.org' }]);
      expect(parsed.headerDate?.sentAt).toBe('2011-08-05T19:00:00.000Z');
    });
  });

  describe('malformed.eml', () => {
    const raw = load('malformed.eml');

    it('parses without throwing and keeps every offset inside the buffer', () => {
      const parsed = parseMessage(raw);
      for (const p of walkParts(parsed.root)) {
        expect(0 <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.bodyEnd).toBe(true);
        expect(p.bodyEnd).toBeLessThanOrEqual(raw.length);
      }
    });

    it('runs the unterminated last part to the end of the message, bare LF and 0xFF bytes included', () => {
      const { root } = parseMessage(raw);
      expect(sections(root)).toEqual([':multipart/mixed', '1:text/plain', '2:text/plain']);
      expect(body(raw, part(root, '1'))).toBe('VGhpcyBpcyBub3QgdmFsaWQ@@@base64!!');
      const last = part(root, '2');
      expect(body(raw, last)).toBe('body with \xff\xfe raw bytes and a bare LF here\nand here\r\n');
      expect(last.bodyEnd).toBe(raw.length);
      expect(last.lines).toBe(2);
      expect(last.decodedParams['charset']).toBe('unknown-8bit');
    });

    it('still describes the broken parts in BODYSTRUCTURE and the header in the envelope', () => {
      const parsed = parseMessage(raw);
      expect(formatBodyStructure(parsed.root, true)).toBe(
        '(("text" "plain" ("charset" "us-ascii") NIL NIL "base64" 34 0 NIL NIL NIL NIL)' +
          '("text" "plain" ("charset" "unknown-8bit") NIL NIL "7bit" 52 2 NIL NIL NIL NIL)' +
          ' "mixed" ("boundary" "never-closed") NIL NIL NIL)',
      );
      expect(parsed.envelope.subject).toBe('unterminated multipart');
      expect(parsed.searchText.headers.find((h) => h.name === 'x-bad-header-without-space')?.value).toBe(
        'value',
      );
      expect(finds(parsed.searchText.body, 'raw bytes and a bare LF here and here')).toBe(true);
    });
  });
});
