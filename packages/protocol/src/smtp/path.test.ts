import { describe, expect, it } from 'vitest';
import { parseCommand } from './command.js';
import { normalizeAddressLiteral, readForwardPath, readReversePath } from './path.js';

const badSender = {
  ok: false,
  reply: { code: 501, enhanced: '5.1.7', lines: ['Bad sender address syntax'] },
};
const badRecipient = {
  ok: false,
  reply: { code: 501, enhanced: '5.1.3', lines: ['Bad recipient address syntax'] },
};

describe('reverse-path and forward-path (RFC 5321 §4.1.2)', () => {
  it('reads a plain mailbox, lower-casing the domain but keeping the wire text', () => {
    expect(parseCommand('MAIL FROM:<Alice.Smith@Example.ORG>')).toEqual({
      ok: true,
      command: {
        verb: 'MAIL',
        from: {
          kind: 'mailbox',
          mailbox: {
            localPart: 'Alice.Smith',
            domain: 'example.org',
            text: 'Alice.Smith@Example.ORG',
            utf8: false,
          },
        },
        params: { smtputf8: false },
      },
    });
  });

  it('reads <> as the null reverse-path', () => {
    expect(parseCommand('MAIL FROM:<>')).toEqual({
      ok: true,
      command: { verb: 'MAIL', from: { kind: 'null' }, params: { smtputf8: false } },
    });
  });

  it('refuses <> as a recipient', () => {
    expect(parseCommand('RCPT TO:<>')).toEqual(badRecipient);
  });

  it('reads <Postmaster> in any case as the postmaster form (§4.1.1.3)', () => {
    const postmaster = { ok: true, command: { verb: 'RCPT', to: { kind: 'postmaster' }, params: {} } };
    expect(parseCommand('RCPT TO:<Postmaster>')).toEqual(postmaster);
    expect(parseCommand('RCPT TO:<postmaster>')).toEqual(postmaster);
    expect(parseCommand('RCPT TO:<POSTMASTER>')).toEqual(postmaster);
  });

  it('reads <Postmaster@domain> as an ordinary mailbox', () => {
    expect(parseCommand('RCPT TO:<Postmaster@example.org>')).toEqual({
      ok: true,
      command: {
        verb: 'RCPT',
        to: {
          kind: 'mailbox',
          mailbox: {
            localPart: 'Postmaster',
            domain: 'example.org',
            text: 'Postmaster@example.org',
            utf8: false,
          },
        },
        params: {},
      },
    });
  });

  it('refuses <Postmaster> as a sender: it has no domain', () => {
    expect(parseCommand('MAIL FROM:<Postmaster>')).toEqual(badSender);
  });

  it('accepts and ignores a source route (§4.1.1.3, appendix C)', () => {
    expect(parseCommand('RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>')).toEqual({
      ok: true,
      command: {
        verb: 'RCPT',
        to: {
          kind: 'mailbox',
          mailbox: { localPart: 'userc', domain: 'd.bar.org', text: 'userc@d.bar.org', utf8: false },
        },
        params: {},
      },
    });
    expect(parseCommand('MAIL FROM:<@relay.example:joe@example.com>')).toEqual({
      ok: true,
      command: {
        verb: 'MAIL',
        from: {
          kind: 'mailbox',
          mailbox: { localPart: 'joe', domain: 'example.com', text: 'joe@example.com', utf8: false },
        },
        params: { smtputf8: false },
      },
    });
  });

  it('refuses malformed source routes', () => {
    expect(parseCommand('RCPT TO:<@hosta.int,jkl.org:userc@d.bar.org>')).toEqual(badRecipient);
    expect(parseCommand('RCPT TO:<@hosta.int userc@d.bar.org>')).toEqual(badRecipient);
    expect(parseCommand('RCPT TO:<@:userc@d.bar.org>')).toEqual(badRecipient);
    expect(parseCommand('RCPT TO:<@hosta.int:Postmaster>')).toEqual(badRecipient);
  });

  it('reads a quoted local part with spaces and quoted-pairs, keeping minimal quoting', () => {
    expect(parseCommand('MAIL FROM:<"john \\"jd\\" doe"@example.org>')).toEqual({
      ok: true,
      command: {
        verb: 'MAIL',
        from: {
          kind: 'mailbox',
          mailbox: {
            localPart: '"john \\"jd\\" doe"',
            domain: 'example.org',
            text: '"john \\"jd\\" doe"@example.org',
            utf8: false,
          },
        },
        params: { smtputf8: false },
      },
    });
  });

  it('drops the quotes of a quoted local part that is a dot-string ("bob" is bob)', () => {
    expect(parseCommand('RCPT TO:<"b\\ob.smith"@example.org>')).toEqual({
      ok: true,
      command: {
        verb: 'RCPT',
        to: {
          kind: 'mailbox',
          mailbox: {
            localPart: 'bob.smith',
            domain: 'example.org',
            text: '"b\\ob.smith"@example.org',
            utf8: false,
          },
        },
        params: {},
      },
    });
  });

  it('keeps > and @ inside a quoted local part', () => {
    expect(parseCommand('RCPT TO:<"a>b@c"@example.org> NOTIFY=NEVER')).toEqual({
      ok: true,
      command: {
        verb: 'RCPT',
        to: {
          kind: 'mailbox',
          mailbox: { localPart: '"a>b@c"', domain: 'example.org', text: '"a>b@c"@example.org', utf8: false },
        },
        params: { notify: 'NEVER' },
      },
    });
  });

  it('refuses malformed local parts', () => {
    for (const path of [
      '<a..b@example.org>',
      '<.a@example.org>',
      '<a.@example.org>',
      '<a b@example.org>',
      '<a(b)@example.org>',
      '<"unterminated@example.org>',
      '<"a"b@example.org>',
      '<"tab\there"@example.org>',
      '<"bad\\\u0001pair"@example.org>',
      '<@example.org>',
      '<example.org>',
      '<a@b@example.org>',
    ]) {
      expect(parseCommand(`MAIL FROM:${path}`), path).toEqual(badSender);
    }
  });

  it('refuses malformed domains', () => {
    for (const path of [
      '<a@>',
      '<a@example..org>',
      '<a@.example.org>',
      '<a@example.org.>',
      '<a@-example.org>',
      '<a@exa_mple.org>',
      '<a@example.org',
      '<a@exa mple.org>',
      '<a@192.0.2.1>',
      '<a@[192.0.2.256]>',
      '<a@[192.0.2]>',
      '<a@[IPv6:1:2:3:4:5:6:7:8:9]>',
      '<a@[IPv6:1::2::3]>',
      '<a@[x-tag:stuff]>',
      '<a@[192.0.2.1>',
    ]) {
      expect(parseCommand(`RCPT TO:${path}`), path).toEqual(badRecipient);
    }
  });

  it('reads address literals, IPv4 as given and IPv6 with lower-case hex', () => {
    expect(parseCommand('RCPT TO:<root@[192.0.2.1]>')).toEqual({
      ok: true,
      command: {
        verb: 'RCPT',
        to: {
          kind: 'mailbox',
          mailbox: { localPart: 'root', domain: '[192.0.2.1]', text: 'root@[192.0.2.1]', utf8: false },
        },
        params: {},
      },
    });
    expect(parseCommand('RCPT TO:<root@[ipv6:2001:DB8::1]>')).toEqual({
      ok: true,
      command: {
        verb: 'RCPT',
        to: {
          kind: 'mailbox',
          mailbox: {
            localPart: 'root',
            domain: '[IPv6:2001:db8::1]',
            text: 'root@[ipv6:2001:DB8::1]',
            utf8: false,
          },
        },
        params: {},
      },
    });
  });

  it('flags UTF-8 addresses (RFC 6531) and stores the domain as A-labels', () => {
    expect(parseCommand('MAIL FROM:<用户@例子.广告> SMTPUTF8')).toEqual({
      ok: true,
      command: {
        verb: 'MAIL',
        from: {
          kind: 'mailbox',
          mailbox: {
            localPart: '用户',
            domain: 'xn--fsqu00a.xn--4rr70v',
            text: '用户@例子.广告',
            utf8: true,
          },
        },
        params: { smtputf8: true },
      },
    });
    expect(parseCommand('RCPT TO:<"δοκιμή test"@Bücher.example>')).toEqual({
      ok: true,
      command: {
        verb: 'RCPT',
        to: {
          kind: 'mailbox',
          mailbox: {
            localPart: '"δοκιμή test"',
            domain: 'xn--bcher-kva.example',
            text: '"δοκιμή test"@Bücher.example',
            utf8: true,
          },
        },
        params: {},
      },
    });
  });

  it('refuses U+FFFD (undecodable bytes on the wire), C1 controls and lone surrogates in an address', () => {
    expect(parseCommand('MAIL FROM:<a\uFFFDb@example.org>')).toEqual(badSender);
    expect(parseCommand('MAIL FROM:<a\u0085b@example.org>')).toEqual(badSender);
    expect(parseCommand('MAIL FROM:<a\uD800b@example.org>')).toEqual(badSender);
    expect(parseCommand('MAIL FROM:<a@exa\uDFFFmple.org>')).toEqual(badSender);
  });

  it('accepts a local part of 64 octets and refuses 65 (§4.5.3.1.1)', () => {
    const local64 = 'a'.repeat(64);
    expect(parseCommand(`RCPT TO:<${local64}@example.org>`).ok).toBe(true);
    expect(parseCommand(`RCPT TO:<${local64}b@example.org>`)).toEqual({
      ok: false,
      reply: {
        code: 501,
        enhanced: '5.1.3',
        lines: ['Bad recipient address: local part longer than 64 octets'],
      },
    });
    // Octets, not characters: 22 three-octet characters are 66 octets.
    expect(parseCommand(`MAIL FROM:<${'用'.repeat(22)}@example.org>`)).toEqual({
      ok: false,
      reply: {
        code: 501,
        enhanced: '5.1.7',
        lines: ['Bad sender address: local part longer than 64 octets'],
      },
    });
  });

  it('takes an SRS local part over 64 octets (a forwarded sender, or a bounce to one), within the path limit', () => {
    const srs = `SRS0=VNKF=JW=${'d'.repeat(40)}.example=${'a'.repeat(40)}`;
    expect(parseCommand(`RCPT TO:<${srs}@forward.example>`)).toMatchObject({
      ok: true,
      command: { to: { mailbox: { localPart: srs, domain: 'forward.example' } } },
    });
    expect(parseCommand(`MAIL FROM:<${srs.replace('SRS0=', 'srs1+')}@forward.example>`).ok).toBe(true);
    // Not SRS: the tag needs its separator.
    expect(parseCommand(`RCPT TO:<${srs.replace('SRS0=', 'SRS0.')}@forward.example>`).ok).toBe(false);
    const tooLong = `SRS0=VNKF=JW=${'d'.repeat(60)}.${'e'.repeat(60)}.example=${'a'.repeat(100)}`;
    expect(parseCommand(`RCPT TO:<${tooLong}@forward.example>`)).toEqual({
      ok: false,
      reply: { code: 501, enhanced: '5.1.3', lines: ['Bad recipient address: path longer than 256 octets'] },
    });
  });

  it('refuses a domain over 255 octets and a path over 256 (§4.5.3.1.2, §4.5.3.1.3)', () => {
    const label = 'a'.repeat(63);
    const domain256 = `${label}.${label}.${label}.${'b'.repeat(60)}.org`;
    expect(domain256.length).toBe(256);
    expect(parseCommand(`MAIL FROM:<x@${domain256}>`)).toEqual({
      ok: false,
      reply: { code: 501, enhanced: '5.1.7', lines: ['Bad sender address: domain longer than 255 octets'] },
    });
    // "<" + 1 + "@" + 252 + ">" = 256 octets: the longest path.
    const domain252 = `${label}.${label}.${label}.${'b'.repeat(56)}.org`;
    expect(domain252.length).toBe(252);
    expect(parseCommand(`MAIL FROM:<x@${domain252}>`).ok).toBe(true);
    expect(parseCommand(`MAIL FROM:<xy@${domain252}>`)).toEqual({
      ok: false,
      reply: { code: 501, enhanced: '5.1.7', lines: ['Bad sender address: path longer than 256 octets'] },
    });
  });
});

describe('path readers', () => {
  it('report where the path ends so the parameters can follow', () => {
    expect(readReversePath('<> SIZE=1')).toEqual({ ok: true, path: { kind: 'null' }, end: 2 });
    expect(readForwardPath('<Postmaster> NOTIFY=NEVER')).toEqual({
      ok: true,
      path: { kind: 'postmaster' },
      end: 12,
    });
    expect(readForwardPath('<"a>"@b.example> X')).toMatchObject({ ok: true, end: 16 });
  });
});

describe('address literals (RFC 5321 §4.1.3)', () => {
  it.each([
    ['[127.0.0.1]', '[127.0.0.1]'],
    ['[IPv6:::1]', '[IPv6:::1]'],
    ['[IPv6:::]', '[IPv6:::]'],
    ['[IPv6:2001:db8:0:0:0:0:0:1]', '[IPv6:2001:db8:0:0:0:0:0:1]'],
    ['[IPV6:FE80::1]', '[IPv6:fe80::1]'],
    ['[IPv6:::ffff:192.0.2.1]', '[IPv6:::ffff:192.0.2.1]'],
    ['[IPv6:::192.0.2.1]', '[IPv6:::192.0.2.1]'],
    ['[IPv6:1:2:3:4:5:6:192.0.2.1]', '[IPv6:1:2:3:4:5:6:192.0.2.1]'],
    ['[IPv6:1:2:3:4:5::6]', '[IPv6:1:2:3:4:5::6]'],
  ])('accepts %s', (literal, normalized) => {
    expect(normalizeAddressLiteral(literal)).toBe(normalized);
  });

  it.each([
    '[]',
    '[1.2.3]',
    '[1.2.3.4.5]',
    '[01234.1.1.1]',
    '[IPv6:]',
    '[IPv6:1:2:3:4:5:6:7]',
    '[IPv6:1:2:3:4:5:6:7::8]',
    // RFC 5321 lets "::" stand for two groups or more, never one.
    '[IPv6:1:2:3:4:5:6::7]',
    '[IPv6:12345::1]',
    '[IPv6:1:2:3:4:5:6:7:192.0.2.1]',
    '[IPv6:1:2:3:4:5::192.0.2.1]',
    '[IPv6:::1%eth0]',
    '[ipv4:1.2.3.4]',
    '127.0.0.1',
  ])('refuses %s', (literal) => {
    expect(normalizeAddressLiteral(literal)).toBeUndefined();
  });
});
