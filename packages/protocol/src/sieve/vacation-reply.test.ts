import { describe, expect, it } from 'vitest';
import { MAX_ADDRESS_FIELD_CHARS, MessageView } from './message-view.js';
import type { VacationAction } from './types.js';
import { buildVacationMessage, MAX_VACATION_FIELD_ADDRESSES, vacationSuppressed } from './vacation-reply.js';

function message(...headers: string[]): Buffer {
  return Buffer.from(
    [
      'Return-Path: <alice@example.org>',
      'From: Alice <alice@example.org>',
      'Subject: Lunch?',
      'Message-ID: <m1@example.org>',
      ...headers,
      '',
      'Shall we?',
      '',
    ].join('\r\n'),
  );
}

const own = ['bob@example.com'];
const toBob = 'To: Bob <Bob@Example.com>';

describe('vacationSuppressed on long recipient fields', () => {
  /** A To field naming `before` others, then the user, then `after` others. */
  function crowd(before: number, after = 0): string {
    const others = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => `o${from + i}@example.net`);
    const list = [...others(0, before), 'Bob <bob@example.com>', ...others(before, after)];
    return `To: ${list.join(',\r\n ')}`;
  }

  it("reads the first MAX_VACATION_FIELD_ADDRESSES addresses of a field, as Pigeonhole's vacation", () => {
    const last = message(crowd(MAX_VACATION_FIELD_ADDRESSES - 1, 500));
    expect(vacationSuppressed(last, 'alice@example.org', own, [])).toBeNull();
    const beyond = message(crowd(MAX_VACATION_FIELD_ADDRESSES));
    expect(vacationSuppressed(beyond, 'alice@example.org', own, [])).toMatch(/none of the user's addresses/);
  });

  it('applies the limit per field: the user may be early in another one', () => {
    const msg = message(crowd(MAX_VACATION_FIELD_ADDRESSES), 'Cc: bob@example.com');
    expect(vacationSuppressed(msg, 'alice@example.org', own, [])).toBeNull();
  });

  it('does not read a field past MAX_ADDRESS_FIELD_CHARS', () => {
    const msg = message(`To: ${'x'.repeat(MAX_ADDRESS_FIELD_CHARS)}, bob@example.com`);
    expect(vacationSuppressed(msg, 'alice@example.org', own, [])).toMatch(/none of the user's addresses/);
  });

  it('answers the same from a MessageView, reusing the addresses its tests read', () => {
    const view = new MessageView(message(crowd(10, 10)));
    const [to] = view.named('to');
    const read = view.addresses(to!);
    expect(vacationSuppressed(view, 'alice@example.org', own, [])).toBeNull();
    expect(view.addresses(to!)).toBe(read);
    expect(
      vacationSuppressed(new MessageView(message('To: carol@example.net')), 'alice@example.org', own, []),
    ).toMatch(/none of the user's addresses/);
  });
});

describe('vacationSuppressed', () => {
  it('allows a reply to a person who wrote to the user', () => {
    expect(vacationSuppressed(message(toBob), 'alice@example.org', own, [])).toBeNull();
  });

  it('finds the user in Cc, Bcc and Resent-* too, in groups and among others', () => {
    for (const field of [
      'Cc: carol@example.net, bob@example.com',
      'Bcc: bob@example.com',
      'Resent-To: Team: carol@example.net, "Bob B." <bob@EXAMPLE.COM>;',
      'Resent-Cc: <bob@example.com>',
    ]) {
      expect(
        vacationSuppressed(message('To: carol@example.net', field), 'alice@example.org', own, []),
      ).toBeNull();
    }
  });

  it('counts the :addresses as the user', () => {
    const msg = message('To: bob.builder@example.net');
    expect(vacationSuppressed(msg, 'alice@example.org', own, ['Bob.Builder@example.net'])).toBeNull();
  });

  it('refuses when the user is not a recipient in the header (RFC 5230 §4.5)', () => {
    expect(vacationSuppressed(message('To: list@example.net'), 'alice@example.org', own, [])).toMatch(
      /none of the user's addresses/,
    );
    expect(vacationSuppressed(message(), 'alice@example.org', own, [])).toMatch(
      /none of the user's addresses/,
    );
  });

  it('never answers the null sender', () => {
    expect(vacationSuppressed(message(toBob), '', own, [])).toMatch(/envelope sender is empty/);
    expect(vacationSuppressed(message(toBob), '<>', own, [])).toMatch(/envelope sender is empty/);
  });

  it("never answers the user's own addresses", () => {
    expect(vacationSuppressed(message(toBob), 'BOB@example.com', own, [])).toMatch(/own address/);
    expect(vacationSuppressed(message(toBob), 'b2@example.com', own, ['b2@example.com'])).toMatch(
      /own address/,
    );
  });

  it.each([
    'MAILER-DAEMON@example.org',
    'mailer-daemon@example.org',
    'owner-list@example.org',
    'list-request@example.org',
    'list-owner@example.org',
    'LISTSERV@example.org',
    'majordomo@example.org',
  ])('never answers the system sender %s', (sender) => {
    expect(vacationSuppressed(message(toBob), sender, own, [])).toMatch(/system address/);
  });

  it.each([
    'List-Id: <list.example.org>',
    'List-Unsubscribe: <mailto:x@example.org>',
    'List-Post: NO',
    'list-help: x',
  ])('never answers a list message with %s', (field) => {
    expect(vacationSuppressed(message(toBob, field), 'alice@example.org', own, [])).toMatch(/mailing list/);
  });

  it('never answers automatic messages, except Auto-Submitted: no', () => {
    for (const value of [
      'auto-replied',
      'auto-generated',
      'Auto-Replied (vacation)',
      'auto-notified; owner-email="x"',
    ]) {
      expect(
        vacationSuppressed(message(toBob, `Auto-Submitted: ${value}`), 'alice@example.org', own, []),
      ).toMatch(/automatic/);
    }
    expect(
      vacationSuppressed(message(toBob, 'Auto-Submitted: No (a person)'), 'alice@example.org', own, []),
    ).toBeNull();
  });

  it('never answers Precedence: bulk, list or junk', () => {
    for (const value of ['bulk', 'LIST', 'junk']) {
      expect(
        vacationSuppressed(message(toBob, `Precedence: ${value}`), 'alice@example.org', own, []),
      ).toMatch(/bulk mail/);
    }
    expect(
      vacationSuppressed(message(toBob, 'Precedence: first-class'), 'alice@example.org', own, []),
    ).toBeNull();
  });

  it('honours X-Auto-Response-Suppress OOF and All', () => {
    for (const value of ['OOF', 'DR, OOF', 'All']) {
      expect(
        vacationSuppressed(
          message(toBob, `X-Auto-Response-Suppress: ${value}`),
          'alice@example.org',
          own,
          [],
        ),
      ).toMatch(/no automatic replies/);
    }
    expect(
      vacationSuppressed(message(toBob, 'X-Auto-Response-Suppress: DR, NDR'), 'alice@example.org', own, []),
    ).toBeNull();
  });
});

const action: VacationAction = {
  type: 'vacation',
  to: 'alice@example.org',
  from: null,
  subject: null,
  reason: "I'm away until Monday.\nBack soon.",
  mime: false,
  handle: 'h',
  seconds: 7 * 86400,
  inReplyTo: '<m1@example.org>',
  references: '<m0@example.org>',
  originalSubject: 'Lunch?',
};

const opts = {
  from: 'bob@example.com',
  date: new Date(Date.UTC(2026, 0, 5, 9, 30)),
  messageId: 'r1@example.com',
};

function text(buffer: Buffer): string {
  return buffer.toString('utf8');
}

describe('buildVacationMessage', () => {
  it('builds a plain-text auto-reply (RFC 5230 §5)', () => {
    expect(text(buildVacationMessage(action, opts))).toBe(
      [
        'Date: Mon, 05 Jan 2026 09:30:00 +0000',
        'From: <bob@example.com>',
        'To: <alice@example.org>',
        'Subject: Auto: Lunch?',
        'Message-ID: <r1@example.com>',
        'In-Reply-To: <m1@example.org>',
        'References: <m0@example.org> <m1@example.org>',
        'Auto-Submitted: auto-replied (vacation)',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=us-ascii',
        'Content-Transfer-Encoding: 7bit',
        '',
        "I'm away until Monday.",
        'Back soon.',
        '',
      ].join('\r\n'),
    );
  });

  it('uses :from and :subject, encoding non-ASCII ones', () => {
    const reply = text(
      buildVacationMessage(
        { ...action, from: 'Böb Büilder <bob@example.com>', subject: 'Abwesend – zurück am Montag' },
        opts,
      ),
    );
    expect(reply).toContain('From: =?UTF-8?Q?B=C3=B6b_B=C3=BCilder?= <bob@example.com>\r\n');
    expect(reply).toContain('\r\nSubject: Abwesend =?UTF-8?Q?=E2=80=93_zur=C3=BCck?= am Montag\r\n');
    expect(reply).not.toMatch(/[\u0080-\uffff]/);
  });

  it('prefixes the decoded original subject and re-encodes it', () => {
    const reply = text(buildVacationMessage({ ...action, originalSubject: '=?ISO-8859-1?Q?Caf=E9?=' }, opts));
    expect(reply).toContain('Subject: Auto: =?UTF-8?Q?Caf=C3=A9?=\r\n');
  });

  it('says "Automated reply" when the original had no subject, and omits threading it lacks', () => {
    const reply = text(
      buildVacationMessage({ ...action, originalSubject: null, inReplyTo: null, references: null }, opts),
    );
    expect(reply).toContain('Subject: Automated reply\r\n');
    expect(reply).not.toContain('In-Reply-To');
    expect(reply).not.toContain('References');
  });

  it('encodes a non-ASCII reason as quoted-printable UTF-8 with short lines', () => {
    const reason = `Je suis absent jusqu'à lundi. ${'très '.repeat(300)}\nFin. `;
    const reply = text(buildVacationMessage({ ...action, reason }, opts));
    expect(reply).toContain(
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n',
    );
    const body = reply.slice(reply.indexOf('\r\n\r\n') + 4);
    expect(body.startsWith("Je suis absent jusqu'=C3=A0 lundi.")).toBe(true);
    expect(body.endsWith('Fin.=20\r\n')).toBe(true);
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    const decoded = Buffer.from(
      body
        .replace(/=\r\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
    expect(decoded).toBe(reason.replace('\n', '\r\n') + '\r\n');
  });

  it('uses quoted-printable for an ASCII reason with a line over 998 characters', () => {
    const reply = text(buildVacationMessage({ ...action, reason: 'x'.repeat(2000) }, opts));
    expect(reply).toContain('Content-Transfer-Encoding: quoted-printable');
    for (const line of reply.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
  });

  it('takes the content header fields of a :mime reason (RFC 5230 §4.8)', () => {
    const reason = [
      'Content-Type: multipart/alternative; boundary=XX',
      'From: evil@example.net',
      '',
      '--XX',
      'Content-Type: text/plain',
      '',
      'Away.',
      '--XX--',
    ].join('\n');
    const reply = text(buildVacationMessage({ ...action, mime: true, reason }, opts));
    expect(reply).toContain(
      'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nAway.\r\n--XX--\r\n',
    );
    expect(reply).not.toContain('evil@example.net');
  });

  it('keeps header fields on lines of at most 78 characters', () => {
    const references = Array.from({ length: 20 }, (_, i) => `<message-${i}@mail.example.org>`).join(' ');
    const reply = text(buildVacationMessage({ ...action, references, subject: 'word '.repeat(40) }, opts));
    const head = reply.slice(0, reply.indexOf('\r\n\r\n'));
    for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(head).toContain('<message-19@mail.example.org>');
  });

  it('cannot be made to add header fields through line breaks', () => {
    const reply = text(buildVacationMessage({ ...action, subject: 'Hi\r\nBcc: victim@example.net' }, opts));
    expect(reply).not.toMatch(/\r\nBcc:/);
  });
});
