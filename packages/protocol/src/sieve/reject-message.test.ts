import { describe, expect, it } from 'vitest';
import { parseMimeTree } from '../mime/mime-tree.js';
import { buildRejectMessage } from './reject-message.js';

const original = Buffer.from(
  [
    'Return-Path: <jim@example.com>',
    'From: Jim <jim@example.com>',
    'To: tim@example.org',
    'Subject: Birdseed',
    'Message-ID: <b1@example.com>',
    '',
    'Would you like some birdseed?',
    '',
  ].join('\r\n'),
);

const opts = {
  reason: "I am not taking mail from you, and I don't\nwant your birdseed, either!",
  recipient: 'tim@example.org',
  reportingHost: 'mx.example.org',
  date: new Date(Date.UTC(2004, 2, 2, 0, 2, 39)),
  messageId: '<reject-1@mx.example.org>',
  originalSender: 'jim@example.com',
};

function text(buffer: Buffer): string {
  return buffer.toString('utf8');
}

describe('buildRejectMessage', () => {
  it('builds the RFC 5429 §2.1.1 disposition notification', () => {
    const reject = text(buildRejectMessage(original, opts));
    const boundary = /boundary="([^"]+)"/.exec(reject)![1]!;
    expect(reject).toBe(
      [
        'Date: Tue, 02 Mar 2004 00:02:39 +0000',
        'From: Mail Delivery System <MAILER-DAEMON@mx.example.org>',
        'To: <jim@example.com>',
        'Subject: Rejected: Birdseed',
        'Message-ID: <reject-1@mx.example.org>',
        'In-Reply-To: <b1@example.com>',
        'Auto-Submitted: auto-replied (rejected)',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=disposition-notification;',
        `\tboundary="${boundary}"`,
        '',
        'This is a MIME-encapsulated message.',
        '',
        `--${boundary}`,
        'Content-Type: text/plain; charset=us-ascii',
        'Content-Transfer-Encoding: 7bit',
        'Content-Disposition: inline',
        '',
        'Your message to <tim@example.org> was automatically rejected:',
        '',
        "I am not taking mail from you, and I don't",
        'want your birdseed, either!',
        '',
        `--${boundary}`,
        'Content-Type: message/disposition-notification',
        '',
        'Reporting-UA: mx.example.org; Tegami Sieve',
        'Final-Recipient: rfc822; tim@example.org',
        'Original-Message-ID: <b1@example.com>',
        'Disposition: automatic-action/MDN-sent-automatically; deleted',
        '',
        `--${boundary}`,
        'Content-Type: text/rfc822-headers',
        '',
        'Return-Path: <jim@example.com>',
        'From: Jim <jim@example.com>',
        'To: tim@example.org',
        'Subject: Birdseed',
        'Message-ID: <b1@example.com>',
        '',
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
  });

  it('is a well-formed multipart/report with three parts', () => {
    const tree = parseMimeTree(buildRejectMessage(original, opts));
    expect(tree.type).toBe('multipart');
    expect(tree.subtype).toBe('report');
    expect(tree.children.map((part) => `${part.type}/${part.subtype}`)).toEqual([
      'text/plain',
      'message/disposition-notification',
      'text/rfc822-headers',
    ]);
  });

  it('is reproducible for the same message id', () => {
    expect(buildRejectMessage(original, opts).equals(buildRejectMessage(original, opts))).toBe(true);
  });

  it('encodes a non-ASCII reason and subject, and uses a given From', () => {
    const withUnicode = Buffer.from(
      original.toString().replace('Subject: Birdseed', 'Subject: =?UTF-8?Q?Vogelfutter_f=C3=BCr_dich?='),
    );
    const reject = text(
      buildRejectMessage(withUnicode, {
        ...opts,
        reason: 'Keine Werbung, danke – nie.',
        from: 'postmaster@example.org',
      }),
    );
    expect(reject).toContain('From: <postmaster@example.org>\r\n');
    expect(reject).toContain('Subject: Rejected: Vogelfutter =?UTF-8?Q?f=C3=BCr?= dich\r\n');
    expect(reject).toContain(
      'Content-Transfer-Encoding: quoted-printable\r\nContent-Disposition: inline\r\n',
    );
    expect(reject).toContain('Keine Werbung, danke =E2=80=93 nie.');
    expect(reject).not.toMatch(/[\u0080-\uffff]/);
  });

  it('copies only the header of an LF-only original, with CRLF line ends', () => {
    const lfOnly = Buffer.from('From: jim@example.com\nSubject: Hi\n\nsecret body\n');
    const reject = text(buildRejectMessage(lfOnly, opts));
    expect(reject).toContain(
      'Content-Type: text/rfc822-headers\r\n\r\nFrom: jim@example.com\r\nSubject: Hi\r\n\r\n--',
    );
    expect(reject).not.toContain('secret body');
    expect(reject).toContain('Subject: Rejected: Hi\r\n');
    expect(reject).not.toContain('Original-Message-ID');
  });

  it('says "Automatically rejected mail" when the original has no subject', () => {
    const reject = text(buildRejectMessage(Buffer.from('From: jim@example.com\r\n\r\nx\r\n'), opts));
    expect(reject).toContain('Subject: Automatically rejected mail\r\n');
  });
});
