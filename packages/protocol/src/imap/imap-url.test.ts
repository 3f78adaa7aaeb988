import { describe, expect, it } from 'vitest';
import { badUrlText, parseMessageUrl } from './imap-url.js';

describe('CATENATE URLs (RFC 4469 §5, RFC 5092)', () => {
  it('reads the RFC 4469 example: mailbox, UIDVALIDITY, UID and a section', () => {
    expect(parseMessageUrl('/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.MIME')).toEqual({
      mailbox: 'INBOX',
      uidValidity: 385759045,
      uid: 20,
      section: { part: [1], text: 'MIME' },
      partial: undefined,
    });
  });

  it('reads a whole message without UIDVALIDITY, keywords in any case', () => {
    expect(parseMessageUrl('/Sent/;uid=7')).toMatchObject({
      mailbox: 'Sent',
      uidValidity: undefined,
      uid: 7,
    });
  });

  it('decodes the mailbox as percent-encoded UTF-8 with "/" between levels', () => {
    expect(parseMessageUrl('/Archive/2025/%E6%89%8B%E7%B4%99;UIDVALIDITY=9/;UID=1')).toMatchObject({
      mailbox: 'Archive/2025/手紙',
      uidValidity: 9,
    });
  });

  it('reads a percent-encoded section and a partial range', () => {
    expect(
      parseMessageUrl('/INBOX/;UID=3/;SECTION=HEADER.FIELDS%20(FROM%20TO)/;PARTIAL=10.20'),
    ).toMatchObject({
      section: { part: [], text: 'HEADER.FIELDS', fields: ['FROM', 'TO'] },
      partial: { offset: 10, length: 20 },
    });
  });

  it('reads a URL relative to the selected mailbox', () => {
    expect(parseMessageUrl(';UID=20/;SECTION=TEXT')).toMatchObject({
      mailbox: undefined,
      uid: 20,
      section: { part: [], text: 'TEXT' },
    });
  });

  it.each([
    'imap://alice@imap.example.org/INBOX/;UID=1',
    '/INBOX',
    '/INBOX;UIDVALIDITY=0/;UID=1',
    '/INBOX/;UID=0',
    '/INBOX/;UID=99999999999',
    '/INBOX/;UID=1/;SECTION=0',
    '/INBOX/;UID=1/;SECTION=BOGUS',
    '/INBOX/;UID=1/;PARTIAL=1.0',
    '/INBOX/;UID=1/extra',
    '/IN%ZZBOX/;UID=1',
    '/%FF/;UID=1',
    '/;UID=1',
    '',
  ])('refuses %j', (url) => {
    expect(parseMessageUrl(url)).toBeUndefined();
  });

  it('keeps a BADURL response code whole: no "]" and no line breaks from the client', () => {
    expect(badUrlText('/INBOX/;UID=1]\r\n* BYE')).toBe('/INBOX/;UID=1%5D%0D%0A* BYE');
    expect(badUrlText('/INBOX;UIDVALIDITY=1/;UID=20')).toBe('/INBOX;UIDVALIDITY=1/;UID=20');
  });
});
