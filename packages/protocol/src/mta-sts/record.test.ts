import { describe, expect, it } from 'vitest';
import { parseMtaStsRecord, renderMtaStsRecord, selectMtaStsRecord } from './record.js';

describe('the _mta-sts TXT record (RFC 8461 §3.1)', () => {
  it('reads the example record', () => {
    expect(parseMtaStsRecord('v=STSv1; id=20160831085700Z;')).toEqual({
      kind: 'record',
      id: '20160831085700Z',
    });
  });

  it('takes no trailing separator, blanks around separators, and extension fields', () => {
    expect(parseMtaStsRecord('v=STSv1 ;\tid=abc123 ; ext_1=x/y')).toEqual({ kind: 'record', id: 'abc123' });
  });

  it.each([
    ['a record without id', 'v=STSv1;', 'record has no valid id'],
    [
      'an id over 32 characters',
      `v=STSv1; id=${'a'.repeat(33)};`,
      `record field "id=${'a'.repeat(33)}" does not parse`,
    ],
    ['an id with punctuation', 'v=STSv1; id=2016-08-31;', 'record field "id=2016-08-31" does not parse'],
    ['two ids', 'v=STSv1; id=a; id=b;', 'record has two ids'],
    ['the version in lower case', 'v=stsv1; id=a;', 'record does not start with v=STSv1'],
    ['the version not first', 'id=a; v=STSv1;', 'record does not start with v=STSv1'],
  ])('refuses %s', (_what, text, reason) => {
    expect(parseMtaStsRecord(text)).toEqual({ kind: 'none', reason });
  });

  it('joins a record split into character-strings, and ignores records that are not v=STSv1', () => {
    expect(selectMtaStsRecord([['v=spf1 -all'], ['v=STSv1; ', 'id=2019'], ['v=STSv10; id=x']])).toEqual({
      kind: 'record',
      id: '2019',
    });
  });

  it('finds no policy when there are two records, or none', () => {
    expect(selectMtaStsRecord([['v=STSv1; id=a;'], ['v=STSv1; id=b;']])).toEqual({
      kind: 'none',
      reason: '2 v=STSv1 records',
    });
    expect(selectMtaStsRecord([])).toEqual({ kind: 'none', reason: 'no v=STSv1 record' });
  });

  it('writes a record that reads back', () => {
    expect(parseMtaStsRecord(renderMtaStsRecord('0123abc'))).toEqual({ kind: 'record', id: '0123abc' });
  });
});
