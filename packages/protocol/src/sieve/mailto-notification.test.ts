import { describe, expect, it } from 'vitest';
import { buildMailtoNotification, validMailtoUri } from './mailto-notification.js';

const opts = {
  from: 'bob@example.com',
  date: new Date(Date.UTC(2026, 0, 5, 9, 30)),
  messageId: 'n1@example.com',
};
const original = { subject: 'Quarterly figures', from: 'Alice <alice@example.org>' };

function notify(
  method: string,
  extra: Partial<{ from: string | null; importance: 1 | 2 | 3; message: string | null }> = {},
) {
  return buildMailtoNotification(
    { method, from: null, importance: 2, message: null, ...extra },
    original,
    opts,
  );
}

function text(result: ReturnType<typeof notify>): string {
  if (result === null) throw new Error('no notification');
  return result.message.toString('utf8');
}

describe('validMailtoUri', () => {
  it.each([
    'mailto:alm@example.com',
    'MAILTO:alm@example.com',
    'mailto:alm@example.com,bob@example.net',
    'mailto:?to=alm@example.com',
    'mailto:alm@example.com?subject=Hello%20there&body=Line%201%0D%0ALine%202',
    'mailto:alm@example.com?cc=carol@example.net&X-Tag=sieve',
    'mailto:Al%20M%20%3Calm@example.com%3E',
    'mailto:alm@example.com?from=evil@example.net',
    'mailto:',
  ])('accepts %s', (uri) => {
    expect(validMailtoUri(uri)).toBe(true);
  });

  it.each([
    'xmpp:alm@example.com',
    'mailto:not-an-address',
    'mailto:alm@example.com?subject=a b',
    'mailto:alm@example.com?subject=%ZZ',
    'mailto:alm@example.com?subject=%C3',
    'mailto:alm@example.com?subject',
    'mailto:alm@example.com?subject=a&subject=b',
    'mailto:alm@example.com?X-Evil=a%0D%0ABcc:%20victim@example.net',
    'mailto:alm@example.com?cc=nobody',
    `mailto:${Array.from({ length: 9 }, (_, i) => `u${i}@example.com`).join(',')}`,
    `mailto:alm@example.com?${Array.from({ length: 17 }, (_, i) => `X-H${i}=v`).join('&')}`,
  ])('refuses %s', (uri) => {
    expect(validMailtoUri(uri)).toBe(false);
  });
});

describe('buildMailtoNotification', () => {
  it('notifies the URI recipient with a summary of the message (RFC 5436)', () => {
    const result = notify('mailto:alm@example.com');
    expect(result!.recipients).toEqual(['alm@example.com']);
    expect(text(result)).toBe(
      [
        'Date: Mon, 05 Jan 2026 09:30:00 +0000',
        'From: <bob@example.com>',
        'To: <alm@example.com>',
        'Subject: Notification: Quarterly figures',
        'Message-ID: <n1@example.com>',
        'Auto-Submitted: auto-notified; owner-email="bob@example.com"',
        'X-Priority: 3 (Normal)',
        'Importance: Normal',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=us-ascii',
        'Content-Transfer-Encoding: 7bit',
        '',
        'You have received a new message.',
        '',
        'From: Alice <alice@example.org>',
        'Subject: Quarterly figures',
        '',
      ].join('\r\n'),
    );
  });

  it('uses :message as subject and body, before the URI subject', () => {
    const message = text(notify('mailto:alm@example.com?subject=From%20URI', { message: 'Boss wrote' }));
    expect(message).toContain('\r\nSubject: Boss wrote\r\n');
    expect(message.endsWith('\r\n\r\nBoss wrote\r\n')).toBe(true);
  });

  it('uses the URI subject and body when there is no :message', () => {
    const message = text(
      notify('mailto:alm@example.com?subject=Caf%C3%A9%20news&body=Line%201%0D%0ALine%202'),
    );
    expect(message).toContain('\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= news\r\n');
    expect(message.endsWith('\r\n\r\nLine 1\r\nLine 2\r\n')).toBe(true);
  });

  it('maps :importance to X-Priority and Importance', () => {
    expect(text(notify('mailto:alm@example.com', { importance: 1 }))).toContain(
      'X-Priority: 1 (Highest)\r\nImportance: High\r\n',
    );
    expect(text(notify('mailto:alm@example.com', { importance: 3 }))).toContain(
      'X-Priority: 5 (Lowest)\r\nImportance: Low\r\n',
    );
  });

  it('sends to To and Cc of the URI, each address once, and uses :from', () => {
    const result = notify(
      'mailto:Alm@Example.com,Al%20M%20%3Calm@example.com%3E?to=dee@example.net&cc=carol@example.net',
      {
        from: 'Bob <bob@example.com>',
      },
    );
    expect(result!.recipients).toEqual(['Alm@example.com', 'dee@example.net', 'carol@example.net']);
    const message = text(result);
    expect(message).toContain('\r\nFrom: Bob <bob@example.com>\r\n');
    expect(message).toContain('\r\nTo: <Alm@Example.com>, Al M <alm@example.com>, <dee@example.net>\r\n');
    expect(message).toContain('\r\nCc: <carol@example.net>\r\n');
  });

  it('adds harmless URI header fields and ignores the reserved ones (RFC 5436 §2.7)', () => {
    const message = text(
      notify(
        'mailto:alm@example.com?X-Tag=sieve&Reply-To=help@example.com&From=evil@example.net&Bcc=spy@example.net&Auto-Submitted=no&Content-Type=text/html',
      ),
    );
    expect(message).toContain('\r\nX-Tag: sieve\r\nReply-To: help@example.com\r\nMIME-Version: 1.0\r\n');
    expect(message).not.toContain('evil@example.net');
    expect(message).not.toContain('spy@example.net');
    expect(message).not.toContain('Auto-Submitted: no');
    expect(message).not.toContain('text/html');
  });

  it('answers null for an invalid URI or one without recipients', () => {
    expect(notify('mailto:?subject=nobody')).toBeNull();
    expect(notify('mailto:not-an-address')).toBeNull();
  });

  it('says (no subject) when the original has none', () => {
    const result = buildMailtoNotification(
      { method: 'mailto:alm@example.com', from: null, importance: 2, message: null },
      { subject: null, from: null },
      opts,
    );
    const message = text(result);
    expect(message).toContain('\r\nSubject: Notification: (no subject)\r\n');
    expect(message).toContain('From: (unknown)\r\nSubject: (no subject)\r\n');
  });
});
