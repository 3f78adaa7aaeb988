import { describe, expect, it } from 'vitest';
import { parseImapSourceUrl } from './imap-source-url.js';

describe('the source URL of tegami import imap', () => {
  it('takes imaps://user@host with the implicit-TLS port by default', () => {
    expect(parseImapSourceUrl('imaps://alice@Mail.Old.Example')).toEqual({
      ok: true,
      source: {
        implicitTls: true,
        host: 'mail.old.example',
        port: 993,
        user: 'alice',
        key: 'alice@mail.old.example:993',
        display: 'imaps://alice@mail.old.example:993',
      },
    });
  });

  it('takes imap:// (STARTTLS) on 143 or the port given, and a percent-encoded login', () => {
    const parsed = parseImapSourceUrl('imap://alice%40old.example@192.0.2.7:1143');
    expect(parsed).toMatchObject({
      ok: true,
      source: { implicitTls: false, host: '192.0.2.7', port: 1143, user: 'alice@old.example' },
    });
    expect(parseImapSourceUrl('imap://bob@old.example')).toMatchObject({ source: { port: 143 } });
  });

  it('connects to an IPv6 address without its brackets', () => {
    expect(parseImapSourceUrl('imaps://alice@[2001:db8::1]:993')).toMatchObject({
      ok: true,
      source: { host: '2001:db8::1', key: 'alice@[2001:db8::1]:993' },
    });
  });

  it('refuses a password in the URL, where ps and the shell history would show it', () => {
    const parsed = parseImapSourceUrl('imaps://alice:secret@mail.old.example');
    expect(parsed).toMatchObject({ ok: false, problem: expect.stringMatching(/no password in the URL/) });
  });

  it('refuses other schemes, a missing user, a path and a bad port', () => {
    expect(parseImapSourceUrl('pop3://alice@host')).toMatchObject({
      ok: false,
      problem: /imaps:\/\/ or imap:\/\//,
    });
    expect(parseImapSourceUrl('imaps://host')).toMatchObject({ ok: false, problem: /names no user/ });
    expect(parseImapSourceUrl('imaps://alice@host/INBOX')).toMatchObject({ ok: false, problem: /--folder/ });
    expect(parseImapSourceUrl('imaps://alice@host:99999')).toMatchObject({ ok: false });
    expect(parseImapSourceUrl('mail.old.example')).toMatchObject({ ok: false, problem: /not a URL/ });
  });
});
