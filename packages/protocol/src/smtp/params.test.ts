import { describe, expect, it } from 'vitest';
import { parseCommand } from './command.js';
import { decodeXtext, encodeXtext } from './params.js';

const alice = {
  kind: 'mailbox',
  mailbox: { localPart: 'alice', domain: 'example.org', text: 'alice@example.org', utf8: false },
} as const;
const bob = {
  kind: 'mailbox',
  mailbox: { localPart: 'bob', domain: 'example.net', text: 'bob@example.net', utf8: false },
} as const;

function mailParams(line: string) {
  const parsed = parseCommand(`MAIL FROM:<alice@example.org> ${line}`);
  return parsed.ok ? (parsed.command.verb === 'MAIL' ? parsed.command.params : parsed.command) : parsed.reply;
}

function rcptParams(line: string) {
  const parsed = parseCommand(`RCPT TO:<bob@example.net> ${line}`);
  return parsed.ok ? (parsed.command.verb === 'RCPT' ? parsed.command.params : parsed.command) : parsed.reply;
}

const syntaxError = (text: string) => ({ code: 501, enhanced: '5.5.4', lines: [text] });

describe('MAIL parameters', () => {
  it('reads SIZE and BODY (RFC 1870, RFC 6152)', () => {
    expect(parseCommand('MAIL FROM:<alice@example.org> SIZE=1000 BODY=8BITMIME')).toEqual({
      ok: true,
      command: { verb: 'MAIL', from: alice, params: { size: 1000, body: '8BITMIME', smtputf8: false } },
    });
  });

  it('reads every parameter together, keywords and values in any case', () => {
    expect(
      mailParams('size=0 Body=binarymime smtputf8 ret=hdrs envid=QQ314159 auth=alice+40example.org'),
    ).toEqual({
      size: 0,
      body: 'BINARYMIME',
      smtputf8: true,
      ret: 'HDRS',
      envid: 'QQ314159',
      auth: 'alice@example.org',
    });
    expect(mailParams('BODY=7BIT RET=FULL')).toEqual({ body: '7BIT', ret: 'FULL', smtputf8: false });
  });

  it('caps SIZE at Number.MAX_SAFE_INTEGER and refuses anything but 1 to 20 digits', () => {
    expect(mailParams('SIZE=99999999999999999999')).toEqual({
      size: Number.MAX_SAFE_INTEGER,
      smtputf8: false,
    });
    for (const bad of [
      'SIZE',
      'SIZE=',
      'SIZE=-1',
      'SIZE=+1',
      'SIZE=1.5',
      'SIZE=1e3',
      'SIZE=123456789012345678901',
    ]) {
      expect(mailParams(bad), bad).toEqual(syntaxError('SIZE must be a number of octets'));
    }
  });

  it('refuses an unknown BODY, RET or a value on SMTPUTF8', () => {
    expect(mailParams('BODY=8BIT')).toEqual(syntaxError('BODY must be 7BIT, 8BITMIME or BINARYMIME'));
    expect(mailParams('BODY')).toEqual(syntaxError('BODY must be 7BIT, 8BITMIME or BINARYMIME'));
    expect(mailParams('RET=ALL')).toEqual(syntaxError('RET must be FULL or HDRS'));
    expect(mailParams('SMTPUTF8=YES')).toEqual(syntaxError('SMTPUTF8 takes no value'));
  });

  it('decodes ENVID xtext (RFC 3461 §4.4)', () => {
    expect(mailParams('ENVID=QQ+2B314+3D159+20x')).toEqual({ envid: 'QQ+314=159 x', smtputf8: false });
    expect(mailParams(`ENVID=${'x'.repeat(100)}`)).toEqual({ envid: 'x'.repeat(100), smtputf8: false });
  });

  it('refuses a malformed, non-ASCII or over-long ENVID', () => {
    for (const bad of [
      'ENVID',
      'ENVID=',
      'ENVID=a+2',
      'ENVID=a+GG',
      'ENVID=a=b',
      'ENVID=a+0Ab',
      'ENVID=caf\u00e9',
      'ENVID=+C3+A9',
    ]) {
      expect(mailParams(bad), bad).toEqual(syntaxError('ENVID must be xtext'));
    }
    expect(mailParams(`ENVID=${'x'.repeat(101)}`)).toEqual(syntaxError('ENVID longer than 100 characters'));
  });

  it('reads AUTH=<> and an xtext AUTH mailbox (RFC 4954 §5)', () => {
    expect(mailParams('AUTH=<>')).toEqual({ auth: '<>', smtputf8: false });
    expect(mailParams('AUTH=e+3Dmc2@example.com')).toEqual({ auth: 'e=mc2@example.com', smtputf8: false });
    expect(mailParams('AUTH')).toEqual(syntaxError('AUTH must be xtext or <>'));
    expect(mailParams('AUTH=a+0D+0Ab')).toEqual(syntaxError('AUTH must be xtext or <>'));
  });

  it('answers 555 for a parameter Tegami does not know, RCPT ones included (RFC 5321 §4.1.1.11)', () => {
    expect(mailParams('X-FOO=1')).toEqual({
      code: 555,
      enhanced: '5.5.4',
      lines: ['Unsupported parameter X-FOO'],
    });
    expect(mailParams('notify=NEVER')).toEqual({
      code: 555,
      enhanced: '5.5.4',
      lines: ['Unsupported parameter NOTIFY'],
    });
    expect(mailParams('MT-PRIORITY=3')).toEqual({
      code: 555,
      enhanced: '5.5.4',
      lines: ['Unsupported parameter MT-PRIORITY'],
    });
  });

  it('reads REQUIRETLS, which takes no value, once (RFC 8689 §2)', () => {
    expect(mailParams('REQUIRETLS')).toEqual({ requireTls: true, smtputf8: false });
    expect(mailParams('body=8bitmime requiretls')).toEqual({
      body: '8BITMIME',
      requireTls: true,
      smtputf8: false,
    });
    expect(mailParams('REQUIRETLS=YES')).toEqual(syntaxError('REQUIRETLS takes no value'));
    expect(mailParams('REQUIRETLS=')).toEqual(syntaxError('REQUIRETLS takes no value'));
    expect(mailParams('REQUIRETLS RequireTLS')).toEqual(syntaxError('Duplicate parameter REQUIRETLS'));
    expect(parseCommand('RCPT TO:<bob@example.net> REQUIRETLS')).toEqual({
      ok: false,
      reply: { code: 555, enhanced: '5.5.4', lines: ['Unsupported parameter REQUIRETLS'] },
    });
  });

  it('refuses a parameter given twice, in any case', () => {
    expect(mailParams('SIZE=1 size=1')).toEqual(syntaxError('Duplicate parameter SIZE'));
    expect(mailParams('SMTPUTF8 SMTPUTF8')).toEqual(syntaxError('Duplicate parameter SMTPUTF8'));
  });

  it('refuses a malformed keyword, quoting only printable ASCII back', () => {
    expect(mailParams('=1')).toEqual(syntaxError('Bad parameter syntax: =1'));
    expect(mailParams('-X=1')).toEqual(syntaxError('Bad parameter syntax: -X=1'));
    expect(mailParams('SI\u0000ZE=1')).toEqual(syntaxError('Bad parameter syntax: SI?ZE=1'));
    expect(mailParams('S\rIZE=1')).toEqual(syntaxError('Bad parameter syntax: S?IZE=1'));
    expect(mailParams(`${'\u00e9'.repeat(50)}`)).toEqual(
      syntaxError(`Bad parameter syntax: ${'?'.repeat(40)}...`),
    );
  });

  it('tolerates runs of spaces between parameters', () => {
    expect(mailParams('SIZE=5   BODY=7BIT')).toEqual({ size: 5, body: '7BIT', smtputf8: false });
  });
});

describe('RCPT parameters (RFC 3461)', () => {
  it('reads NOTIFY lists, keeping their order without repeats', () => {
    expect(parseCommand('RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE')).toEqual({
      ok: true,
      command: { verb: 'RCPT', to: bob, params: { notify: ['SUCCESS', 'FAILURE'] } },
    });
    expect(rcptParams('notify=delay,success,delay')).toEqual({ notify: ['DELAY', 'SUCCESS'] });
    expect(rcptParams('NOTIFY=never')).toEqual({ notify: 'NEVER' });
  });

  it('refuses NEVER combined with anything, empty items and unknown conditions', () => {
    const error = syntaxError('NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY');
    for (const bad of [
      'NOTIFY',
      'NOTIFY=',
      'NOTIFY=NEVER,SUCCESS',
      'NOTIFY=SUCCESS,NEVER',
      'NOTIFY=SUCCESS,',
      'NOTIFY=OFTEN',
    ]) {
      expect(rcptParams(bad), bad).toEqual(error);
    }
  });

  it('reads ORCPT=rfc822;xtext and decodes it (§4.2)', () => {
    expect(
      parseCommand('RCPT TO:<bob@example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;Bob+2Bsales@Example.NET'),
    ).toEqual({
      ok: true,
      command: {
        verb: 'RCPT',
        to: bob,
        params: {
          notify: ['FAILURE', 'DELAY'],
          orcpt: { addressType: 'rfc822', address: 'Bob+sales@Example.NET' },
        },
      },
    });
    expect(rcptParams('ORCPT=RFC822;"a+20b"@example.net')).toEqual({
      orcpt: { addressType: 'rfc822', address: '"a b"@example.net' },
    });
    expect(rcptParams('ORCPT=x400;+2FC+3DUS+2FA+3Dx')).toEqual({
      orcpt: { addressType: 'x400', address: '/C=US/A=x' },
    });
  });

  it('decodes the RFC 6533 \\x{HEX} escapes and raw UTF-8 of a utf-8 ORCPT', () => {
    expect(rcptParams('ORCPT=utf-8;\\x{7528}\\x{6237}@\\x{4F8B}\\x{5B50}.example')).toEqual({
      orcpt: { addressType: 'utf-8', address: '用户@例子.example' },
    });
    expect(rcptParams('ORCPT=UTF-8;j\\x{F6}rg+2Btag@b\\x{FC}cher.example')).toEqual({
      orcpt: { addressType: 'utf-8', address: 'jörg+tag@bücher.example' },
    });
    expect(rcptParams('ORCPT=utf-8;δοκιμή@example.org')).toEqual({
      orcpt: { addressType: 'utf-8', address: 'δοκιμή@example.org' },
    });
    expect(rcptParams('ORCPT=utf-8;\\x{1F600}@example.org')).toEqual({
      orcpt: { addressType: 'utf-8', address: '\u{1F600}@example.org' },
    });
  });

  it('refuses a malformed ORCPT', () => {
    const error = syntaxError('ORCPT must be addr-type;xtext');
    for (const bad of [
      'ORCPT',
      'ORCPT=bob@example.net',
      'ORCPT=;bob@example.net',
      'ORCPT=rfc822;',
      'ORCPT=rfc 822;bob',
      'ORCPT=rfc822;b+2',
      'ORCPT=rfc822;b=c',
      'ORCPT=rfc822;j\u00f6rg@example.org',
      'ORCPT=rfc822;a+00b',
      'ORCPT=utf-8;a\\x{D800}b',
      'ORCPT=utf-8;a\\x{110000}b',
      'ORCPT=utf-8;a\\x{0}b',
      'ORCPT=utf-8;a\\x{0A}b',
      'ORCPT=utf-8;a\\b',
      'ORCPT=utf-8;a\\x{41b',
      'ORCPT=utf-8;a+C3b',
    ]) {
      expect(rcptParams(bad), bad).toEqual(error);
    }
  });

  it('answers 555 for MAIL parameters on RCPT and refuses duplicates', () => {
    expect(rcptParams('SIZE=1')).toEqual({
      code: 555,
      enhanced: '5.5.4',
      lines: ['Unsupported parameter SIZE'],
    });
    expect(rcptParams('NOTIFY=NEVER NOTIFY=NEVER')).toEqual(syntaxError('Duplicate parameter NOTIFY'));
    expect(rcptParams('ORCPT=rfc822;a@b ORCPT=rfc822;a@b')).toEqual(syntaxError('Duplicate parameter ORCPT'));
  });
});

describe('xtext (RFC 3461 §4)', () => {
  it('decodes +XX escapes in either case and refuses the rest', () => {
    expect(decodeXtext('a+2Bb+3dc')).toBe('a+b=c');
    expect(decodeXtext('+C3+A9')).toBe('é');
    expect(decodeXtext('')).toBe('');
    expect(decodeXtext('+C3')).toBeUndefined();
    expect(decodeXtext('a b')).toBeUndefined();
    expect(decodeXtext('a=b')).toBeUndefined();
    expect(decodeXtext('a+')).toBeUndefined();
  });

  it('encodes +, =, space, controls and non-ASCII', () => {
    expect(encodeXtext('a+b=c d\r\n')).toBe('a+2Bb+3Dc+20d+0D+0A');
    expect(encodeXtext('é')).toBe('+C3+A9');
    expect(decodeXtext(encodeXtext('<joe+x@example.org>'))).toBe('<joe+x@example.org>');
  });
});
