// The messages bench/imap/own-mailbox.sh seeds (and engine-cpu.ts serves): the shared
// corpus (multipart with attachments, nested alternative, 8-bit and encoded headers,
// plain) plus a ~10 KB plain-text message and a ~40 KB message with a base64 attachment.
import { readdirSync, readFileSync } from 'node:fs';

/** Where a user's messages go, as fractions of the total (the rest is INBOX). */
export const FOLDERS: readonly [string, number][] = [
  ['Sent', 0.15],
  ['Archive', 0.15],
  ['Drafts', 0.05],
  ['Trash', 0.05],
];

export function messageShapes(): Buffer[] {
  const corpus = new URL('../../../shared/corpus/', import.meta.url);
  const shapes = readdirSync(corpus)
    .filter((f) => f.endsWith('.eml') && f !== 'malformed.eml')
    .sort()
    .map((f): Buffer => readFileSync(new URL(f, corpus)));
  shapes.push(textMessage(10_000), attachmentMessage(30_000));
  return shapes;
}

function textMessage(size: number): Buffer {
  const line = 'The quarterly figures are attached below; please check the totals before Friday.\r\n';
  return Buffer.from(
    'From: Alice Example <alice@example.org>\r\nTo: Bob Example <bob@bench.test>\r\n' +
      'Subject: Quarterly figures, a long plain-text message\r\nDate: Tue, 01 Dec 2026 09:30:00 +0000\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
      line.repeat(Math.ceil(size / line.length)),
  );
}

function attachmentMessage(size: number): Buffer {
  const data = Buffer.alloc(size, 'tegami-bench-attachment').toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    'From: Carol Example <carol@example.net>\r\nTo: bench@bench.test, Dave <dave@example.com>\r\n' +
      'Cc: Eve <eve@example.org>\r\nSubject: Report with an attachment\r\nDate: Wed, 02 Dec 2026 14:00:00 +0100\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
      '--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the attached report.\r\n' +
      '--b1\r\nContent-Type: application/pdf; name="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n' +
      `Content-Disposition: attachment; filename="report.pdf"\r\n\r\n${data}\r\n--b1--\r\n`,
  );
}
