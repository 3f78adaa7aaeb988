import { describe, expect, it } from 'vitest';
import {
  decodeModifiedUtf7,
  maildirFlags,
  maildirFolderName,
  parseKeywords,
  parseSubscriptions,
  parseUidList,
  withCrlf,
} from './maildir-source.js';

describe('Maildir++ names, flags and Dovecot files', () => {
  it('stores bare LF line ends as CRLF, and CRLF ones as they are', () => {
    expect(withCrlf(Buffer.from('Subject: a\n\nbody\n')).toString()).toBe('Subject: a\r\n\r\nbody\r\n');
    expect(withCrlf(Buffer.from('Subject: a\r\n\r\nmixed\nend\r\n')).toString()).toBe(
      'Subject: a\r\n\r\nmixed\r\nend\r\n',
    );
    const crlf = Buffer.from('Subject: a\r\n\r\nbody\r\n');
    expect(withCrlf(crlf)).toBe(crlf);
    // 8-bit bytes pass through untouched.
    expect(withCrlf(Buffer.from([0xe3, 0x81, 0x82, 0x0a]))).toEqual(
      Buffer.from([0xe3, 0x81, 0x82, 0x0d, 0x0a]),
    );
  });

  it('turns directory names into Tegami names, decoding modified UTF-7', () => {
    expect(maildirFolderName('Lists.dev')).toBe('Lists/dev');
    expect(maildirFolderName('R&AOQ-ume.&ZeVnLIqe-')).toBe('Räume/日本語');
    expect(decodeModifiedUtf7('Tom &- Jerry')).toBe('Tom & Jerry');
    // Not valid modified UTF-7: taken as it is.
    expect(decodeModifiedUtf7('a&A-b')).toBe('a&A-b');
  });

  it('maps info letters to flags and keyword letters through dovecot-keywords', () => {
    const keywords = parseKeywords('0 $Label1\n2 NonJunk\n');
    expect(maildirFlags('1.M1.host,S=10:2,DFRSTac', keywords)).toEqual([
      '\\Draft',
      '\\Flagged',
      '\\Answered',
      '\\Seen',
      '\\Deleted',
      '$Label1',
      'NonJunk',
    ]);
    expect(maildirFlags('1.M1.host', keywords)).toEqual([]);
  });

  it('reads dovecot-uidlist versions 3 and 1', () => {
    const v3 = parseUidList('3 V1796406463 N7 G097b\n1 :1.M1.vm,S=232,W=241\n6 W300 :2.M2.vm\n');
    expect(v3).toEqual({
      uidValidity: 1796406463,
      uidNext: 7,
      uids: new Map([
        ['1.M1.vm,S=232,W=241', 1],
        ['2.M2.vm', 6],
      ]),
    });
    expect(parseUidList('1 1234 3\n2 1.M1.vm:2,S\n')?.uids.get('1.M1.vm')).toBe(2);
    expect(parseUidList('')).toBeUndefined();
  });

  it('reads subscriptions as Dovecot 2.3 writes them (V\\t2, a blank line, tabs) and Maildir++ ones', () => {
    expect([...parseSubscriptions('V\t2\n\nINBOX\nR&AOQ-ume\nLists\tdev\n')]).toEqual([
      'INBOX',
      'Räume',
      'Lists/dev',
    ]);
    expect([...parseSubscriptions('inbox\nLists.dev\n')]).toEqual(['INBOX', 'Lists/dev']);
  });
});
