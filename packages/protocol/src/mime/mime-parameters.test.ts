import { describe, expect, it } from 'vitest';
import {
  decodeParams,
  parseContentDisposition,
  parseContentLanguage,
  parseContentType,
} from './mime-parameters.js';

describe('MIME parameters', () => {
  it('parses type, subtype and quoted parameters with comments', () => {
    expect(parseContentType(' text/plain (a comment); charset = "utf-8" ; name="a \\"b\\".txt"')).toEqual({
      type: 'text',
      subtype: 'plain',
      params: [
        { name: 'charset', value: 'utf-8' },
        { name: 'name', value: 'a "b".txt' },
      ],
    });
  });

  it('rejects a Content-Type without a subtype', () => {
    expect(parseContentType('text')).toBeNull();
    expect(parseContentType('')).toBeNull();
  });

  it('merges RFC 2231 continuations the way Dovecot does and decodes them across sections', () => {
    const disposition = parseContentDisposition(
      "attachment; filename*1*=%A6%8B.txt; filename*0*=UTF-8''%E8; title*0=100%; title*1*=%E2%82%AC",
    )!;
    expect(disposition.params).toEqual([
      { name: 'filename*', value: "UTF-8''%E8%A6%8B.txt" },
      { name: 'title*', value: "''100%25%E2%82%AC" },
    ]);
    expect(decodeParams(disposition.params)).toEqual({ filename: '見.txt', title: '100%€' });
  });

  it('keeps sections with a gap unmerged', () => {
    expect(parseContentType('text/plain; a*0=x; a*2=z')!.params).toEqual([
      { name: 'a*0', value: 'x' },
      { name: 'a*2', value: 'z' },
    ]);
  });

  it('keeps a section index too large for an unsigned int as written (issue 21)', () => {
    expect(parseContentType('text/plain; a*0=x; a*2222222222222222222222=y')!.params).toEqual([
      { name: 'a*2222222222222222222222', value: 'y' },
      { name: 'a', value: 'x' },
    ]);
  });

  it('decodes encoded words misused inside parameter values, and tolerates junk', () => {
    const type = parseContentType('application/pdf; junk; name==?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=.pdf; x')!;
    expect(decodeParams(type.params)).toEqual({ name: 'テスト.pdf' });
  });

  it('reads Content-Language lists', () => {
    expect(parseContentLanguage('en, de-CH (Swiss)')).toEqual(['en', 'de-CH']);
  });
});
